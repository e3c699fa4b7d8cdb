"""`make run`: the whole portal on one machine — database, embedded Redis, web
server, one worker and the cron scheduler — stopped together with Ctrl-C.

    python -m portal.dev [--port 5000]
"""

import argparse
import os
import signal
import subprocess
import sys
import time

from flask_migrate import upgrade

from portal import create_app
from portal.demo import DEMO_PASSWORD, DemoExists, seed
from portal.extensions import db
from portal.queue import stop_embedded_redis


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m portal.dev")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)

    embedded = not os.environ.get("REDIS_URL")
    app = create_app()
    with app.app_context():
        upgrade()
        logins = _seed_if_empty()
        db.engine.dispose()

    env = {**os.environ, "REDIS_URL": app.config["REDIS_URL"]}
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    children = [
        subprocess.Popen([*flask, "run", "--host", args.host, "--port", str(args.port)], env=env),
        subprocess.Popen([sys.executable, "-m", "jobs.worker"], env=env),
        subprocess.Popen([sys.executable, "-m", "jobs.worker", "cron"], env=env),
    ]
    _announce(f"http://{args.host}:{args.port}", logins)
    try:
        _wait_for_first_exit(children)
    finally:
        _stop(children)
        if embedded:
            stop_embedded_redis(app.instance_path)
        print("\nSMS-portalen har stoppats.")


def _seed_if_empty():
    """Demo data into an empty database; the demo logins, or None if it had data already."""
    try:
        return [(account.email, account.password) for account in seed()]
    except DemoExists:
        return None


def _announce(url, logins):
    print(f"\n  SMS-portalen körs på {url}  (Ctrl-C stoppar allt)\n")
    if logins is None:
        print(f"  Databasen hade redan data. Demokontona har lösenordet {DEMO_PASSWORD}.")
        print("  (Börja om med demodata: ta bort instance/portal.sqlite3.)")
    else:
        print("  Demokonton (e-post / lösenord):")
        for email, password in logins:
            print(f"    {email:<36} {password}")
    print(flush=True)


def _wait_for_first_exit(children):
    """Until Ctrl-C, SIGTERM or one of the children ends."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass


def _stop(children):
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()


if __name__ == "__main__":
    main()
