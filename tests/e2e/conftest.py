"""End-to-end fixtures: the seeded test app served on a free port, the RQ worker
as a subprocess on the same database and Redis, and Debian's Chromium driven
through pytest-playwright."""

import functools
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from portal.demo import seed
from tests import workers

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch options, pointed at Debian's Chromium."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the e2e tests need Debian's chromium package "
            "(`apt-get install chromium`, as the Makefile does).",
            pytrace=False,
        )
    return {
        "headless": True,
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def base_url():
    """No fixed base URL: tests use `live_server`. This replaces pytest-playwright's
    own fallback, a session-scoped instance method that pytest 9 warns about."""
    return None


@pytest.fixture
def live_server(app):
    """The test app, seeded with the demo data, served in a thread; yields its base URL.

    It is the `app` fixture's own app, so its tables are emptied after the test.
    """
    seed()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    serve = functools.partial(server.serve_forever, poll_interval=0.05)  # quick shutdown()
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def page(page, live_server):
    """A Chromium tab for the live server; the test errors if the browser logged
    an error (CSP violations included) or a script threw."""
    errors = []

    def record(message):
        if message.type == "error" and not _expected_error(message):
            errors.append(f"{message.text} ({message.location['url']})")

    page.on("console", record)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(5_000)
    yield page
    if errors:
        pytest.fail("The browser reported errors:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture
def worker(app, settings, tmp_path):
    """`python -m jobs.worker` on the test database and Redis; yields the process
    once RQ lists it, and stops it afterwards."""
    log = tmp_path / "worker.log"
    process = workers.start(settings, log)
    try:
        workers.wait_until_registered(process, log)
        yield process
    finally:
        workers.stop(process)


def _expected_error(message):
    """Chromium logs every 4xx response as an error; a 422 is the portal's answer to
    an invalid form (STYLE.md)."""
    return "status of 422" in message.text
