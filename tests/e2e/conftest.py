"""End-to-end fixtures: the seeded test app served on a free port, the RQ worker
as a subprocess on the same database and Redis, and Debian's Chromium driven
through pytest-playwright."""

import functools
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from rq import Worker
from werkzeug.serving import make_server

from portal.config import ENVIRONMENT
from portal.demo import seed
from portal.queue import redis_connection

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WORKER_START_SECONDS = 15
WORKER_STOP_SECONDS = 10


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
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "jobs.worker"],
            cwd=PROJECT_ROOT,
            env=_worker_environment(settings),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_registered(process, log)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(WORKER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _expected_error(message):
    """Chromium logs every 4xx response as an error; a 422 is the portal's answer to
    an invalid form (STYLE.md)."""
    return "status of 422" in message.text


def _worker_environment(settings):
    """This process's environment with the portal's variables taken from `settings`."""
    env = {name: value for name, value in os.environ.items() if name not in ENVIRONMENT}
    env.update({name: str(settings[name]) for name in ENVIRONMENT if settings.get(name)})
    return env


def _wait_until_registered(process, log):
    deadline = time.monotonic() + WORKER_START_SECONDS
    while process.pid not in {w.pid for w in Worker.all(connection=redis_connection())}:
        if process.poll() is not None:
            pytest.fail(
                f"The worker exited with status {process.returncode}:\n{log.read_text()}",
                pytrace=False,
            )
        if time.monotonic() > deadline:
            pytest.fail(
                f"The worker did not register within {WORKER_START_SECONDS} s:\n{log.read_text()}",
                pytrace=False,
            )
        time.sleep(0.1)
