"""Requests per second of the order form under gunicorn, against a bare Flask route.

Starts two gunicorns (2 sync workers each, 127.0.0.1, free ports): one with
a bare Flask app (one route returning "ok", the baseline), one with the
portal. Client threads, each with its own httpx client and cookie jar, send
a fixed number of requests per case after a warm-up. The load generator
shares the machine's cores with gunicorn, so the number of client threads
matters: unless `--clients` is given, the bare route is first measured with
1, 2, 4 and 8 threads and the count that gives it the most requests per
second is used for every case (the baseline at its best, the same client
for all):

- `bare_flask`: GET / on the bare app;
- `minimal_write_post` (a second reference, not the baseline): the same POST to a
  Flask route that does the least any order must, and nothing else: parse the form,
  insert it into a SQLite table (raw `sqlite3`, WAL) and commit, push one Redis list
  entry, and answer 303 with a cookie. No CSRF, no validation, no ORM, no job object.
  It shows how much of the distance to the bare route is the write itself;
- `order_form_get`: GET /order (the kept empty form with this request's CSRF
  token and signed start stamp, see portal/orders/empty_form.py);
- `order_form_post`: a valid POST /order with a new organisation number
  each time (CSRF, validation, honeypot and fill-time check, one write
  transaction with its audit event, one Redis job that queues the two
  e-mails, the 303 to the status page with its receipt cookie). Anything
  but a 303 stops the run. Each post stands for a new orderer: the client
  keeps its session (and CSRF token) but drops the previous receipt cookie.

The cases take turns in four rounds, so a change in the machine's load
during the run falls on all of them alike. The portal runs on a fresh
SQLite database and an embedded Redis in a temporary directory, with rate
limiting off and ORDER_MIN_FILL_SECONDS 0 so that the benchmark is neither
throttled nor dropped as a bot. On a 2-core machine the load generator
competes with gunicorn for the CPU, for every case alike; the ratios
(goal: at least 0.5) are the figures to read. One JSON line per figure,
the last one with the ratios.

    python bench/order_form.py [--requests 2000] [--quick] [--clients N]
        [--database-url postgresql://…] [--redis-url redis://…]
"""

import argparse
import json
import logging
import os
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from flask import Flask, redirect, request
from flask_migrate import upgrade
from redis import Redis

from portal import create_app
from portal.extensions import db
from portal.identifiers import luhn_valid
from portal.orders.views import RECEIPT_COOKIE
from portal.queue import embedded_redis_url, stop_embedded_redis

PROJECT_ROOT = Path(__file__).resolve().parent.parent
GOAL = 0.5
WORKERS = 2
ROUNDS = 4
CLIENT_CHOICES = (1, 2, 4, 8)
CALIBRATION_REQUESTS = 600
START_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 30
REQUEST_TIMEOUT_SECONDS = 30
SECRET_KEY = "bench-secret-key-long-enough-to-be-used-here"
# Literal overrides for gunicorn's factory call; the URLs and the key go in the environment.
PORTAL_OVERRIDES = {"RATELIMIT_ENABLED": False, "ORDER_MIN_FILL_SECONDS": 0}
PORTAL_SPEC = f"portal:create_app({PORTAL_OVERRIDES!r})"
BARE_SPEC = "bench.order_form:bare_app()"
MINIMAL_SPEC = "bench.order_form:minimal_write_app()"
HIDDEN_INPUT = r'name="{}" type="hidden" value="([^"]+)"'
ORDER = {
    "org_kind": "friskola",
    "org_name": "Benchskolan AB",
    "contact_name": "Åsa Öberg",
    "contact_email": "asa.oberg@example.se",
    "contact_phone": "08-508 290 00",
    "invoice_address": "Benchskolan AB\r\nBox 1\r\n111 11 Stockholm",
    "invoice_reference": "BENCH 1",
    "accept_terms": "y",
}


def bare_app():
    """The baseline, served by gunicorn as `bench.order_form:bare_app()`."""
    app = Flask("bare")
    app.get("/")(lambda: "ok")
    return app


def minimal_write_app():
    """The second reference, served by gunicorn as `bench.order_form:minimal_write_app()`
    with MINIMAL_DATABASE (a SQLite file with an `orders` table) and REDIS_URL set."""
    app = Flask("minimal")
    connections = {}

    def connected():
        if not connections:
            database = sqlite3.connect(os.environ["MINIMAL_DATABASE"], isolation_level=None)
            database.execute("PRAGMA synchronous = NORMAL")
            connections.update(database=database, redis=Redis.from_url(os.environ["REDIS_URL"]))
        return connections["database"], connections["redis"]

    @app.get("/")
    def health():
        return "ok"

    @app.post("/order")
    def order():
        form = request.form.to_dict()
        database, redis = connected()
        database.execute("BEGIN IMMEDIATE")
        row = database.execute("INSERT INTO orders (form) VALUES (?)", (json.dumps(form),))
        database.execute("COMMIT")
        redis.rpush("minimal-orders", row.lastrowid)
        response = redirect(f"/order/{secrets.token_urlsafe(16)}", 303)
        response.set_cookie(RECEIPT_COOKIE, secrets.token_urlsafe(32), httponly=True)
        return response

    return app


def minimal_environment(directory, redis_url):
    path = Path(directory) / "minimal.sqlite3"
    with sqlite3.connect(path) as database:
        database.execute("PRAGMA journal_mode = WAL")
        database.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, form TEXT NOT NULL)")
    return {"MINIMAL_DATABASE": str(path), "REDIS_URL": redis_url}


class OrgNumbers:
    """Valid, distinct organisation numbers, drawn at random so that reruns against
    one database (PostgreSQL) rarely meet an order that still waits."""

    def __init__(self):
        self._lock = threading.Lock()
        self._used = set()

    def next(self):
        with self._lock:
            while True:
                body = f"{random.randint(1, 9)}{random.randint(0, 9)}{random.randint(2, 9)}"
                body += f"{random.randrange(10**6):06d}"
                if body not in self._used:
                    self._used.add(body)
                    break
        check = next(digit for digit in "0123456789" if luhn_valid(body + digit))
        return f"{body[:6]}-{body[6:]}{check}"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(app_spec, directory, env=None):
    """Start gunicorn in the project root on a free port; return (process, URL, log path)."""
    port = free_port()
    log = Path(directory) / f"gunicorn-{port}.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(WORKERS),
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "--no-control-socket",
        app_spec,
    ]
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
            env={**os.environ, **(env or {})},
        )
    return process, f"http://127.0.0.1:{port}", log


def wait_until_answers(process, url, log):
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer {url} in {START_TIMEOUT_SECONDS} s")


def stop_gunicorn(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def hidden_value(page, name):
    match = re.search(HIDDEN_INPUT.format(name), page)
    if match is None:
        raise RuntimeError(f"no hidden {name!r} input on the order form")
    return match.group(1)


def get(path, expected=200):
    def prepare(_client):
        return None

    def send(client, _state):
        response = client.get(path)
        check(response, expected)

    return prepare, send


def post_order(org_numbers, read_form=True):
    """Each client reads the form once; its CSRF token and start stamp serve every post.
    (The minimal route has no form to read: its posts carry stand-ins of the same size.)"""

    def prepare(client):
        if not read_form:
            return {"csrf_token": "t" * 91, "started": "s" * 30}
        response = client.get("/order")
        check(response, 200)
        return {
            "csrf_token": hidden_value(response.text, "csrf_token"),
            "started": hidden_value(response.text, "started"),
        }

    def send(client, tokens):
        data = {**tokens, **ORDER, "org_number": org_numbers.next()}
        response = client.post("/order", data=data)
        check(response, 303)
        if not response.headers["location"].startswith("/order/"):
            raise RuntimeError(f"POST /order redirected to {response.headers['location']}")
        if RECEIPT_COOKIE not in response.cookies:
            raise RuntimeError("POST /order gave no receipt cookie for the status page")
        # The next post stands for another orderer, who has no receipt of this order:
        # a client keeping them all would send its jar a thousand cookies to sort.
        client.cookies.delete(RECEIPT_COOKIE)

    return prepare, send


def check(response, expected):
    if response.status_code != expected:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: "
            f"{response.status_code}, not {expected}\n{response.text[:2000]}"
        )


def split(count, parts):
    return [count // parts + (1 if index < count % parts else 0) for index in range(parts)]


def run_case(base_url, case, count, clients, warmup):
    """Send `count` requests from `clients` threads; return the time taken and each latency."""
    prepare, send = case
    barrier = threading.Barrier(clients + 1, timeout=START_TIMEOUT_SECONDS)
    latencies = [[] for _ in range(clients)]
    errors = []

    def worker(index, share):
        with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_SECONDS) as client:
            try:
                state = prepare(client)
                for _ in range(warmup):
                    send(client, state)
            except Exception as error:
                errors.append(error)
            barrier.wait()
            if errors:
                return
            try:
                for _ in range(share):
                    started = time.perf_counter()
                    send(client, state)
                    latencies[index].append(time.perf_counter() - started)
            except Exception as error:
                errors.append(error)

    threads = [
        threading.Thread(target=worker, args=(index, share), daemon=True)
        for index, share in enumerate(split(count, clients))
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return elapsed, [seconds for own in latencies for seconds in own]


def measure(cases, options):
    """Run the cases in turn, ROUNDS times, so that a change in the machine's load
    during the run falls on every case alike; return each case's figures.

    Besides the rates, the CPU time per request of the server side (the gunicorn
    processes, and the portal's embedded Redis) and of the load generator: other work
    on the machine slows the rates, but hardly what a request costs."""
    elapsed = dict.fromkeys(cases, 0.0)
    latencies = {name: [] for name in cases}
    server_cpu = dict.fromkeys(cases, 0.0)
    client_cpu = dict.fromkeys(cases, 0.0)
    for count in split(options.requests, ROUNDS):
        for name, (url, case, pids) in cases.items():
            server, client = cpu_seconds(pids()), time.process_time()
            seconds, own = run_case(url, case, count, options.clients, options.warmup)
            server_cpu[name] += cpu_seconds(pids()) - server
            client_cpu[name] += time.process_time() - client
            elapsed[name] += seconds
            latencies[name] += own
    return {
        name: summary(elapsed[name], latencies[name], server_cpu[name], client_cpu[name])
        for name in cases
    }


def summary(elapsed, latencies, server_cpu, client_cpu):
    count = len(latencies)
    return {
        "requests_per_second": round(count / elapsed),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
        "p95_ms": round(statistics.quantiles(latencies, n=20)[-1] * 1000, 2),
        "server_cpu_ms": round(server_cpu / count * 1000, 2),
        "client_cpu_ms": round(client_cpu / count * 1000, 2),
    }


def cpu_seconds(pids):
    """User + system CPU time of the processes `pids` so far (Linux /proc), including
    warm-up requests, which are few."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def server_pids(process, extra=()):
    """A callable giving the gunicorn master's and its workers' pids (and `extra`)."""

    def pids():
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
        return [process.pid, *map(int, children.read_text().split()), *extra]

    return pids


def redis_pid(directory, redis_url):
    """The embedded Redis server's pid, when the portal uses one."""
    pidfile = Path(directory) / "redis.pid"
    return [int(pidfile.read_text())] if not redis_url and pidfile.exists() else []


def serve(app_spec, health_path, directory, env=None):
    """Start gunicorn and wait until `health_path` answers; return (process, URL)."""
    process, url, log = start_gunicorn(app_spec, directory, env)
    try:
        wait_until_answers(process, url + health_path, log)
    except BaseException:
        stop_gunicorn(process)
        raise
    return process, url


def portal_environment(directory, database_url, redis_url):
    """Database, Redis and key for the portal; migrates the database first."""
    env = {
        "DATABASE_URL": database_url or f"sqlite:///{directory}/bench.sqlite3",
        "REDIS_URL": redis_url or embedded_redis_url(directory),
        "SECRET_KEY": SECRET_KEY,
    }
    app = create_app({**env, **PORTAL_OVERRIDES})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return env


def calibrate(bare_url):
    """The client thread count that gives the bare route the most requests per second."""
    best = None
    for clients in CLIENT_CHOICES:
        seconds, latencies = run_case(bare_url, get("/"), CALIBRATION_REQUESTS, clients, 5)
        rate = round(len(latencies) / seconds)
        line = {"bench": "order_form", "case": "calibration", "clients": clients}
        print(json.dumps({**line, "bare_requests_per_second": rate}), flush=True)
        if best is None or rate > best[1]:
            best = (clients, rate)
    return best[0]


def report(figures, options):
    baseline = figures["bare_flask"]["requests_per_second"]
    for name, figure in figures.items():
        line = {"bench": "order_form", "case": name, "requests": options.requests}
        line |= {"clients": options.clients, "workers": WORKERS, **figure}
        line["vs_bare"] = round(figure["requests_per_second"] / baseline, 2)
        print(json.dumps(line), flush=True)
    ratios = {
        "get_vs_bare": round(figures["order_form_get"]["requests_per_second"] / baseline, 2),
        "post_vs_bare": round(figures["order_form_post"]["requests_per_second"] / baseline, 2),
    }
    met = min(ratios.values()) >= GOAL
    minimal = round(figures["minimal_write_post"]["requests_per_second"] / baseline, 2)
    line = {"bench": "order_form", "case": "ratio", **ratios, "goal": GOAL, "met": met}
    print(json.dumps({**line, "minimal_write_post_vs_bare": minimal}))


def parse_options():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="per case")
    parser.add_argument("--quick", action="store_true", help="300 requests per case")
    parser.add_argument("--clients", type=int, help="client threads (default: calibrated)")
    parser.add_argument("--database-url", help="default: SQLite in a temporary directory")
    parser.add_argument("--redis-url", help="default: an embedded Redis")
    options = parser.parse_args()
    if options.quick:
        options.requests = 300
    return options


def main():
    options = parse_options()
    # The portal's logging setup (create_app) logs at INFO; a line per client request
    # would make the load generator slower, and slower the faster the case.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    directory = tempfile.mkdtemp(prefix="portal-bench-")
    servers = []
    try:
        env = portal_environment(directory, options.database_url, options.redis_url)
        servers.append(serve(BARE_SPEC, "/", directory))
        servers.append(serve(PORTAL_SPEC, "/healthz", directory, env))
        minimal_env = minimal_environment(directory, env["REDIS_URL"])
        servers.append(serve(MINIMAL_SPEC, "/", directory, minimal_env))
        (bare, bare_url), (portal, portal_url), (minimal, minimal_url) = servers
        options.clients = options.clients or calibrate(bare_url)
        options.warmup = max(5, options.requests // ROUNDS // options.clients // 20)
        bare_pids = server_pids(bare)
        portal_pids = server_pids(portal, redis_pid(directory, options.redis_url))
        minimal_pids = server_pids(minimal, redis_pid(directory, options.redis_url))
        cases = {
            "bare_flask": (bare_url, get("/"), bare_pids),
            "minimal_write_post": (minimal_url, post_order(OrgNumbers(), False), minimal_pids),
            "order_form_get": (portal_url, get("/order"), portal_pids),
            "order_form_post": (portal_url, post_order(OrgNumbers()), portal_pids),
        }
        report(measure(cases, options), options)
    finally:
        for process, _ in servers:
            stop_gunicorn(process)
        stop_embedded_redis(directory)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
