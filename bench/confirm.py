"""The confirmation request ("Bekräfta och skicka") for a 20,000-recipient selection.

Builds bench/recipients.py's directory (152,051 people, with its share of people
without terms, mobile or e-mail, duplicate numbers and protected identities) with its
own builder, gives the organisation active SMS and an open package, signs in as the
admin and picks the students and guardians of the same classes as that benchmark
(≥ 20,000 people). Each run then sends, like the browser with HTMX:

- `review` (baseline): POST /messages/review with SMS ticked — the confirmation
  fragment with its counts, left-out reasons and package outlook, and a fresh
  key and digest for the next confirm;
- `confirm`: POST /messages/send with that key and digest — recount, compare the
  digest, create the message with its recipients for e-mail and SMS frozen on it as
  one compact list, from the same reading (goal: p50 ≤ 100 ms on SQLite and on
  PostgreSQL);
- `expand` (what the dispatch job then does, outside the request): that list turned
  into recipient rows in one write transaction (one INSERT … SELECT), with the
  recipients table's indexes and foreign keys.

The requests go through the whole Flask stack in-process (Flask's test client:
session, login, CSRF, form and selection parsing, templates); what that leaves out,
HTTP parsing and a socket, costs about as much as the bare route below, against a
request that is bound by the database. Every expanded list stays in the database, so
the recipients table grows as it would in use. `bare_flask` (baseline) is one route
returning "ok". One JSON line per figure.

    python bench/confirm.py [--runs 30] [--database-url postgresql://…]
"""

import argparse
import json
import random
import re
import shutil
import statistics
import tempfile
import time

from flask import Flask
from recipients import BOTH, bench_app, build, database_for, selection_of
from sqlalchemy import func, select, text

from portal.auth.passwords import set_password
from portal.database import write_transaction
from portal.extensions import db
from portal.models import Message, MessageStatus, Recipient, SmsPackage, SmsStatus
from portal.models.base import utcnow
from portal.queue import stop_embedded_redis
from portal.recipients import summarise
from portal.recipients.frozen import expand

GOAL_MS = 100
PASSWORD = "bench-lösenord-1"
HTMX = {"HX-Request": "true"}
SUBJECT = "Föräldramöte på torsdag kl 18 i matsalen. Välkomna!"
HIDDEN = r'<input type="hidden" name="{}" value="([^"]*)"'


def prepare(rng):
    """The directory, SMS active with 4,000 SMS left of package #1, the admin's
    password; returns (admin e-mail, selection, its summary)."""
    admin, classes = build(rng)
    admin.organisation.sms_status = SmsStatus.ACTIVE
    admin.organisation.sms_activated_at = utcnow()
    db.session.add(
        SmsPackage(
            organisation_id=admin.organisation_id,
            sequence=1,
            size=10_000,
            used=6_000,
            price_ore=450_000,
        )
    )
    set_password(admin, PASSWORD)
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    selection, _, _ = selection_of(admin, classes)
    return admin.email, selection, summarise(selection, admin, BOTH)


def form_data(selection):
    data = {"subject": SUBJECT, "body": "Välkomna till föräldramötet!", "sms": "y"}
    for group_id, role in sorted(selection.groups):
        data.setdefault(f"group-{group_id}", []).append(str(role))
    return data


def hidden(page, name):
    match = re.search(HIDDEN.format(name), page)
    if match is None:
        raise RuntimeError(f"no hidden {name!r} in:\n{page[:2000]}")
    return match.group(1)


def sign_in(client, email):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    if response.status_code != 302:
        raise RuntimeError(f"sign-in failed: {response.status_code}")
    response = client.get("/messages/new")
    page = response.get_data(as_text=True)
    if response.status_code != 200:
        raise RuntimeError(f"/messages/new: {response.status_code}\n{page[:3000]}")
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def review_and_confirm(client, data):
    """One review and its confirm; returns (review ms, confirm ms, message URL)."""
    started = time.perf_counter()
    response = client.post("/messages/review", data=data, headers=HTMX)
    reviewed = time.perf_counter()
    page = response.get_data(as_text=True)
    if response.status_code != 200:
        raise RuntimeError(f"review: {response.status_code}\n{page[:2000]}")
    confirm = {**data, "key": hidden(page, "key"), "digest": hidden(page, "digest")}
    started_confirm = time.perf_counter()
    response = client.post("/messages/send", data=confirm, headers=HTMX)
    confirmed = time.perf_counter()
    if response.status_code != 204:
        raise RuntimeError(f"confirm: {response.status_code}\n{response.get_data(as_text=True)}")
    return (
        (reviewed - started) * 1000,
        (confirmed - started_confirm) * 1000,
        response.headers["HX-Redirect"],
    )


def bare_flask(runs):
    app = Flask("bare")
    app.get("/")(lambda: "ok")
    client = app.test_client()
    client.get("/")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get("/")
        times.append((time.perf_counter() - started) * 1000)
    return times


def expand_list(message_id):
    """Expand message `message_id`'s frozen list into recipient rows; returns ms."""
    started = time.perf_counter()
    with write_transaction():
        expand(message_id)
    return (time.perf_counter() - started) * 1000


def message_id_of(url):
    return int(url.rsplit("/", 1)[1])


def check_frozen(url, summary):
    """The last confirmed message, expanded, holds exactly the counts the confirmation showed."""
    message_id = message_id_of(url)
    message = db.session.get(Message, message_id)
    frozen = dict(
        db.session.execute(
            select(Recipient.channel, func.count())
            .where(Recipient.message_id == message_id)
            .group_by(Recipient.channel)
        ).all()
    )
    expected = {channel: summary[channel].recipients for channel in BOTH}
    if message.status != MessageStatus.QUEUED or frozen != expected:
        raise RuntimeError(f"message {message_id}: {message.status}, {frozen} ≠ {expected}")


def report(case, times, database, **extra):
    line = {
        "bench": "confirm",
        "case": case,
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(statistics.quantiles(times, n=20)[-1], 2),
        "runs": len(times),
        "database": database,
        **extra,
    }
    print(json.dumps(line), flush=True)
    return line


def run(app, runs):
    """Build and measure; the requests run outside any app context, as under a server."""
    with app.app_context():
        database = db.engine.dialect.name
        db.create_all()
        started = time.perf_counter()
        email, selection, summary = prepare(random.Random(2026))
        shape = {
            "people": summary.people,
            "email": summary[BOTH[0]].recipients,
            "sms": summary[BOTH[1]].recipients,
        }
        seconds = round(time.perf_counter() - started, 2)
        print(json.dumps({"bench": "confirm", "case": "build", "seconds": seconds, **shape}))
    client = app.test_client()
    data = {"csrf_token": sign_in(client, email), **form_data(selection)}
    review_and_confirm(client, data)  # warm-up
    reviews, confirms, expansions = [], [], []
    for _ in range(runs):
        review_ms, confirm_ms, url = review_and_confirm(client, data)
        reviews.append(review_ms)
        confirms.append(confirm_ms)
        with app.app_context():
            expansions.append(expand_list(message_id_of(url)))
    with app.app_context():
        check_frozen(url, summary)
    bare = report("bare_flask (baseline)", bare_flask(max(runs, 200)), database)
    review = report("review (baseline)", reviews, database, **shape)
    expanded = report("expand", expansions, database, rows=shape["email"] + shape["sms"])
    line = report("confirm", confirms, database, **shape, goal_p50_ms=GOAL_MS)
    summary_line = {
        "bench": "confirm",
        "case": "summary",
        "database": database,
        "confirm_p50_ms": line["p50_ms"],
        "vs_review": round(line["p50_ms"] / review["p50_ms"], 1),
        "expand_p50_ms": expanded["p50_ms"],
        "bare_flask_p50_ms": bare["p50_ms"],
        "goal_p50_ms": GOAL_MS,
        "met": line["p50_ms"] <= GOAL_MS,
    }
    print(json.dumps(summary_line), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url", help="PostgreSQL; default: SQLite in a temp dir")
    options = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="portal-bench-")
    url, drop_schema = database_for(options, directory)
    try:
        app = bench_app(url, directory)
        run(app, options.runs)
        with app.app_context():
            db.engine.dispose()
    finally:
        drop_schema()
        stop_embedded_redis(directory)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
