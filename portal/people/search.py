"""Finding an organisation's people by part of a name or e-mail address, as admins type it.

A search never matches people with protected identity: a hit would tell that someone
by that name is there.
"""

from sqlalchemy import or_

from portal.models import Person


def matching(statement, query):
    """`statement` (a select of Person) narrowed to people whose name or address holds `query`."""
    if not query:
        return statement
    full_name = Person.given_name + " " + Person.family_name
    return statement.where(
        Person.protected_identity.is_(False),
        or_(
            *(
                column.ilike(f"%{_escape_like(variant)}%", escape="\\")
                for variant in _case_variants(query)
                for column in (full_name, Person.email)
            )
        ),
    )


def in_name_order(statement):
    """Protected identities last (they show no name), then by family and given name."""
    return statement.order_by(
        Person.protected_identity, Person.family_name, Person.given_name, Person.id
    )


def _case_variants(query):
    """The query as typed, lower case and title case: SQLite folds the case of ASCII
    letters only, so 'öberg' finds 'Öberg' through its title-case variant."""
    return {query, query.lower(), query.title()}


def _escape_like(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
