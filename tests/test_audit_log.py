"""The operators' audit log: newest first, filters, Swedish labels, no protected names."""

import ast
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from portal.audit.labels import ACTION_LABELS
from portal.extensions import db
from portal.models import AuditEvent, Role
from portal.models.base import utcnow
from tests.conftest import AuthActions


@pytest.fixture
def operator(make, auth):
    person = make.person(Role.OPERATOR, given_name="Sofia", family_name="Nordin")
    auth.login(person.email)
    db.session.rollback()  # end the test's read snapshot: the login wrote to the database
    db.session.execute(db.delete(AuditEvent))  # the sign-in's own event: tests count rows
    db.session.commit()
    return person


def event(action, *, actor=None, organisation=None, minutes_ago=0, at=None, **details):
    db.session.add(
        AuditEvent(
            action=action,
            actor_id=actor.id if actor else None,
            organisation_id=organisation.id if organisation else None,
            at=at or utcnow() - timedelta(minutes=minutes_ago),
            details=details,
        )
    )
    db.session.commit()


def rows(html):
    return html[html.index("<tbody>") : html.index("</tbody>")].split("<tr>")[1:]


def test_newest_first_with_swedish_labels_actor_and_organisation(client, operator, make):
    organisation = make.org(name="Åkerby kommun")
    admin = make.person(Role.ADMIN, organisation, given_name="Maria", family_name="Lundgren")
    event("price.set", actor=operator, minutes_ago=10, amount_ore=450_000, previous_ore=None)
    event("sms.deactivated", actor=admin, organisation=organisation, minutes_ago=1, reason="Byter")
    html = client.get("/admin/audit").get_data(as_text=True)
    newest, oldest = rows(html)
    assert "SMS avslutat" in newest and "Maria Lundgren" in newest
    assert "Åkerby kommun" in newest and "Anledning: Byter" in newest
    assert "Paketpris ändrat" in oldest and "Sofia Nordin" in oldest
    assert "Belopp 4\u00a0500,00\u00a0kr" in oldest


def test_protected_identity_names_are_never_shown(client, operator, make):
    organisation = make.org()
    hidden = make.person(
        Role.ADMIN, organisation, given_name="Hemlig", family_name="Person", protected_identity=True
    )
    event("sms.deactivated", actor=hidden, organisation=organisation)
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "Skyddad identitet" in html
    assert "Hemlig" not in html


def test_typed_text_in_details_is_escaped(client, operator, make):
    event("sms.deactivated", organisation=make.org(), reason="<script>alert(1)</script>")
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_filter_by_organisation_and_by_action(client, operator, make):
    first, second = make.org(name="Första kommun"), make.org(name="Andra kommun")
    event("sms.activated", organisation=first, package=1)
    event("sms.deactivated", organisation=first)
    event("sms.activated", organisation=second, package=1)

    html = client.get(f"/admin/audit?organisation={first.id}").get_data(as_text=True)
    assert len(rows(html)) == 2
    assert all("Första kommun" in row for row in rows(html))

    html = client.get("/admin/audit?action=sms.activated").get_data(as_text=True)
    assert len(rows(html)) == 2 and all("SMS aktiverat" in row for row in rows(html))

    html = client.get(f"/admin/audit?organisation={second.id}&action=sms.activated").get_data(
        as_text=True
    )
    (row,) = rows(html)
    assert "Andra kommun" in row
    assert '<option selected value="sms.activated">' in html


@pytest.mark.parametrize("query", ["organisation=999999", "organisation=x", "action=<b>"])
def test_an_unknown_filter_value_is_422(client, operator, query):
    response = client.get(f"/admin/audit?{query}")
    assert response.status_code == 422
    assert 'class="error-summary"' in response.get_data(as_text=True)


def test_an_unlabelled_action_is_shown_as_recorded(client, operator):
    event("something.new")
    assert "something.new" in client.get("/admin/audit").get_data(as_text=True)


def test_the_log_pages(client, operator):
    for n in range(55):
        event("price.set", actor=operator, minutes_ago=n, amount_ore=n)
    first = client.get("/admin/audit").get_data(as_text=True)
    assert len(rows(first)) == 50 and "Sida 1 av 2" in first
    assert 'href="/admin/audit?page=2"' in first
    assert len(rows(client.get("/admin/audit?page=2").get_data(as_text=True))) == 5


def test_filter_by_who_matches_part_of_a_name_or_address(client, operator, make):
    organisation = make.org()
    maria = make.person(
        Role.ADMIN, organisation, given_name="Maria", family_name="Lundgren", email="ml@a.se"
    )
    karl = make.person(Role.STAFF, organisation, given_name="Karl", family_name="Berg")
    hidden = make.person(
        Role.ADMIN, organisation, given_name="Maria", family_name="Dold", protected_identity=True
    )
    for person in (maria, karl, hidden):
        event("terms.accepted", actor=person, organisation=organisation)
    event("price.set", amount_ore=1)

    def who(text):
        html = client.get("/admin/audit", query_string={"actor": text}).get_data(as_text=True)
        return rows(html) if "<tbody>" in html else []

    (row,) = who("lundgren")
    assert "Maria Lundgren" in row
    assert len(who("ML@A.SE")) == 1
    (row,) = who("maria")  # the protected Maria is not found by her name
    assert "Skyddad identitet" not in row
    assert who("100%") == []
    assert len(who("")) == 4


def test_filter_by_dates_in_stockholm_time(client, operator):
    # 23:30 UTC on 10 March is 00:30 on 11 March in Stockholm.
    event("price.set", at=datetime(2026, 3, 10, 22, 30, tzinfo=UTC), amount_ore=1)
    event("price.set", at=datetime(2026, 3, 10, 23, 30, tzinfo=UTC), amount_ore=2)
    event("price.set", at=datetime(2026, 3, 12, 22, 59, tzinfo=UTC), amount_ore=3)
    event("price.set", at=datetime(2026, 3, 12, 23, 0, tzinfo=UTC), amount_ore=4)

    def amounts(**query):
        html = client.get("/admin/audit", query_string=query).get_data(as_text=True)
        return sorted(re.findall(r"Belopp 0,0(\d)", html))

    assert amounts(since="2026-03-11") == ["2", "3", "4"]
    assert amounts(until="2026-03-12") == ["1", "2", "3"]
    assert amounts(since="2026-03-11", until="2026-03-12") == ["2", "3"]
    assert amounts(since="2026-03-11", until="2026-03-11") == ["2"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("since=11/3", "Ange ett datum som ÅÅÅÅ-MM-DD"),
        ("until=2026-02-30", "Ange ett datum som ÅÅÅÅ-MM-DD"),
        ("since=2026-03-12&until=2026-03-11", "kan inte vara före"),
        ("actor=" + "x" * 101, "Högst 100 tecken"),
    ],
)
def test_bad_filters_are_422_with_the_error_at_the_field(client, operator, query, message):
    response = client.get(f"/admin/audit?{query}")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_page_links_keep_the_filters(client, operator):
    for n in range(55):
        event("price.set", actor=operator, minutes_ago=n, amount_ore=n)
    html = client.get("/admin/audit?actor=Nordin&since=2020-01-01").get_data(as_text=True)
    assert 'href="/admin/audit?page=2&amp;actor=Nordin&amp;since=2020-01-01"' in html


def test_sign_ins_and_failed_attempts_are_in_the_log(client, operator, make, app):
    organisation = make.org(name="Inloggningskommun")
    person = make.person(Role.STAFF, organisation, given_name="Ingrid", family_name="Ek")
    other = app.test_client()
    AuthActions(other).login(person.email, "fel-lösenord")
    AuthActions(other).login("ingen-alls@example.se", "fel")
    AuthActions(other).login(person.email)
    AuthActions(other).logout()

    html = client.get("/admin/audit").get_data(as_text=True)
    signed_out, newest, failed_unknown, failed_known = rows(html)
    assert "Utloggning" in signed_out and "Ingrid Ek" in signed_out
    assert "Inloggningskommun" in signed_out and "IP-adress 127.0.0.1" in signed_out
    assert "Inloggning" in newest and "Ingrid Ek" in newest and "Inloggningskommun" in newest
    assert "Misslyckad inloggning" in failed_known and "Ingrid Ek" in failed_known
    assert "Misslyckad inloggning" in failed_unknown and "Systemet" in failed_unknown
    assert "IP-adress 127.0.0.1" in failed_unknown
    assert "ingen-alls" not in html  # the typed address is not recorded
    filtered = client.get("/admin/audit?action=login.failed").get_data(as_text=True)
    assert len(rows(filtered)) == 2


ROOT = Path(__file__).resolve().parent.parent
# Functions that write an audit event, besides the model's own (imported under any name).
SIGN_IN_RECORDERS = {"record_login", "_record_sign_in_event"}


def recorded_actions():
    """Every action the code records: the string constants in the first argument of each
    call to portal.models.audit's functions (or the sign-in recorders)."""
    actions = set()
    for path in sorted([*ROOT.glob("portal/**/*.py"), *ROOT.glob("jobs/**/*.py")]):
        tree = ast.parse(path.read_text())
        recorders = SIGN_IN_RECORDERS | {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "portal.models.audit"
            for alias in node.names
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args and _called(node) in recorders:
                actions |= {
                    constant.value
                    for constant in ast.walk(node.args[0])
                    if isinstance(constant, ast.Constant) and isinstance(constant.value, str)
                }
    return actions


def _called(call):
    return call.func.id if isinstance(call.func, ast.Name) else None


def test_every_recorded_action_has_a_swedish_name():
    """The log names every state change in words; a new action needs its label."""
    actions = recorded_actions()
    assert {"order.approved", "message.sent", "login.failed", "profile.mobile_removed"} <= actions
    assert sorted(actions - ACTION_LABELS.keys()) == []
