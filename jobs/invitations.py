"""The invitation mail: a link to set a password, sent to the invited person.

The job takes the invitation's id, draws the link's secret and stores its hash
just before writing the mail, so the secret never passes through Redis. A retry
draws a new one; only the link in the last mail works.
"""

import logging

from flask import render_template

from portal.extensions import db
from portal.i18n import format_stockholm_datetime
from portal.mail import compose, deliver, public_url
from portal.models import PasswordToken, Person
from portal.people import invitations
from portal.queue import enqueue

logger = logging.getLogger(__name__)

SUBJECT = "Välj ett lösenord till SMS-portalen"


def enqueue_invitation(token_id):
    """Queue the mail for a committed invitation, once."""
    return enqueue(send_invitation, token_id, job_id=f"invite-{token_id}", queue="mail")


def send_invitation(token_id):
    """Mail the set-password link of invitation `token_id`, unless it was used or ended."""
    token = db.session.get(PasswordToken, token_id)
    if token is None:
        raise LookupError(f"Invitation {token_id} does not exist")
    person = db.session.get(Person, token.person_id)
    if not invitations.is_usable(token) or not invitations.may_be_invited(person):
        logger.info("Invitation %s is no longer valid; no mail sent", token_id)
        return
    secret = invitations.new_secret(token)
    text = render_template(
        "mail/invitation.txt",
        person=person,
        organisation=person.organisation,
        link=public_url(f"/set-password/{secret}"),
        expires=format_stockholm_datetime(token.expires_at),
        hours=int(invitations.VALID_FOR.total_seconds() // 3600),
    )
    deliver(compose(person.email, SUBJECT, text))
