"""Resolving a 20,000-recipient selection, and a 100,000-row directory import.

Builds an organisation with 50,000 students (50 schools × 40 classes × 25) and
100,000 guardians (two per student; every tenth student shares the guardians of
a student in another school), 2,000 teachers, 50 principals and 3 admins, with
bulk inserts and a realistic share of people who never accepted the terms, have
no or an invalid mobile, share a number or have protected identity. An admin
then selects the students and guardians of enough classes to reach at least
20,000 people, and each case is timed `--runs` times (after a warm-up):

- `summarise`: counts and reasons for both channels, as the confirmation needs
  (goal: p50 ≤ 100 ms);
- `resolve`: the full recipient list with addresses (and everyone left out) for both
  channels, loaded into Python;
- `freeze`: the same recipients frozen on a message as one compact list (what confirming
  does), then expanded into recipient rows with INSERT … SELECT (what the dispatch
  does; rolled back);
- baseline `count_distinct`: one `SELECT count(*)` over the DISTINCT person ids the same
  joins reach, no reasons — the floor for any set-based resolver;
- baseline `naive_orm`: the ORM way — load the groups, walk `members` and each
  student's `guardians`, decide the reasons in Python (fewer runs: it is slow).

Then `import_csv`: a generated 100,000-row CSV (students, guardians, staff) is
imported into a second, empty organisation with
`portal.directory.importing.import_directory` (goal ≤ 60 s).

The database is a SQLite file in a temporary directory, or with `--database-url` a
PostgreSQL database in which a schema of its own is created and dropped at the end.
One JSON line per figure.

    python bench/recipients.py [--runs 30] [--database-url postgresql://…] [--skip-import]
"""

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from portal import create_app
from portal.directory.importing import import_directory
from portal.extensions import db
from portal.models import (
    Channel,
    Group,
    Message,
    Organisation,
    OrgKind,
    Person,
    Role,
    School,
    duties,
    group_memberships,
    guardianships,
)
from portal.queue import embedded_redis_url, stop_embedded_redis
from portal.recipients import Selection, freeze, resolve, summarise
from portal.recipients.eligibility import _selected_people
from portal.recipients.frozen import expand
from portal.recipients.selection import GroupRole

SCHOOLS, CLASSES, CLASS_SIZE = 50, 40, 25
STUDENTS = SCHOOLS * CLASSES * CLASS_SIZE  # 50,000
GUARDIANS = 2 * STUDENTS  # 100,000
TARGET = 20_000
GOAL_MS = 100
IMPORT_ROWS = 100_000
IMPORT_GOAL_S = 60
CHUNK = 10_000
ACCEPTED = datetime(2025, 8, 20, tzinfo=UTC)
BOTH = (Channel.EMAIL, Channel.SMS)


def build(rng):
    """Bulk-insert the organisation; return (admin, the classes in id order)."""
    now = datetime.now(UTC)
    db.session.execute(
        insert(Organisation),
        [{"id": 1, "kind": OrgKind.KOMMUN, "name": "Benchkommun", "org_number": "212000-0142"}],
    )
    db.session.execute(
        insert(School),
        [{"id": s, "organisation_id": 1, "name": f"Skola {s}"} for s in range(1, SCHOOLS + 1)],
    )
    classes = [
        {"id": g, "organisation_id": 1, "school_id": (g - 1) // CLASSES + 1, "name": f"Klass {g}"}
        for g in range(1, SCHOOLS * CLASSES + 1)
    ]
    db.session.execute(insert(Group), classes)

    people, members, links, duty_rows = [], [], [], []
    ids = iter(range(1, 10**7))

    def person(role, mobile_share, email_share, **fields):
        person_id = next(ids)
        accepted = rng.random() < 0.9
        mobile = f"+4670{person_id:07d}" if rng.random() < mobile_share else None
        people.append(
            {
                "id": person_id,
                "organisation_id": 1,
                "role": role,
                "given_name": f"Förnamn{person_id}",
                "family_name": f"Efternamn{person_id}",
                "email": f"p{person_id}@example.com" if rng.random() < email_share else None,
                "mobile": mobile,
                "mobile_rejected": "08-123 45" if mobile is None and rng.random() < 0.2 else None,
                "terms_accepted_at": ACCEPTED if accepted else None,
                "protected_identity": rng.random() < 0.005,
                "active": rng.random() > 0.02,
                "created_at": now,
                **fields,
            }
        )
        return person_id

    admin = person(Role.ADMIN, 1, 1, active=True, terms_accepted_at=ACCEPTED)
    for school in range(1, SCHOOLS + 1):
        duty_rows.append({"person_id": person(Role.PRINCIPAL, 0.9, 1), "school_id": school})
    for group in classes:
        teacher = person(Role.STAFF, 0.9, 1)
        members.append({"group_id": group["id"], "person_id": teacher})
        duty_rows.append({"person_id": teacher, "school_id": group["school_id"]})
    students = []
    for group in classes:
        for _ in range(CLASS_SIZE):
            students.append(person(Role.STUDENT, 0.3, 0.6))
            members.append({"group_id": group["id"], "person_id": students[-1]})
    for index, student in enumerate(students):
        first = person(Role.GUARDIAN, 0.92, 0.95)
        shares = rng.random() < 0.05  # the second guardian uses the first one's number
        second = person(Role.GUARDIAN, 0.92, 0.95)
        if shares:
            people[-1]["mobile"] = people[-2]["mobile"]
        links += [{"guardian_id": first, "student_id": student}]
        links += [{"guardian_id": second, "student_id": student}]
        if index % 10 == 5:  # a sibling in another school
            sibling = students[(index + CLASSES * CLASS_SIZE) % STUDENTS]
            links += [{"guardian_id": first, "student_id": sibling}]
    for table, rows in (
        (Person.__table__, people),
        (group_memberships, members),
        (duties, duty_rows),
        (guardianships, links),
    ):
        for start in range(0, len(rows), CHUNK):
            db.session.execute(insert(table), rows[start : start + CHUNK])
    db.session.commit()
    _advance_sequences()
    return db.session.get(Person, admin), [group["id"] for group in classes]


def _advance_sequences():
    """After inserts with explicit ids, PostgreSQL's sequences must move past them."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in ("organisations", "schools", "groups", "people"):
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        )
    db.session.commit()


def selection_of(admin, classes):
    """Students and guardians of classes spread over the schools, ≥ TARGET people."""
    order = sorted(classes, key=lambda group_id: ((group_id - 1) % CLASSES, group_id))
    count = TARGET // (3 * CLASS_SIZE)
    while True:
        selection = Selection(
            groups=frozenset(
                (group_id, role)
                for group_id in order[:count]
                for role in (GroupRole.STUDENTS, GroupRole.GUARDIANS)
            )
        )
        people = summarise(selection, admin, BOTH).people
        if people >= TARGET:
            return selection, count, people
        count += max(1, (TARGET - people) // (3 * CLASS_SIZE))


def count_distinct(selection, admin):
    query = select(func.count()).select_from(
        _selected_people(selection, admin.organisation_id, lambda people: [people.c.id])
    )
    return db.session.execute(query).scalar_one()


def naive_orm(selection, admin):
    """Load objects and walk relationships, as one would without set-based SQL."""
    db.session.expire_all()
    groups = db.session.scalars(select(Group).where(Group.id.in_(selection.group_ids()))).all()
    reached = {}
    for group in groups:
        for member in group.members:
            if member.role == Role.STUDENT:
                reached[member.id] = member
                for guardian in member.guardians:
                    reached[guardian.id] = guardian
    by_number, counts = {}, {}
    for person in sorted(reached.values(), key=lambda p: p.id):
        if not person.active:
            reason = "inactive"
        elif person.terms_accepted_at is None:
            reason = "terms_not_accepted"
        elif person.mobile is None:
            reason = "invalid_mobile" if person.mobile_rejected else "no_mobile"
        elif person.mobile in by_number:
            reason = "duplicate_number"
        else:
            by_number[person.mobile] = person.id
            reason = None
        counts[reason] = counts.get(reason, 0) + 1
    return counts


def timed(function, runs):
    function()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return times


def report(case, times, database, **extra):
    line = {
        "bench": "recipients",
        "case": case,
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(statistics.quantiles(times, n=20)[-1], 2) if len(times) > 1 else None,
        "runs": len(times),
        "database": database,
        **extra,
    }
    print(json.dumps(line), flush=True)
    return line


def import_csv(directory, rng, database):
    """Import a generated 100,000-row CSV into a new organisation, timed."""
    path = Path(directory) / "directory.csv"
    header = (
        "external_id;role;given_name;family_name;email;mobile;school;groups;guardian_of;"
        "terms_accepted_at;protected_identity"
    )
    lines = [header]
    staff = 1_000
    students = (IMPORT_ROWS - staff) // 3
    guardians = IMPORT_ROWS - staff - students
    for n in range(staff):
        school = f"Importskola {n % 25}"
        lines.append(
            f"S{n};personal;Lärare;Nummer{n};s{n}@import.example.com;070-{n:07d};{school};"
            f"Klass {n % 40}|Klass {(n + 1) % 40};;2025-08-20;nej"
        )
    for n in range(students):
        mobile = f"70{n + 2_000_000:07d}" if rng.random() < 0.3 else ""  # Excel lost the 0
        lines.append(
            f"E{n};elev;Elev;Nummer{n};;{mobile};Importskola {n % 25};Klass {n % 40};;;nej"
        )
    for n in range(guardians):
        mobile = f"+46 70-{n + 4_000_000:07d}" if rng.random() < 0.92 else ""
        accepted = "2025-08-20" if rng.random() < 0.9 else ""
        lines.append(
            f"V{n};vardnadshavare;Förälder;Nummer{n};v{n}@import.example.com;{mobile};;;"
            f"E{n % students};{accepted};{'ja' if n % 200 == 0 else 'nej'}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    organisation = Organisation(kind=OrgKind.KOMMUN, name="Importkommun", org_number="212000-0159")
    db.session.add(organisation)
    db.session.commit()
    started = time.perf_counter()
    result = import_directory(path, organisation, dry_run=False)
    seconds = time.perf_counter() - started
    created = db.session.execute(
        select(func.count()).where(Person.organisation_id == organisation.id)
    ).scalar_one()
    line = {
        "bench": "recipients",
        "case": "import_csv",
        "rows": IMPORT_ROWS,
        "seconds": round(seconds, 2),
        "people_created": created,
        "errors": len(result.errors),
        "database": database,
        "goal_s": IMPORT_GOAL_S,
        "met": seconds <= IMPORT_GOAL_S and created == IMPORT_ROWS,
    }
    print(json.dumps(line), flush=True)


def database_for(options, directory):
    """(URL for the app, cleanup) — a temporary SQLite file or a fresh PostgreSQL schema."""
    if not options.database_url:
        return f"sqlite:///{directory}/bench.sqlite3", lambda: None
    url = make_url(options.database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    schema = f"bench_recipients_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")

    def drop():
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()

    in_schema = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return in_schema.render_as_string(hide_password=False), drop


def bench_app(url, directory):
    """The portal on database `url`, with an embedded Redis in `directory`."""
    return create_app(
        {
            "DATABASE_URL": url,
            "REDIS_URL": embedded_redis_url(directory),
            "SECRET_KEY": "bench-secret-key-long-enough-to-be-used-here",
        }
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--naive-runs", type=int, default=3)
    parser.add_argument("--database-url", help="PostgreSQL; default: SQLite in a temp dir")
    parser.add_argument("--skip-import", action="store_true", help="only the resolver")
    options = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="portal-bench-")
    url, drop_schema = database_for(options, directory)
    try:
        app = bench_app(url, directory)
        with app.app_context():
            run(options, directory)
            db.session.remove()
            db.engine.dispose()
    finally:
        drop_schema()
        stop_embedded_redis(directory)
        shutil.rmtree(directory, ignore_errors=True)


def run(options, directory):
    database = db.engine.dialect.name
    rng = random.Random(2026)
    db.create_all()
    started = time.perf_counter()
    admin, classes = build(rng)
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    people = db.session.execute(select(func.count()).select_from(Person)).scalar_one()
    print(
        json.dumps(
            {
                "bench": "recipients",
                "case": "build",
                "people": people,
                "seconds": round(time.perf_counter() - started, 2),
                "database": database,
            }
        ),
        flush=True,
    )
    selection, groups, selected = selection_of(admin, classes)
    summary = summarise(selection, admin, BOTH)
    shape = {
        "groups": groups,
        "people": selected,
        "email": summary[Channel.EMAIL].recipients,
        "sms": summary[Channel.SMS].recipients,
        "left_out_sms": {str(r): n for r, n in summary[Channel.SMS].left_out.items()},
    }
    floor = report(
        "count_distinct (baseline)",
        timed(lambda: count_distinct(selection, admin), options.runs),
        database,
    )
    naive = report(
        "naive_orm (baseline)",
        timed(lambda: naive_orm(selection, admin), options.naive_runs),
        database,
    )
    line = report(
        "summarise",
        timed(lambda: summarise(selection, admin, BOTH), options.runs),
        database,
        **shape,
        goal_p50_ms=GOAL_MS,
    )
    report(
        "resolve",
        timed(lambda: resolve(selection, admin, BOTH), max(5, options.runs // 3)),
        database,
        people=selected,
    )
    message = Message(organisation_id=admin.organisation_id, author_id=admin.id, subject="Bench")
    db.session.add(message)
    db.session.commit()

    def freeze_and_roll_back():
        freeze(selection, admin, BOTH, message.id)
        expand(message.id)
        db.session.rollback()

    report(
        "freeze",
        timed(freeze_and_roll_back, max(5, options.runs // 3)),
        database,
        recipients=shape["email"] + shape["sms"],
    )
    print(
        json.dumps(
            {
                "bench": "recipients",
                "case": "summary",
                "database": database,
                "summarise_p50_ms": line["p50_ms"],
                "vs_count_distinct": round(line["p50_ms"] / floor["p50_ms"], 1),
                "naive_orm_vs_summarise": round(naive["p50_ms"] / line["p50_ms"], 1),
                "goal_p50_ms": GOAL_MS,
                "met": line["p50_ms"] <= GOAL_MS,
            }
        ),
        flush=True,
    )
    if not options.skip_import:
        import_csv(directory, rng, database)


if __name__ == "__main__":
    main()
