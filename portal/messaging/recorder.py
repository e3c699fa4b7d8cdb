"""Recording one chunk while the next is sent (issue #7).

A send job ends each chunk with one transaction: store what the provider answered,
bill it, claim the next chunk. In line, the provider would sit idle for it; here it
runs in a thread of the job's own, in an application context (and so on a database
connection) of its own, while the job sends the chunk it claimed ahead. Python runs
one thread at a time, but a thread that waits for the database or for the provider's
answer lets the other run, and those waits are what the two overlap.

A job whose last chunk needs nothing more of it (no claim, no retry) leaves that chunk
recording and ends, so the worker starts its next job meanwhile; the next job's recorder
waits for it before recording anything, and a stopping worker `settle`s it. A worker
thus holds two chunks at a time, one being recorded and one being sent: a killed worker
can leave both unrecorded, to be sent again after `reconcile`.
"""

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from flask import current_app

logger = logging.getLogger(__name__)

LEFT = "recorder.left"  # in app.extensions: what the last job left recording


class Recorder:
    """Runs one function at a time in a thread beside the job's: `start` it, later
    `collect` its result (its exception is raised there), or `leave` it running."""

    def __init__(self):
        self._app = current_app._get_current_object()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recorder")
        self._pending: Future | None = None
        self._left = False

    def __enter__(self):
        return self

    def __exit__(self, error_type, _error, _traceback):
        pending, self._pending = self._pending, None
        if self._left and error_type is None:
            self._app.extensions[LEFT] = pending
            self._thread.shutdown(wait=False)
            return
        self._thread.shutdown(wait=True)
        if pending is not None and pending.exception() is not None:
            if error_type is None:
                raise pending.exception()
            logger.error("Recording a chunk failed as well", exc_info=pending.exception())

    def start(self, function, *args) -> None:
        """Run `function(*args)` in the app; what was started before must be collected."""
        if self._pending is not None:
            raise RuntimeError("collect() the chunk being recorded before starting another")
        settle(self._app)
        self._pending = self._thread.submit(self._in_app, function, args)

    def leave(self, function, *args) -> None:
        """Start `function(*args)` and let the job end while it runs; its result is
        dropped, its exception logged."""
        self.start(function, *args)
        self._left = True

    def collect(self):
        """Wait for what was started last and return its result (None if nothing was)."""
        pending, self._pending = self._pending, None
        return None if pending is None else pending.result()

    def _in_app(self, function, args):
        with self._app.app_context():
            return function(*args)


def settle(app) -> None:
    """Wait until what the last job of `app` left recording is done; log its error (the
    job that left it has ended)."""
    left = app.extensions.pop(LEFT, None)
    if left is not None and left.exception() is not None:
        logger.error("Recording a send job's last chunk failed", exc_info=left.exception())
