"""The operators' invoice list and the CSV for the finance system (issue #4, point 7)."""

import csv
import io
from datetime import UTC, datetime

import pytest

from portal.billing.commands import invoices as invoices_cli
from portal.billing.money import unit_price, vat_ore
from portal.billing.packages import activate_sms
from portal.billing.prices import set_price
from portal.database import write_transaction
from portal.extensions import db
from portal.models import AuditEvent, Invoice, InvoiceStatus, Role, SmsPackage, SmsStatus
from tests.conftest import fresh

BOM = b"\xef\xbb\xbf"
HEADER = [
    "Fakturanummer",
    "Organisation",
    "Organisationsnummer",
    "Peppol-ID/GLN",
    "Fakturareferens",
    "Fakturaadress",
    "Paketnummer",
    "Antal SMS",
    "À-pris per SMS (kr)",
    "Belopp exkl. moms (kr)",
    "Moms 25 % (kr)",
    "Belopp inkl. moms (kr)",
    "Fakturadatum",
]


def add_invoice(organisation, amount_ore, created_at, sequence=1, size=10_000):
    """Package #sequence of `organisation` and its invoice, created at `created_at`."""
    package = SmsPackage(
        organisation_id=organisation.id,
        sequence=sequence,
        size=size,
        used=0,
        price_ore=amount_ore,
        opened_at=created_at,
    )
    year = created_at.year
    count = db.session.scalar(db.select(db.func.count(Invoice.id))) + 1
    package.invoice = Invoice(
        number=f"F-{year}-{count:06d}",
        organisation_id=organisation.id,
        amount_ore=amount_ore,
        created_at=created_at,
    )
    db.session.add(package)
    db.session.commit()
    return package.invoice


@pytest.fixture
def kommun(make):
    organisation = make.org(name="Exempelkommun", org_number="212000-9994")
    organisation.invoice_address = "Exempelkommun\nBUF\r\nBox 100\n123 45 Exempelstad\n"
    organisation.invoice_reference = "BUF 4410 SMS"
    organisation.peppol_id = "0007:2120009994"
    db.session.commit()
    return organisation


@pytest.fixture
def hostile(make):
    """An organisation whose details a spreadsheet would run as formulas."""
    organisation = make.org(name='=HYPERLINK("http://evil.example","Klicka")')
    organisation.invoice_reference = "+46 ref"
    organisation.invoice_address = "-Box 1\n@Stad"
    organisation.peppol_id = None
    db.session.commit()
    return organisation


@pytest.fixture
def invoices(kommun, hostile):
    return [
        add_invoice(kommun, 450_000, datetime(2026, 2, 27, 23, 30, tzinfo=UTC)),  # 28 Feb, Sthlm
        add_invoice(hostile, 123_457, datetime(2026, 3, 1, 10, 0, tzinfo=UTC)),
        add_invoice(kommun, 499_900, datetime(2026, 3, 15, 8, 0, tzinfo=UTC), sequence=2),
    ]


@pytest.fixture
def operator(make, auth):
    person = make.person(Role.OPERATOR)
    auth.login(person.email)
    db.session.rollback()  # end the test's read snapshot: the login wrote to the database
    return person


def parse(data):
    """The CSV as Excel in Sweden reads it: BOM, `;`, CRLF; returns the rows by column name."""
    assert data.startswith(BOM)
    text = data[len(BOM) :].decode("utf-8")
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")
    header, *rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert header == HEADER
    return [dict(zip(header, row, strict=True)) for row in rows]


def ore(cell):
    """'1125,00' → 112500: decimal comma, two decimals, no other separator."""
    kronor, comma, hundredths = cell.partition(",")
    assert comma and len(hundredths) == 2 and kronor.isdigit(), cell
    return int(kronor) * 100 + int(hundredths)


def test_vat_is_25_percent_rounded_half_up_to_whole_ore():
    assert vat_ore(450_000) == 112_500
    assert vat_ore(123_457) == 30_864  # 30 864,25 öre
    assert vat_ore(2) == 1  # 0,5 öre rounds up
    assert vat_ore(1) == 0


def test_the_unit_price_is_to_the_ore_or_finer_when_needed():
    assert unit_price(450_000, 10_000) == "0,45"
    assert unit_price(499_900, 10_000) == "0,4999"
    assert unit_price(500_000, 10_000) == "0,50"


def test_the_page_exports_every_invoice_as_swedish_excel_csv(client, operator, invoices):
    response = client.get("/admin/invoices.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    rows = parse(response.data)
    assert [row["Fakturanummer"] for row in rows] == [i.number for i in reversed(invoices)]

    kommun_row = rows[2]
    assert kommun_row == {
        "Fakturanummer": invoices[0].number,
        "Organisation": "Exempelkommun",
        "Organisationsnummer": "212000-9994",
        "Peppol-ID/GLN": "0007:2120009994",
        "Fakturareferens": "BUF 4410 SMS",
        "Fakturaadress": "Exempelkommun, BUF, Box 100, 123 45 Exempelstad",
        "Paketnummer": "1",
        "Antal SMS": "10000",
        "À-pris per SMS (kr)": "0,45",
        "Belopp exkl. moms (kr)": "4500,00",
        "Moms 25 % (kr)": "1125,00",
        "Belopp inkl. moms (kr)": "5625,00",
        "Fakturadatum": "2026-02-28",  # 00:30 in Stockholm
    }
    assert rows[0]["À-pris per SMS (kr)"] == "0,4999"
    assert rows[0]["Paketnummer"] == "2"


def test_vat_arithmetic_is_exact_in_ore(client, operator, invoices):
    rows = parse(client.get("/admin/invoices.csv").data)
    for row, invoice in zip(rows, reversed(invoices), strict=True):
        amount, vat, total = (
            ore(row[name])
            for name in ("Belopp exkl. moms (kr)", "Moms 25 % (kr)", "Belopp inkl. moms (kr)")
        )
        assert amount == invoice.amount_ore
        assert vat == (amount * 25 + 50) // 100
        assert total == amount + vat
    assert rows[1]["Moms 25 % (kr)"] == "308,64"
    assert rows[1]["Belopp inkl. moms (kr)"] == "1543,21"


def test_values_that_look_like_formulas_are_defused(client, operator, invoices):
    (row,) = [
        row
        for row in parse(client.get("/admin/invoices.csv").data)
        if "HYPERLINK" in row["Organisation"]
    ]
    assert row["Organisation"] == '\'=HYPERLINK("http://evil.example","Klicka")'
    assert row["Fakturareferens"] == "'+46 ref"
    assert row["Fakturaadress"] == "'-Box 1, @Stad"
    assert row["Peppol-ID/GLN"] == ""


def test_the_page_export_filters_by_date_and_marks_nothing(client, operator, invoices):
    rows = parse(client.get("/admin/invoices.csv?since=2026-03-01").data)
    assert [row["Fakturanummer"] for row in rows] == [invoices[2].number, invoices[1].number]
    assert all(fresh(invoice).status == InvoiceStatus.OPEN for invoice in invoices)


def test_an_empty_export_is_just_the_header(client, operator):
    assert parse(client.get("/admin/invoices.csv").data) == []


def test_the_list_is_newest_first_and_filters_by_date(client, operator, invoices):
    html = client.get("/admin/invoices").get_data(as_text=True)
    positions = [html.index(invoice.number) for invoice in reversed(invoices)]
    assert positions == sorted(positions)
    assert "5\u00a0625,00\u00a0kr" in html
    assert 'href="/admin/invoices.csv"' in html

    html = client.get("/admin/invoices?since=2026-03-01").get_data(as_text=True)
    assert invoices[0].number not in html
    assert invoices[1].number in html
    assert 'href="/admin/invoices.csv?since=2026-03-01"' in html


@pytest.mark.parametrize(
    "since", ["31/12 2025", "2026-02-30", "0001-01-01", "x" * 200, "٢٠٢٦-01-01"]
)
def test_a_bad_date_is_422_with_a_message(client, operator, invoices, since):
    response = client.get("/admin/invoices", query_string={"since": since})
    assert response.status_code == 422
    assert "ÅÅÅÅ-MM-DD" in response.get_data(as_text=True)
    download = client.get("/admin/invoices.csv", query_string={"since": since})
    assert download.status_code == 303


def test_the_list_pages(client, operator, kommun):
    for n in range(30):
        add_invoice(kommun, 450_000, datetime(2026, 1, 1, 12, n, tzinfo=UTC), sequence=n + 1)
    first = client.get("/admin/invoices").get_data(as_text=True)
    assert "Sida 1 av 2" in first and "F-2026-000030" in first and "F-2026-000001" not in first
    second = client.get("/admin/invoices?page=2").get_data(as_text=True)
    assert "F-2026-000001" in second


def test_the_cli_writes_the_csv_to_stdout_since_a_date(app, runner, invoices):
    app.cli.add_command(invoices_cli)
    result = runner.invoke(args=["invoices", "export", "--since", "2026-03-01"])
    assert result.exit_code == 0, result.output
    rows = parse(result.stdout_bytes)
    assert [row["Fakturanummer"] for row in rows] == [invoices[2].number, invoices[1].number]
    assert all(fresh(invoice).status == InvoiceStatus.OPEN for invoice in invoices)


def test_the_cli_writes_a_file_and_marks_what_it_exported(app, runner, invoices, tmp_path):
    app.cli.add_command(invoices_cli)
    target = tmp_path / "fakturor.csv"
    result = runner.invoke(
        args=[
            "invoices",
            "export",
            "--output",
            str(target),
            "--since",
            "2026-03-01",
            "--mark-exported",
        ]
    )
    assert result.exit_code == 0, result.output
    assert len(parse(target.read_bytes())) == 2
    assert "Markerade 2 fakturor" in result.stderr
    statuses = [fresh(invoice).status for invoice in invoices]
    assert statuses == [InvoiceStatus.OPEN, InvoiceStatus.EXPORTED, InvoiceStatus.EXPORTED]
    assert fresh(invoices[1]).exported_at is not None
    event = db.session.scalars(db.select(AuditEvent)).one()
    assert (event.action, event.details["count"]) == ("invoices.exported", 2)

    again = runner.invoke(args=["invoices", "export", "--unexported", "--mark-exported"])
    assert [row["Fakturanummer"] for row in parse(again.stdout_bytes)] == [invoices[0].number]
    assert fresh(invoices[0]).status == InvoiceStatus.EXPORTED


def test_the_cli_refuses_a_bad_date(app, runner, invoices):
    app.cli.add_command(invoices_cli)
    result = runner.invoke(args=["invoices", "export", "--since", "igår"])
    assert result.exit_code == 2
    assert "ÅÅÅÅ-MM-DD" in result.output


def test_invoices_from_activation_carry_the_price_they_were_made_with(make, operator):
    first, second = make.org(sms=SmsStatus.INACTIVE), make.org(sms=SmsStatus.INACTIVE)
    with write_transaction():
        set_price(400_000, operator)
        activate_sms(db.session.merge(first), by=operator)
    with write_transaction():
        set_price(450_000, operator)
        activate_sms(db.session.merge(second), by=operator)
    amounts = {
        invoice.organisation_id: invoice.amount_ore
        for invoice in db.session.scalars(db.select(Invoice))
    }
    assert amounts == {first.id: 400_000, second.id: 450_000}
