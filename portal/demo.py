"""Demo data for `flask --app wsgi seed-demo`: organisations, a school directory, orders.

`seed()` fills an empty database in one transaction and returns the login accounts,
which all share DEMO_PASSWORD. The rest is generated deterministically (a fixed
random seed) so that a demo database never reaches a real person: generated people
get addresses at example.com (reserved by RFC 2606), and every phone number comes
from the series PTS reserves for fiction — the mobile series 070-1740605–699 first,
then Stockholm 08-46500400–499 and Göteborg 031-3900600–699. Only the login accounts
and the demo organisations' own contact addresses use the demo domains.
"""

import random
import secrets
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app

from portal.auth.passwords import set_password
from portal.database import write_transaction
from portal.extensions import db
from portal.models import (
    Group,
    Invoice,
    OrderStatus,
    Organisation,
    OrgKind,
    PackagePrice,
    Person,
    Role,
    School,
    SmsOrder,
    SmsPackage,
    SmsStatus,
)
from portal.models.audit import record
from portal.models.base import utcnow

DEMO_PASSWORD = "demo-sms-2026"
RANDOM_SEED = 2026
PACKAGE_PRICE_ORE = 450_000  # 4 500 kr per package

FAMILIES = 138  # ≈ 150 students with the siblings
SIBLING_SHARE = 0.09  # families with two children, always in different groups
TWO_GUARDIANS_SHARE = 0.6
SAME_FAMILY_NAME_SHARE = 0.7  # second guardians who share the children's family name
SHARED_MOBILE_SHARE = 0.05  # second guardians who use the first one's number
GUARDIAN_MOBILE_SHARE = 0.93
ACCEPTED_SHARE = 0.88  # the others never logged in, never accepted the terms
STUDENT_MOBILE_SHARE = 0.2

DIRECTORY_AGE = timedelta(days=400)
KOMMUN_ACTIVE_FOR = timedelta(days=45)
ORDER_HANDLING = timedelta(hours=20)

KOMMUN_SCHOOLS = {"Norrskolan": ("7A", "7B", "8A"), "Söderskolan": ("4A", "5B", "6C")}
KOMMUN_TEACHERS = (  # besides the demo teacher: given name, family name, groups
    ("Per", "Sandberg", ("7B", "8A")),
    ("Maria", "Ekström", ("8A",)),
    ("Sara", "Lind", ("4A",)),
    ("Ahmed", "Hassan", ("5B", "6C")),
    ("Karin", "Nyström", ("6C",)),
    ("Olle", "Strand", ("4A", "5B")),
)

CHILD_NAMES = (
    "Alice Maja Elsa Astrid Wilma Freja Alma Ella Vera Selma Ebba Saga Olivia Agnes Stella "
    "Alva Signe Nora Amira Yasmin William Hugo Liam Noah Lucas Oliver Elias Adam Alexander "
    "Vincent Leo Oscar Nils Ludvig Theo Viktor Isak Edvin Omar Mohammed"
).split()
ADULT_NAMES = (
    "Anna Eva Maria Karin Sara Emma Kristina Malin Jenny Johanna Sofia Linda Elin Hanna "
    "Fatima Leila Erik Lars Anders Johan Per Karl Mikael Peter Fredrik Daniel Andreas "
    "Magnus Jonas Martin Mehmet Ali"
).split()
FAMILY_NAMES = (
    "Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson "
    "Gustafsson Pettersson Jonsson Hansson Bengtsson Jönsson Lindberg Jakobsson Magnusson "
    "Lindström Lindqvist Lindgren Berg Axelsson Bergström Lundberg Lundgren Mattsson "
    "Berglund Fredriksson Sandberg Henriksson Åberg Öberg Ali Hassan Yilmaz Nguyen"
).split()


@dataclass(frozen=True)
class DemoAccount:
    label: str
    email: str
    password: str


class DemoExists(Exception):
    """seed() refuses: the database already holds data, or the deployment is production."""


def seed():
    """Create the demo data in one transaction and return the login accounts."""
    if current_app.config["PORTAL_ENV"] == "production":
        raise DemoExists("Demodata läggs aldrig in i produktion (PORTAL_ENV=production).")
    with write_transaction():
        _check_empty()
        accounts = _create_demo(utcnow())
    return [DemoAccount(label, person.email, DEMO_PASSWORD) for label, person in accounts]


def _check_empty():
    for model in (Organisation, Person, SmsOrder):
        if db.session.execute(db.select(model.id).limit(1)).first() is not None:
            raise DemoExists(
                "Databasen innehåller redan organisationer, personer eller beställningar; "
                "demodata läggs bara in i en tom databas."
            )


def _create_demo(now):
    """Add everything to the session; returns (label, person) for each login account."""
    people = _People(random.Random(RANDOM_SEED), now)
    operator = people.make(Role.OPERATOR, None, "Sofia", "Nordin", email="operator@sms-portalen.se")
    kommun, friskola = _kommun(now), _friskola(now)
    db.session.add_all([operator, kommun, friskola])
    db.session.flush()  # the price refers to the operator by id

    price = PackagePrice(
        amount_ore=PACKAGE_PRICE_ORE, effective_from=now - DIRECTORY_AGE, set_by_id=operator.id
    )
    schools = [_school_with_groups(kommun, name, groups) for name, groups in KOMMUN_SCHOOLS.items()]
    groups = {group.name: group for school in schools for group in school.groups}
    larkan = _school_with_groups(friskola, "Lärkanskolan", ("1A", "2A"))
    accounts = [
        ("Operatör", operator),
        *_kommun_staff(kommun, schools, groups, people),
        *_demo_family(kommun, groups["7A"], people),
        ("Administratör (friskola)", _friskola_admin(friskola, people)),
    ]
    _students_and_guardians(kommun, list(groups.values()), people)
    orders = [_activated_order(kommun, operator, people), *_pending_orders(now, people)]
    _number_orders(orders)
    _give_password([person for _label, person in accounts])

    db.session.add_all([price, *_first_package(kommun, price), *schools, larkan])
    db.session.add_all([*people.made, *orders])
    record(
        "demo.seeded",
        organisations=[kommun.org_number, friskola.org_number],
        people=len(people.made),
        orders=len(orders),
    )
    return accounts


class _People:
    """Makes and keeps directory people: unique generated e-mails, fictional numbers."""

    def __init__(self, rng, now):
        self.rng = rng
        self.now = now
        self.made = []
        self._emails = set()
        self._numbers = _fictional_numbers()

    def make(
        self, role, organisation, given_name, family_name, *, email=None, accepted=True, **fields
    ):
        """A person; `accepted` gives them a past login and acceptance of the terms.

        A landline number is kept as a rejected number, as an import would: such people
        show up among those left out of SMS, never as SMS recipients.
        """
        number = fields.pop("mobile", None)
        if number and not number.startswith(MOBILE_PREFIX):
            fields["mobile_rejected"] = number
        elif number:
            fields["mobile"] = number
        person = Person(
            role=role,
            organisation=organisation,
            given_name=given_name,
            family_name=family_name,
            email=email or self._email(given_name, family_name),
            created_at=self.now - DIRECTORY_AGE,
            **self._history(accepted),
            **fields,
        )
        self.made.append(person)
        return person

    def number(self):
        """The next unused fictional number, E.164."""
        number = next(self._numbers, None)
        if number is None:
            raise RuntimeError("The demo needs more numbers than PTS reserves for fiction.")
        return number

    def maybe_number(self, share):
        """A number for about `share` of the calls, else None."""
        return self.number() if self.rng.random() < share else None

    def _email(self, given_name, family_name):
        base = _ascii(f"{given_name}.{family_name}")
        address, n = f"{base}@example.com", 1
        while address in self._emails:
            n += 1
            address = f"{base}{n}@example.com"
        self._emails.add(address)
        return address

    def _history(self, accepted):
        if not accepted:
            return {"terms_accepted_at": None, "last_login_at": None}
        accepted_at = self.now - timedelta(days=self.rng.uniform(2, 360))
        last_login_at = accepted_at + (self.now - accepted_at) * self.rng.random()
        return {"terms_accepted_at": accepted_at, "last_login_at": last_login_at}


MOBILE_PREFIX = "+467"


def _fictional_numbers():
    """E.164 numbers PTS reserves for fiction: 070-1740605–699, 08-46500400–499, 031-3900600–699."""
    yield from (f"+4670174{n:04d}" for n in range(605, 700))
    yield from (f"+468465{n:05d}" for n in range(400, 500))
    yield from (f"+463139{n:05d}" for n in range(600, 700))


def _ascii(text):
    """'Åsa.Öberg' → 'asa.oberg', for generated e-mail addresses."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _kommun(now):
    """Exempelkommun: SMS active since KOMMUN_ACTIVE_FOR ago, with invoice details."""
    return Organisation(
        kind=OrgKind.KOMMUN,
        name="Exempelkommun",
        org_number="212000-9994",
        sms_status=SmsStatus.ACTIVE,
        sms_activated_at=now - KOMMUN_ACTIVE_FOR,
        invoice_address="Exempelkommun\nBarn- och utbildningsförvaltningen\nBox 100\n"
        "123 45 Exempelstad",
        invoice_reference="BUF 4410 SMS",
        peppol_id="0007:2120009994",
        contact_email="sms@exempelkommun.se",
        created_at=now - DIRECTORY_AGE,
    )


def _friskola(now):
    """Friskolan Lärkan AB: on the platform, SMS never ordered."""
    return Organisation(
        kind=OrgKind.FRISKOLA,
        name="Friskolan Lärkan AB",
        org_number="556036-0793",
        sms_status=SmsStatus.INACTIVE,
        contact_email="info@friskolan.se",
        created_at=now - DIRECTORY_AGE,
    )


def _first_package(kommun, price):
    """Package #1 and its invoice, from the day SMS was activated; nothing sent yet."""
    size = current_app.config["SMS_PACKAGE_SIZE"]
    opened_at = kommun.sms_activated_at
    package = SmsPackage(
        organisation=kommun,
        sequence=1,
        size=size,
        used=0,  # units are only drawn by sent messages, which the usage ledger explains
        price_ore=price.amount_ore,
        opened_at=opened_at,
    )
    invoice = Invoice(
        number=f"F-{opened_at.year}-000001",
        organisation=kommun,
        package=package,
        amount_ore=package.price_ore,
        created_at=opened_at,
    )
    return package, invoice


def _school_with_groups(organisation, name, group_names):
    """A school and its class groups."""
    groups = [Group(organisation=organisation, name=group) for group in group_names]
    return School(organisation=organisation, name=name, groups=groups)


def _kommun_staff(kommun, schools, groups, people):
    """The admin, a principal per school and the teachers; returns the login accounts."""
    norrskolan, soderskolan = schools
    admin = people.make(
        Role.ADMIN,
        kommun,
        "Maria",
        "Lundgren",
        email="admin@exempelkommun.se",
        mobile=people.number(),
    )
    principal = people.make(
        Role.PRINCIPAL,
        kommun,
        "Anders",
        "Wikström",
        email="rektor@exempelkommun.se",
        mobile=people.number(),
        schools=[norrskolan],
        groups=list(norrskolan.groups),
    )
    people.make(
        Role.PRINCIPAL,
        kommun,
        "Eva",
        "Sjöberg",
        mobile=people.number(),
        schools=[soderskolan],
        groups=list(soderskolan.groups),
    )
    teacher = people.make(
        Role.STAFF,
        kommun,
        "Lena",
        "Holmberg",
        email="larare@exempelkommun.se",
        mobile=people.number(),
        schools=[norrskolan],
        groups=[groups["7A"], groups["7B"]],
    )
    for given_name, family_name, names in KOMMUN_TEACHERS:
        people.make(
            Role.STAFF,
            kommun,
            given_name,
            family_name,
            mobile=people.number(),
            schools=sorted({groups[name].school for name in names}, key=lambda s: s.name),
            groups=[groups[name] for name in names],
        )
    return [
        ("Administratör (kommun)", admin),
        ("Rektor (Norrskolan)", principal),
        ("Lärare (personal)", teacher),
    ]


def _demo_family(kommun, group, people):
    """The demo student in `group`, the demo guardian and a second guardian who shares the
    demo guardian's mobile (one SMS per number); all accepted."""
    student = people.make(
        Role.STUDENT,
        kommun,
        "Elsa",
        "Lindberg",
        email="elev@exempelkommun.se",
        mobile=people.number(),
        groups=[group],
    )
    guardian = people.make(
        Role.GUARDIAN,
        kommun,
        "Karin",
        "Lindberg",
        email="vardnadshavare@exempelkommun.se",
        mobile=people.number(),
        children=[student],
    )
    people.make(
        Role.GUARDIAN, kommun, "Anders", "Lindberg", mobile=guardian.mobile, children=[student]
    )
    return [(f"Elev ({group.name})", student), ("Vårdnadshavare (till eleven)", guardian)]


def _students_and_guardians(kommun, groups, people):
    """FAMILIES families of one or two children (in different groups) and their guardians.

    One family has protected identity (skyddad identitet).
    """
    rng = people.rng
    protected_family = rng.randrange(FAMILIES)
    for family in range(FAMILIES):
        protected = family == protected_family
        family_name = rng.choice(FAMILY_NAMES)
        children = [
            people.make(
                Role.STUDENT,
                kommun,
                rng.choice(CHILD_NAMES),
                family_name,
                mobile=people.maybe_number(STUDENT_MOBILE_SHARE),
                groups=[group],
                accepted=rng.random() < ACCEPTED_SHARE,
                protected_identity=protected,
            )
            for group in rng.sample(groups, 2 if rng.random() < SIBLING_SHARE else 1)
        ]
        _guardians(kommun, children, family_name, people, protected)


def _guardians(kommun, children, family_name, people, protected):
    """One or two guardians of `children`; some without a number, some sharing one."""
    rng = people.rng

    def guardian(family_name, mobile):
        return people.make(
            Role.GUARDIAN,
            kommun,
            rng.choice(ADULT_NAMES),
            family_name,
            mobile=mobile,
            children=list(children),
            accepted=rng.random() < ACCEPTED_SHARE,
            protected_identity=protected,
        )

    first = guardian(family_name, people.maybe_number(GUARDIAN_MOBILE_SHARE))
    if rng.random() < TWO_GUARDIANS_SHARE:
        shares = first.mobile is not None and rng.random() < SHARED_MOBILE_SHARE
        same_name = rng.random() < SAME_FAMILY_NAME_SHARE
        guardian(
            family_name if same_name else rng.choice(FAMILY_NAMES),
            first.mobile if shares else people.maybe_number(GUARDIAN_MOBILE_SHARE),
        )


def _friskola_admin(friskola, people):
    return people.make(
        Role.ADMIN, friskola, "Johan", "Ek", email="admin@friskolan.se", mobile=people.number()
    )


def _activated_order(kommun, operator, people):
    """The order through which Exempelkommun got SMS, decided within the day."""
    activated_at = kommun.sms_activated_at
    return _order(
        kommun.kind,
        kommun.name,
        kommun.org_number,
        activated_at - ORDER_HANDLING,
        people,
        status=OrderStatus.ACTIVATED,
        contact_name="Maria Lundgren",
        contact_email=kommun.contact_email,
        invoice_address=kommun.invoice_address,
        invoice_reference=kommun.invoice_reference,
        peppol_id=kommun.peppol_id,
        decided_at=activated_at,
        decided_by=operator,
        activated_at=activated_at,
        organisation=kommun,
    )


def _pending_orders(now, people):
    """Two orders in the activation queue: one close to the one-day promise, one fresh."""
    return [
        _order(
            OrgKind.KOMMUN,
            "Sjöviks kommun",
            "212000-9986",
            now - timedelta(hours=21),
            people,
            contact_name="Ulla Nyberg",
            contact_email="ulla.nyberg@example.org",
            invoice_address="Sjöviks kommun\nEkonomienheten\nBox 50\n765 43 Sjövik",
            invoice_reference="UTB 3300",
            peppol_id="0007:2120009986",
        ),
        _order(
            OrgKind.FRISKOLA,
            "Friskolan Solgläntan AB",
            "559900-1236",
            now - timedelta(hours=2),
            people,
            contact_name="Mats Öberg",
            contact_email="mats.oberg@example.org",
            invoice_address="Friskolan Solgläntan AB\nStorgatan 12\n123 46 Exempelstad",
            invoice_reference="Mats Öberg",
            comment="Vi vill gärna komma igång före höstterminen.",
        ),
    ]


def _order(kind, name, org_number, created_at, people, **fields):
    """An order as the public form stores it; the number is given by _number_orders."""
    fields.setdefault("status", OrderStatus.RECEIVED)
    return SmsOrder(
        token=secrets.token_urlsafe(32),
        org_kind=kind,
        org_name=name,
        org_number=org_number,
        contact_phone=people.number(),
        terms_accepted_at=created_at,
        created_at=created_at,
        **fields,
    )


def _number_orders(orders):
    """SMS-<year>-<6 digits>, counting from 1 each year in the order they came in."""
    per_year = Counter()
    for order in sorted(orders, key=lambda order: order.created_at):
        year = order.created_at.year
        per_year[year] += 1
        order.number = f"SMS-{year}-{per_year[year]:06d}"


def _give_password(accounts):
    """Every login account gets DEMO_PASSWORD, hashed once: hashing is the slow part."""
    first, *others = accounts
    set_password(first, DEMO_PASSWORD)
    for person in others:
        person.password_hash = first.password_hash
