"""Whose messages a sender sees: admins every message of the organisation, principals
their own and those of the staff of their schools, staff their own."""

from sqlalchemy import or_, select, true

from portal.models import Message, Role, duties


def in_scope(person):
    """A condition on Message for the messages `person` may see (within their
    organisation; the caller scopes to it)."""
    if person.role == Role.ADMIN:
        return true()
    own = Message.author_id == person.id
    if person.role != Role.PRINCIPAL:
        return own
    their_schools = select(duties.c.school_id).where(duties.c.person_id == person.id)
    colleagues = select(duties.c.person_id).where(duties.c.school_id.in_(their_schools))
    return or_(own, Message.author_id.in_(colleagues))
