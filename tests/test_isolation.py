"""Tenant isolation, proven by walking every route of the app as every role.

Two organisations, "Alfa" (our own) and "Beta" (foreign), each get a full set of data
(tests/tenants.py). Signed in as each role of Alfa (and as an operator, and anonymous),
every route in `app.url_map` is requested with each method it accepts:

- a route with id parameters gets Beta's ids and must answer 403 or 404 (anonymous
  visitors: a redirect to the login page), GET and POST alike, and Beta's data must be
  unchanged afterwards;
- with Alfa's ids, some role must reach every GET route (so the ids are real), and no
  page may show anything of Beta's;
- a route without parameters must not show any of Beta's names or numbers.

Operators legitimately see every organisation on the /admin pages; elsewhere they are
held to the same rules. New routes are covered by existing: a parameter this test does
not know fails the walk with a message saying where to add a builder for it.
"""

import pytest
from flask import Blueprint
from flask_login import login_required

from portal.extensions import db
from portal.models import Message, Organisation, Person, Recipient, Role
from tests.conftest import AuthActions, csrf_token
from tests.tenants import ORG_ROLES, make_tenant

ANONYMOUS = "anonymous"
ROLES = (Role.OPERATOR, *ORG_ROLES, ANONYMOUS)

# Routes anyone may use without signing in.
PUBLIC = {
    "main.index",
    "main.healthz",
    "main.language",
    "auth.login",
    "orders.new",
    "orders.status",
    "orders.validate_field",
    "people.set_password",
    "hooks.elks_delivery",
    "static",
}
# Posting these would end the walker's own session; they hold no organisation data.
NOT_POSTED = {"auth.logout"}
# Machine-to-machine routes authenticated by a secret; nobody's browser session opens them.
MACHINE = {"hooks.elks_delivery"}

# id parameters: how to find the value of a tenant's row.
IDS = {
    "message_id": lambda t: t.message.id,
    "invoice_id": lambda t: t.invoice.id,
    "order_id": lambda t: t.order.id,
    "organisation_id": lambda t: t.organisation.id,
    "person_id": lambda t: t.person(Role.GUARDIAN).id,
    "recipient_id": lambda t: t.message.recipients[0].id,
    "attachment_id": lambda t: t.attachment.id,
    "package_id": lambda t: t.invoice.package_id,
}
# Parameters that are not ids of an organisation's rows, per endpoint: the value to use.
# Tokens are capabilities (whoever holds the link may use it); a guessed one must be a 404.
OTHER_PARAMETERS = {
    ("orders.status", "token"): "gissad-token-som-inte-finns",
    ("people.set_password", "token"): "gissad-token-som-inte-finns",
    ("orders.validate_field", "name"): "org_name",
    ("static", "filename"): "app.css",
    ("operations.retry", "job_id"): "send-1-1",
}


@pytest.fixture
def tenants(make):
    operator = make.person(Role.OPERATOR, given_name="Olle", family_name="Operatör")
    own = make_tenant(make, operator, "Alfa", 1)
    foreign = make_tenant(make, operator, "Beta", 2)
    return operator, own, foreign


def rules(app):
    return sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule)


def methods(rule):
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def url_for_tenant(rule, tenant):
    """The rule's URL with `tenant`'s ids; fails for a parameter without a builder."""
    values = {}
    for name in sorted(rule.arguments):
        if (rule.endpoint, name) in OTHER_PARAMETERS:
            values[name] = OTHER_PARAMETERS[(rule.endpoint, name)]
        elif name in IDS:
            values[name] = IDS[name](tenant)
        else:
            pytest.fail(
                f"The route {rule.rule} ({rule.endpoint}) has a parameter <{name}> the "
                f"isolation walk does not know. Add a builder for it to IDS (an id of an "
                f"organisation's row) or OTHER_PARAMETERS in tests/test_isolation.py."
            )
    return rule.build(values, append_unknown=False)[1]


def has_ids(rule):
    return any((rule.endpoint, name) not in OTHER_PARAMETERS for name in rule.arguments)


def is_operator_page(rule):
    return rule.rule.startswith("/admin/") or rule.rule == "/admin"


def signed_in_client(app, tenants, role):
    """A client signed in as `role` of our own organisation, with its CSRF token."""
    client = app.test_client()
    if role != ANONYMOUS:
        operator, own, _foreign = tenants
        person = operator if role == Role.OPERATOR else own.person(role)
        assert AuthActions(client).login(person.email).status_code == 302
    client.csrf = csrf_token(client.get("/").get_data(as_text=True))
    return client


def request(client, method, url):
    if method == "GET":
        return client.get(url)
    return client.post(url, data={"csrf_token": client.csrf}, headers={"X-CSRFToken": client.csrf})


def leaks(response, foreign):
    html = response.get_data(as_text=True)
    return [secret for secret in foreign.secrets if secret and secret in html]


def refused(response, role):
    """403/404 for a signed-in person; for anonymous visitors, the way to the login page."""
    if role == ANONYMOUS:
        return response.status_code == 401 or (
            response.status_code == 302 and response.headers["Location"].startswith("/login")
        )
    return response.status_code in (403, 404)


def foreign_state(foreign):
    """What Beta's rows hold; compared before and after the walk."""
    db.session.rollback()
    return (
        db.session.execute(
            db.select(Organisation.sms_status, Organisation.name).where(
                Organisation.id == foreign.organisation.id
            )
        ).one(),
        db.session.execute(
            db.select(Message.status, Message.subject, Message.erased_at).where(
                Message.id == foreign.message.id
            )
        ).one(),
        sorted(
            db.session.execute(
                db.select(Recipient.id, Recipient.status, Recipient.address).where(
                    Recipient.message_id == foreign.message.id
                )
            ).all()
        ),
        sorted(
            db.session.execute(
                db.select(Person.id, Person.email, Person.mobile, Person.active).where(
                    Person.organisation_id == foreign.organisation.id
                )
            ).all()
        ),
    )


def walk(app, client, role, foreign):
    """Every route, every method, with the foreign organisation's ids: what went wrong."""
    problems = []
    for rule in rules(app):
        operator_sees_all = role == Role.OPERATOR and is_operator_page(rule)
        for method in methods(rule):
            if method == "POST" and (rule.endpoint in NOT_POSTED or operator_sees_all):
                continue
            url = url_for_tenant(rule, foreign)
            response = request(client, method, url)
            where = f"{method} {url} ({rule.endpoint}) as {role}"
            if response.status_code >= 500:
                problems.append(f"{where}: {response.status_code}")
            elif has_ids(rule) and not operator_sees_all and not refused(response, role):
                problems.append(f"{where}: {response.status_code}, expected 403/404")
            elif not has_ids(rule) and not operator_sees_all and leaks(response, foreign):
                problems.append(f"{where} shows {leaks(response, foreign)}")
            response.close()
    return problems


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_no_role_reaches_another_organisations_data(app, tenants, role):
    _operator, _own, foreign = tenants
    before = foreign_state(foreign)
    assert walk(app, signed_in_client(app, tenants, role), role, foreign) == []
    assert foreign_state(foreign) == before


@pytest.fixture
def leaky_app(app):
    """The app with two careless routes: one loads a message by bare id, one lists them all."""
    blueprint = Blueprint("leaky_test", __name__)

    @blueprint.get("/test-only/messages/<int:message_id>")
    @login_required
    def by_bare_id(message_id):
        return db.get_or_404(Message, message_id).subject

    @blueprint.get("/test-only/all-subjects")
    @login_required
    def everything():
        return " ".join(db.session.scalars(db.select(Message.subject)))

    app.register_blueprint(blueprint)
    return app


def test_the_walk_catches_a_careless_route(leaky_app, tenants):
    _operator, _own, foreign = tenants
    client = signed_in_client(leaky_app, tenants, Role.STAFF)
    problems = walk(leaky_app, client, Role.STAFF, foreign)
    url = f"/test-only/messages/{foreign.message.id}"
    assert f"GET {url} (leaky_test.by_bare_id) as staff: 200, expected 403/404" in problems
    assert any(problem.startswith("GET /test-only/all-subjects") for problem in problems)
    assert len(problems) == 2


def test_the_walk_fails_on_a_parameter_it_does_not_know(app, tenants):
    blueprint = Blueprint("unknown_test", __name__)
    blueprint.add_url_rule("/test-only/widgets/<int:widget_id>", "widget", lambda widget_id: "")
    app.register_blueprint(blueprint)
    _operator, _own, foreign = tenants
    with pytest.raises(pytest.fail.Exception, match=r"<widget_id>.*Add a builder"):
        walk(app, signed_in_client(app, tenants, Role.ADMIN), Role.ADMIN, foreign)


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_own_pages_show_nothing_of_another_organisation(app, tenants, role):
    _operator, own, foreign = tenants
    client = signed_in_client(app, tenants, role)
    problems = []
    for rule in rules(app):
        if "GET" not in rule.methods or not has_ids(rule):
            continue
        if role == Role.OPERATOR and is_operator_page(rule):
            continue
        url = url_for_tenant(rule, own)
        response = client.get(url)
        if response.status_code >= 500 or leaks(response, foreign):
            problems.append(
                f"GET {url} as {role}: {response.status_code} {leaks(response, foreign)}"
            )
    assert problems == []


def test_own_ids_are_real_every_id_route_opens_for_some_role(app, tenants):
    """Guards the walk itself: were the ids wrong, every request would 404 and prove nothing."""
    _operator, own, _foreign = tenants
    clients = {role: signed_in_client(app, tenants, role) for role in ROLES}
    unreachable = []
    for rule in rules(app):
        if "GET" not in rule.methods or not has_ids(rule) or rule.endpoint in MACHINE:
            continue
        url = url_for_tenant(rule, own)
        statuses = {role: clients[role].get(url).status_code for role in ROLES}
        if 200 not in statuses.values() and 302 not in {
            status for role, status in statuses.items() if role != ANONYMOUS
        }:
            unreachable.append(f"{url}: {statuses}")
    assert unreachable == []


def test_every_route_parameter_has_a_builder(app):
    """An unknown route parameter fails here first, with the message that says what to add."""
    for rule in rules(app):
        for name in rule.arguments:
            known = (rule.endpoint, name) in OTHER_PARAMETERS or name in IDS
            assert known, (
                f"The route {rule.rule} ({rule.endpoint}) has a parameter <{name}> the "
                f"isolation walk does not know: add a builder to IDS or OTHER_PARAMETERS "
                f"in tests/test_isolation.py."
            )


def test_anonymous_visitors_reach_only_public_routes(app, tenants):
    _operator, own, _foreign = tenants
    client = signed_in_client(app, tenants, ANONYMOUS)
    for rule in rules(app):
        if rule.endpoint in PUBLIC or rule.endpoint in NOT_POSTED:
            continue
        for method in methods(rule):
            response = request(client, method, url_for_tenant(rule, own))
            assert refused(response, ANONYMOUS), f"{method} {rule.rule}: {response.status_code}"


def test_a_foreign_directory_upload_cannot_be_applied(app, tenants):
    """The import's confirmation carries its upload token in the form, not the URL."""
    from portal.directory import uploads

    _operator, _own, foreign = tenants
    with app.test_request_context():
        token = uploads.keep(b"Elev\n", foreign.person(Role.ADMIN), full=False)
    client = signed_in_client(app, tenants, Role.ADMIN)
    response = client.post(
        "/directory/import/apply", data={"token": token, "csrf_token": client.csrf}
    )
    assert response.status_code == 303
    assert uploads.take(token, foreign.person(Role.ADMIN)) is not None
