"""`python -m jobs.worker` as a real process on the test database and Redis, for the
end-to-end tests and the sending tests that kill workers or run several at once."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rq import Worker

from portal.config import ENVIRONMENT
from portal.queue import redis_connection

PROJECT_ROOT = Path(__file__).resolve().parents[1]
START_SECONDS = 15
STOP_SECONDS = 10


def environment(settings, **overrides):
    """This process's environment with the portal's variables from `settings` and
    `overrides` (e.g. SMS_PROVIDER="46elks")."""
    values = {**settings, **overrides}
    env = {name: value for name, value in os.environ.items() if name not in ENVIRONMENT}
    env.update({name: str(values[name]) for name in ENVIRONMENT if values.get(name)})
    return env


def start(settings, log: Path, *args, **overrides) -> subprocess.Popen:
    """Start a worker (`args` e.g. "--burst") in a process group of its own, so that
    `kill(process)` also reaches the work horse it forks."""
    with log.open("a") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "jobs.worker", *args],
            cwd=PROJECT_ROOT,
            env=environment(settings, **overrides),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_until_registered(process, log: Path):
    deadline = time.monotonic() + START_SECONDS
    while process.pid not in {w.pid for w in Worker.all(connection=redis_connection())}:
        if process.poll() is not None:
            pytest.fail(
                f"The worker exited with status {process.returncode}:\n{log.read_text()}",
                pytrace=False,
            )
        if time.monotonic() > deadline:
            pytest.fail(
                f"The worker did not register within {START_SECONDS} s:\n{log.read_text()}",
                pytrace=False,
            )
        time.sleep(0.1)


def stop(process):
    """Ask the worker to stop (a warm shutdown); kill it if it does not."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        kill(process)


def kill(process):
    """kill -9 the worker and its work horse."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
