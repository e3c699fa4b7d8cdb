"""Flask commands: `flask --app wsgi init-db | seed-demo | create-operator | create-user |
reconcile`."""

import secrets

import click
from flask_migrate import upgrade
from sqlalchemy.exc import IntegrityError

from portal.auth.passwords import set_password
from portal.extensions import db
from portal.identifiers import InvalidOrgNumber, normalise_org_number
from portal.models import Organisation, Person, Role

ORG_ROLES = [role.value for role in Role if role != Role.OPERATOR]


def init_app(app):
    from portal.billing.commands import invoices
    from portal.directory.commands import directory
    from portal.orders.commands import orders

    commands = (
        init_db,
        seed_demo,
        create_operator,
        create_user,
        reconcile,
        directory,
        invoices,
        orders,
    )
    for command in commands:
        app.cli.add_command(command)


@click.command("reconcile")
def reconcile():
    """Re-enqueue sending that lost its jobs (a worker killed, Redis flushed)."""
    from jobs.maintenance import reconcile as reconcile_sending

    summary = reconcile_sending()
    click.echo(
        f"{summary['dispatched']} utskick skickade till fördelning, "
        f"{summary['batches']} omgångar köade igen, {summary['finished']} utskick klara."
    )


@click.command("init-db")
def init_db():
    """Create or upgrade the database schema (Alembic migrations)."""
    upgrade()
    click.echo("Databasen är uppdaterad.")


@click.command("seed-demo")
def seed_demo():
    """Fill an empty database with demo organisations, people and orders."""
    from portal.demo import DemoExists, seed

    try:
        accounts = seed()
    except DemoExists as exists:
        raise click.ClickException(str(exists)) from None
    click.echo("Demokonton (e-post / lösenord):")
    for account in accounts:
        click.echo(f"  {account.label:<28} {account.email:<40} {account.password}")


@click.command("create-operator")
@click.argument("email")
@click.option("--password", help="Lösenord; utelämnas det skapas ett slumpat som skrivs ut.")
def create_operator(email, password):
    """Create a platform operator account."""
    _create_person(email, Role.OPERATOR, None, password)


@click.command("create-user")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ORG_ROLES))
@click.option("--org", "org_number", required=True, help="Organisationsnummer, NNNNNN-NNNN.")
@click.option("--password", help="Lösenord; utelämnas det skapas ett slumpat som skrivs ut.")
@click.option("--given-name", default=None)
@click.option("--family-name", default="")
def create_user(email, role, org_number, password, given_name, family_name):
    """Create a person with a login in an existing organisation."""
    organisation = organisation_option(org_number)
    _create_person(email, Role(role), organisation, password, given_name, family_name)


def organisation_option(org_number):
    """The organisation an `--org ORGNR` option names, or a click error saying what is wrong."""
    try:
        number = normalise_org_number(org_number)
    except InvalidOrgNumber as invalid:
        raise click.BadParameter(str(invalid), param_hint="--org") from None
    organisation = db.session.execute(
        db.select(Organisation).where(Organisation.org_number == number)
    ).scalar_one_or_none()
    if organisation is None:
        raise click.ClickException(f"Det finns ingen organisation med nummer {number}.")
    return organisation


def _create_person(email, role, organisation, password, given_name=None, family_name=""):
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise click.BadParameter("Ange en giltig e-postadress.", param_hint="EMAIL")
    if password is not None and len(password) < 10:
        raise click.BadParameter("Lösenordet ska ha minst 10 tecken.", param_hint="--password")
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    person = Person(
        email=email,
        role=role,
        organisation=organisation,
        given_name=given_name or email.split("@")[0],
        family_name=family_name,
    )
    set_password(person, password)
    db.session.add(person)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise click.ClickException(
            f"Det finns redan ett konto med e-postadressen {email}."
        ) from None
    click.echo(f"Skapade {role.value} {email}.")
    if generated:
        click.echo(f"Lösenord: {password}")
