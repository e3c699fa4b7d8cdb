"""Fixtures: a real database (PostgreSQL when TEST_DATABASE_URL is set, else SQLite)
and a real Redis (REDIS_URL, else an embedded redis-server), an app, a client,
the CLI runner and a sign-in helper."""

import os
import re
import shutil
import tempfile

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade

from jobs.worker import build_worker
from portal import create_app
from portal.extensions import db
from portal.queue import embedded_redis_url, redis_connection, stop_embedded_redis
from tests.factories import Factory

pytest_plugins = ["tests.elks", "tests.sending_data", "tests.smtp"]

CSRF_INPUT = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)


@pytest.fixture(scope="session")
def redis_url():
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    directory = tempfile.mkdtemp(prefix="portal-redis-")
    yield embedded_redis_url(directory)
    stop_embedded_redis(directory)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    return os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    )


@pytest.fixture(scope="session")
def settings(database_url, redis_url, tmp_path_factory):
    return {
        "TESTING": True,
        "PORTAL_ENV": "testing",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-to-use",
        "MAIL_URL": None,
        "SMS_PROVIDER": "console",
        "ELKS_API_USERNAME": None,
        "ELKS_API_PASSWORD": None,
    }


@pytest.fixture(scope="session")
def _schema(settings):
    """Migrate the test database once per run, from empty."""
    app = create_app(settings)
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade()
        db.engine.dispose()


class IsolatedClient(FlaskClient):
    """Each request gets its own application context, as in a real server.

    Without this, requests would reuse the test's context, and `g` (where
    Flask-Login and Flask-Babel cache per-request state) would leak between them.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(settings, _schema):
    app = create_app(settings)
    app.test_client_class = IsolatedClient
    with app.app_context():
        redis_connection().flushdb()
        yield app
        db.session.remove()
        _empty_all_tables()
        db.engine.dispose()


@pytest.fixture
def make_app(settings, _schema):
    """Build extra apps with changed settings; their connections are closed afterwards."""
    apps = []

    def build(**overrides):
        apps.append(create_app({**settings, **overrides}))
        return apps[-1]

    yield build
    for extra in apps:
        with extra.app_context():
            db.engine.dispose()


def _empty_all_tables():
    with db.engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make(app):
    """Factories with sensible defaults: make.org(), make.person(role=...), …"""
    return Factory()


def fresh(obj):
    """`obj` as the database has it now; ends the test's own (snapshot) read transaction."""
    db.session.rollback()
    db.session.refresh(obj)
    return obj


def csrf_token(html):
    match = CSRF_INPUT.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, email, password=Factory.PASSWORD):
        page = self._client.get("/login").get_data(as_text=True)
        return self._client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": csrf_token(page)},
        )

    def logout(self):
        page = self._client.get("/logout").get_data(as_text=True)
        return self._client.post("/logout", data={"csrf_token": csrf_token(page)})


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def run_jobs(app):
    """Run every queued job in this process until the queues are empty."""

    def run():
        return build_worker(app).work(burst=True)

    return run
