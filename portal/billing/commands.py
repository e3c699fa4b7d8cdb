"""`flask invoices export [--since DATE] [--output FILE] [--unexported] [--mark-exported]`.

Writes the finance system's CSV (portal/billing/invoices.py) to stdout or a file.
With --mark-exported the written invoices are marked exported, audited, once the
file is written; the web page's download never marks anything (a GET changes nothing).
"""

import click

from portal.billing.forms import parse_day
from portal.billing.invoices import csv_text, invoices_query, mark_exported
from portal.database import write_transaction
from portal.extensions import db
from portal.models.audit import record


class Day(click.ParamType):
    name = "ÅÅÅÅ-MM-DD"

    def convert(self, value, param, ctx):
        try:
            return parse_day(value)
        except ValueError:
            self.fail(f"{value!r} är inget datum som ÅÅÅÅ-MM-DD.", param, ctx)


@click.group("invoices")
def invoices():
    """Package invoices."""


@invoices.command("export")
@click.option("--since", type=Day(), help="Bara fakturor skapade från och med dagen (svensk tid).")
@click.option(
    "--output", type=click.File("wb"), default="-", help="Fil att skriva till (standard: stdout)."
)
@click.option("--unexported", is_flag=True, help="Bara fakturor som inte exporterats förut.")
@click.option(
    "--mark-exported",
    "mark",
    is_flag=True,
    help="Markera de exporterade fakturorna som exporterade.",
)
def export(since, output, unexported, mark):
    """Export package invoices as CSV for the finance system (Excel in Sweden)."""
    rows = db.session.scalars(invoices_query(since, unexported=unexported)).all()
    output.write(csv_text(rows).encode("utf-8"))
    output.flush()
    if mark:
        with write_transaction():
            marked = mark_exported([invoice.id for invoice in rows])
            if marked:
                record("invoices.exported", count=marked, since=since and since.isoformat())
        noun = "faktura" if marked == 1 else "fakturor"
        click.echo(f"Markerade {marked} {noun} som exporterade.", err=True)
