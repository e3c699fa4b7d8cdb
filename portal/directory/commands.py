"""`flask --app wsgi directory import FILE --org ORGNR [--dry-run] [--partial]`."""

import click

from portal.cli import organisation_option
from portal.directory.importing import import_directory


@click.group("directory")
def directory():
    """The school directory: import from CSV or SS 12000 JSON."""


@directory.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--org", "org_number", required=True, help="Organisationsnummer, NNNNNN-NNNN.")
@click.option("--dry-run", is_flag=True, help="Visa vad som skulle ändras, utan att ändra något.")
@click.option(
    "--partial",
    is_flag=True,
    help="Filen är inte hela katalogen: personer som saknas i den inaktiveras inte.",
)
def import_command(file, org_number, dry_run, partial):
    """Import FILE (CSV or SS 12000 JSON) into the organisation's directory."""
    organisation = organisation_option(org_number)
    report = import_directory(file, organisation, dry_run=dry_run, full=not partial)
    if report.file_error:
        raise click.ClickException(f"Filen kunde inte läsas: {report.file_error}")
    for line in summary(report):
        click.echo(line)
    if report.errors:
        raise SystemExit(1)


PLANNED = ("skapas", "uppdateras", "inaktiveras")
DONE = ("skapade", "uppdaterade", "inaktiverade")


def summary(report):
    """The report as lines of text; issues name rows, never people."""
    if report.dry_run:
        lines, words = ["Provkörning – inget har ändrats."], PLANNED
    else:
        lines, words = ["Katalogen är importerad."], DONE
    lines.append(f"Lästa personer: {report.rows} (varav skyddad identitet: {report.protected})")
    for label, counts in (
        ("Personer", report.people),
        ("Skolor", report.schools),
        ("Grupper", report.groups),
    ):
        numbers = [counts.created, counts.updated] + (
            [counts.deactivated] if label == "Personer" else []
        )
        parts = [f"{number} {word}" for number, word in zip(numbers, words, strict=False)]
        lines.append(f"{label}: {', '.join(parts)}, {counts.unchanged} oförändrade")
    for title, issues in (
        ("Fel – raderna importeras inte", report.errors),
        ("Varningar", report.warnings),
    ):
        if issues:
            lines.append(f"{title} ({len(issues)}):")
            lines += [f"  {_where(report, issue.line)}{issue.message}" for issue in issues]
    return lines


def _where(report, line):
    return f"{report.line_label} {line}: " if line is not None else ""
