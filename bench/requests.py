"""Per-request cost of the portal's stack, against a bare Flask app in the same run.

Prints one JSON line per figure: requests per second and mean latency for a
bare Flask view (the baseline), `/healthz` (one database and one Redis round
trip), the login page (template, CSRF token, session) and the signed-in start
page (session, user loader, navigation).

    python bench/requests.py [--requests 2000]
"""

import argparse
import json
import re
import shutil
import tempfile
import time

from flask import Flask
from flask_migrate import upgrade

from portal import create_app
from portal.auth.passwords import set_password
from portal.extensions import db
from portal.models import Organisation, OrgKind, Person, Role
from portal.queue import embedded_redis_url, stop_embedded_redis

PASSWORD = "bench-lösenord-1"


def measure(client, path, count):
    client.get(path)
    started = time.perf_counter()
    for _ in range(count):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    elapsed = time.perf_counter() - started
    return {"requests_per_second": round(count / elapsed), "mean_ms": elapsed / count * 1000}


def bare_app():
    app = Flask("bare")
    app.get("/")(lambda: "ok")
    return app


def portal_app(directory):
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{directory}/bench.sqlite3",
            "REDIS_URL": embedded_redis_url(directory),
            "SECRET_KEY": "bench-secret-key-long-enough-to-be-used-here",
        }
    )
    with app.app_context():
        upgrade()
        org = Organisation(kind=OrgKind.KOMMUN, name="Benchkommun", org_number="212000-0142")
        person = Person(
            role=Role.STAFF,
            organisation=org,
            email="bench@example.se",
            given_name="Bench",
            family_name="Mark",
        )
        set_password(person, PASSWORD)
        db.session.add_all([org, person])
        db.session.commit()
    return app


def sign_in(client):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"email": "bench@example.se", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    count = parser.parse_args().requests
    directory = tempfile.mkdtemp(prefix="portal-bench-")
    try:
        baseline = measure(bare_app().test_client(), "/", count)
        app = portal_app(directory)
        client = app.test_client()
        figures = {
            "bare_flask": baseline,
            "healthz": measure(client, "/healthz", count),
            "login_page": measure(client, "/login", count),
        }
        sign_in(client)
        figures["start_page_signed_in"] = measure(client, "/", count)
        for name, figure in figures.items():
            line = {
                "bench": "requests",
                "case": name,
                "requests": count,
                "requests_per_second": figure["requests_per_second"],
                "mean_ms": round(figure["mean_ms"], 3),
                "vs_bare_flask": round(figure["mean_ms"] / baseline["mean_ms"], 1),
            }
            print(json.dumps(line))
    finally:
        stop_embedded_redis(directory)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
