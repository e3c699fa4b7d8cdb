"""A local server that speaks the 46elks wire format, for tests and benchmarks.

`POST <url>/sms` (url = http://127.0.0.1:<port>/a1) with HTTP basic auth and the form
fields `from`, `to`, `message` and optional `whendelivered`, validated like 46elks
(plain-text errors such as "Invalid to number"), answered with 46elks' JSON: `id`,
`parts` (counted by portal/sms/text.py) and `cost` (3500 per part). Every accepted SMS
is kept: `sent`, `count`, `count_for(number)`, `counts()`. `GET /stats` gives the
counts as JSON for a benchmark that runs it as a process.

Scripted trouble for tests: `fail_next(n, status)`, `throttle_next(retry_after)`,
`delay_next(seconds)` (accepted, answered late: past the client's read timeout the
client cannot know it was accepted, as in real life), `reject(number, status, text)`;
and `send_delivery_reports(status)` posts 46elks' reports to each `whendelivered`.

One asyncio event loop (its own thread in tests) serves any number of keep-alive
connections. Fixture: `elks_server`. Standalone: `python -m tests.elks --port 8046`.
"""

import argparse
import asyncio
import base64
import json
import re
import secrets
import threading
from collections import Counter, deque
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from portal.sms.sender import is_valid_sender
from portal.sms.text import count

HOST = "127.0.0.1"
BASE_PATH = "/a1"
USERNAME = "elks-test"
PASSWORD = "elks-secret"
COST_PER_PART = 3500
MAX_REQUEST_BYTES = 1024 * 1024
E164 = re.compile(r"\+[1-9]\d{6,14}")


@dataclass(frozen=True)
class Sms:
    """One accepted SMS, as 46elks would list it."""

    id: str
    sender: str
    to: str
    message: str
    whendelivered: str | None
    parts: int
    cost: int
    created: str


@dataclass(frozen=True)
class Scripted:
    """What the next request gets: an error `status` (0: the normal answer) and a `delay`."""

    status: int = 0
    text: str = ""
    headers: tuple = ()
    delay: float = 0.0


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple = ()
    delay: float = 0.0


class ElksServer:
    def __init__(self, host=HOST, port=0, username=USERNAME, password=PASSWORD):
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.requests = 0
        self.connections = 0
        self._authorization = (
            "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        )
        self._lock = threading.Lock()
        self._sent: list[Sms] = []
        self._counts: Counter[str] = Counter()
        self._script: deque[Scripted] = deque()
        self._rejected: dict[str, tuple[int, str]] = {}
        self._open: set[_Connection] = set()
        self._loop = self._server = self._thread = None

    # What was sent ---------------------------------------------------------------------

    @property
    def url(self):
        return f"http://{self.host}:{self.port}{BASE_PATH}"

    @property
    def sent(self) -> list[Sms]:
        with self._lock:
            return list(self._sent)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._sent)

    def count_for(self, number) -> int:
        with self._lock:
            return self._counts[number]

    def counts(self) -> Counter:
        with self._lock:
            return Counter(self._counts)

    def stats(self) -> dict:
        with self._lock:
            return {
                "count": len(self._sent),
                "requests": self.requests,
                "connections": self.connections,
                "numbers": len(self._counts),
                "duplicates": len(self._sent) - len(self._counts),
            }

    # Scripted behaviour -----------------------------------------------------------------

    def fail_next(self, n=1, status=503, text="Service Unavailable"):
        self._add_script(n, Scripted(status=status, text=text))

    def throttle_next(self, retry_after="1", n=1):
        """Answer 429 Too Many Requests with `Retry-After` (seconds or an HTTP date)."""
        headers = (("Retry-After", str(retry_after)),)
        self._add_script(n, Scripted(status=429, text="Too Many Requests", headers=headers))

    def delay_next(self, seconds, n=1):
        """Accept the next `n` SMS but answer only after `seconds`."""
        self._add_script(n, Scripted(delay=seconds))

    def reject(self, number, status=400, text="Invalid to number"):
        """Refuse every SMS to `number` the way 46elks refuses a bad recipient."""
        with self._lock:
            self._rejected[number] = (status, text)

    def reset(self):
        with self._lock:
            self._sent.clear()
            self._counts.clear()
            self._script.clear()
            self._rejected.clear()
            self.requests = self.connections = 0

    def _add_script(self, n, scripted):
        with self._lock:
            self._script.extend([scripted] * n)

    # Delivery reports -------------------------------------------------------------------

    def delivery_reports(self, status="delivered") -> list[tuple[str, dict]]:
        """(whendelivered URL, form) of a report for every accepted SMS that asked for one."""
        delivered = datetime.now(UTC).replace(tzinfo=None).isoformat()
        reports = []
        for sms in self.sent:
            if sms.whendelivered:
                form = {"id": sms.id, "status": status}
                if status == "delivered":
                    form["delivered"] = delivered
                reports.append((sms.whendelivered, form))
        return reports

    def send_delivery_reports(self, status="delivered") -> list[int]:
        """POST the reports as 46elks does; returns the HTTP status of each."""
        with httpx.Client(timeout=10) as client:
            return [
                client.post(url, data=form).status_code
                for url, form in self.delivery_reports(status)
            ]

    # Lifecycle --------------------------------------------------------------------------

    def start(self):
        """Serve from a background thread until `stop()`. The loop lives in that thread
        only: the calling thread may run a loop of its own (Playwright's does)."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=10)
        return self

    def stop(self):
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._loop = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *_exc):
        self.stop()

    async def serve_forever(self, on_ready=None):
        """Serve in the running event loop (standalone use); `on_ready(self)` once listening."""
        await self._listen()
        if on_ready:
            on_ready(self)
        async with self._server:
            await self._server.serve_forever()

    async def _listen(self):
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self), self.host, self.port, backlog=1024
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self):
        self._server.close()
        waiting = [connection.abort() for connection in list(self._open)]
        await asyncio.gather(*filter(None, waiting), return_exceptions=True)
        await self._server.wait_closed()

    # Answers --------------------------------------------------------------------------

    def _answer(self, method, target, headers, body) -> Answer:
        path = urlsplit(target).path
        if path == "/stats" and method == "GET":
            return Answer(200, json.dumps(self.stats()).encode(), "application/json")
        if path != f"{BASE_PATH}/sms":
            return Answer(404, b"Not found")
        if method != "POST":
            return Answer(405, b"Method not allowed", headers=(("Allow", "POST"),))
        with self._lock:
            self.requests += 1
        if headers.get("authorization") != self._authorization:
            return Answer(401, b"Unauthorized", headers=(("WWW-Authenticate", "Basic"),))
        with self._lock:
            scripted = self._script.popleft() if self._script else Scripted()
        if scripted.status:
            answer = Answer(scripted.status, scripted.text.encode(), headers=scripted.headers)
        else:
            answer = self._send(parse_qs(body.decode(), keep_blank_values=True))
        answer.delay = scripted.delay
        return answer

    def _send(self, form) -> Answer:
        fields = {name: values[-1] for name, values in form.items()}
        for name in ("from", "to", "message"):
            if name not in fields:
                return Answer(400, f"Missing key {name}".encode())
        sender, to, message = fields["from"], fields["to"], fields["message"]
        if not E164.fullmatch(to):
            return Answer(400, b"Invalid to number")
        if not (is_valid_sender(sender) or E164.fullmatch(sender)):
            return Answer(400, b"Invalid from field")
        if not message:
            return Answer(400, b"Missing key message")
        parts = _parts(message)
        sms = Sms(
            id="s" + secrets.token_hex(16),
            sender=sender,
            to=to,
            message=message,
            whendelivered=fields.get("whendelivered") or None,
            parts=parts,
            cost=parts * COST_PER_PART,
            created=datetime.now(UTC).replace(tzinfo=None).isoformat(),
        )
        with self._lock:
            rejected = self._rejected.get(to)
            if rejected is None:
                self._sent.append(sms)
                self._counts[to] += 1
        if rejected is not None:
            return Answer(rejected[0], rejected[1].encode())
        answer = {
            "status": "created",
            "direction": "outgoing",
            "from": sender,
            "to": to,
            "message": message,
            "created": sms.created,
            "parts": parts,
            "cost": sms.cost,
            "id": sms.id,
        }
        return Answer(200, json.dumps(answer).encode(), "application/json")


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: requests are answered in order, at once
    unless an answer is scripted to be late (then it and those after it wait)."""

    def __init__(self, server: ElksServer):
        self.server = server
        self.buffer = bytearray()
        self.transport = None
        self.late: deque[tuple[Answer, bool]] = deque()
        self.writing_late = None

    def connection_made(self, transport):
        self.transport = transport
        self.server.connections += 1
        self.server._open.add(self)

    def connection_lost(self, exc):
        self.server._open.discard(self)
        if self.writing_late:
            self.writing_late.cancel()

    def abort(self):
        """Drop the connection; returns the task writing late answers, if any."""
        self.transport.abort()
        if self.writing_late:
            self.writing_late.cancel()
        return self.writing_late

    def data_received(self, data):
        self.buffer += data
        if len(self.buffer) > MAX_REQUEST_BYTES:
            self.transport.close()
            return
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            try:
                method, target, version, headers = _parse_head(bytes(self.buffer[: end + 4]))
                length = int(headers.get("content-length") or 0)
            except ValueError:
                self.transport.close()
                return
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            answer = self.server._answer(method, target, headers, body)
            close = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
            if answer.delay or self.late:
                self.late.append((answer, close))
                self.writing_late = self.writing_late or asyncio.ensure_future(self._write_late())
            else:
                self._write(answer, close)
            if close:
                return

    async def _write_late(self):
        while self.late:
            answer, close = self.late[0]
            if answer.delay:
                await asyncio.sleep(answer.delay)
            self.late.popleft()
            self._write(answer, close)
        self.writing_late = None

    def _write(self, answer, close):
        if self.transport.is_closing():
            return
        self.transport.write(_response(answer, close))
        if close:
            self.transport.close()


@lru_cache(maxsize=1024)
def _parts(message: str) -> int:
    """Parts of a message; cached, as a send repeats one text to every recipient."""
    return count(message).segments


def _parse_head(head: bytes):
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _colon, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    if "transfer-encoding" in headers:
        raise ValueError("chunked bodies are not spoken here")
    return method, target, version, headers


def _response(answer: Answer, close: bool) -> bytes:
    lines = [
        f"HTTP/1.1 {answer.status} {HTTPStatus(answer.status).phrase}",
        f"Content-Type: {answer.content_type}",
        f"Content-Length: {len(answer.body)}",
        *(f"{name}: {value}" for name, value in answer.headers),
    ]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + answer.body


@pytest.fixture
def elks_server():
    with ElksServer() as server:
        yield server


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tests.elks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=int, default=8046)
    parser.add_argument("--username", default=USERNAME)
    parser.add_argument("--password", default=PASSWORD)
    args = parser.parse_args(argv)
    server = ElksServer(args.host, args.port, args.username, args.password)
    try:
        asyncio.run(server.serve_forever(lambda ready: print(ready.url, flush=True)))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
