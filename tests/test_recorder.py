"""The recorder a send job records its chunks with: one function at a time, in a thread
and an application context (so a database session) of its own, its errors raised in
the job; or the job's last function left running after the job, which the next job's
recorder (or `settle`) waits for."""

import threading

import pytest
from flask import current_app

from portal.extensions import db
from portal.messaging.recorder import Recorder, settle

pytestmark = pytest.mark.usefixtures("app")


def where_it_ran():
    return threading.current_thread().name, current_app.name, id(db.session())


def test_it_runs_in_a_thread_and_session_of_its_own(app):
    with Recorder() as recorder:
        recorder.start(where_it_ran)
        thread, app_name, session = recorder.collect()

    assert thread != threading.current_thread().name
    assert app_name == app.name
    assert session != id(db.session())


def test_collect_gives_each_result_once():
    with Recorder() as recorder:
        assert recorder.collect() is None
        recorder.start(sum, [1, 2, 3])
        assert recorder.collect() == 6
        assert recorder.collect() is None


def test_a_second_start_before_collecting_is_refused():
    with Recorder() as recorder:
        recorder.start(sum, [1])
        with pytest.raises(RuntimeError):
            recorder.start(sum, [2])
        assert recorder.collect() == 1


def fail():
    raise LookupError("the chunk could not be recorded")


def test_an_error_is_raised_where_it_is_collected():
    with Recorder() as recorder:
        recorder.start(fail)
        with pytest.raises(LookupError):
            recorder.collect()


def test_an_error_nobody_collected_is_raised_when_the_job_ends():
    with pytest.raises(LookupError), Recorder() as recorder:
        recorder.start(fail)


def test_the_job_waits_for_the_chunk_being_recorded_when_it_fails_itself():
    finished = threading.Event()

    def record_slowly():
        finished.wait(0.05)
        finished.set()

    with pytest.raises(ValueError), Recorder() as recorder:
        recorder.start(record_slowly)
        raise ValueError("sending broke off")

    assert finished.is_set()


def test_when_both_fail_the_jobs_error_is_raised_and_the_recorders_logged(caplog):
    with pytest.raises(ValueError), Recorder() as recorder:
        recorder.start(fail)
        raise ValueError("sending broke off")

    assert "Recording a chunk failed as well" in caplog.text
    assert "the chunk could not be recorded" in caplog.text


def test_a_job_ends_while_what_it_left_runs_and_settle_waits_for_it(app):
    gate, done = threading.Event(), threading.Event()

    def record_last():
        gate.wait(5)
        done.set()

    with Recorder() as recorder:
        recorder.leave(record_last)

    assert not done.is_set()
    gate.set()
    settle(app)
    assert done.is_set()


def test_the_next_job_records_nothing_before_what_the_last_one_left_is_done():
    gate, order = threading.Event(), []

    def record_last():
        gate.wait(5)
        order.append("left by the last job")

    with Recorder() as recorder:
        recorder.leave(record_last)
    threading.Timer(0.05, gate.set).start()
    with Recorder() as recorder:
        recorder.start(order.append, "the next job's first chunk")
        recorder.collect()

    assert order == ["left by the last job", "the next job's first chunk"]


def test_an_error_in_what_was_left_is_logged_not_raised_in_the_next_job(app, caplog):
    with Recorder() as recorder:
        recorder.leave(fail)
    with Recorder() as recorder:
        recorder.start(sum, [1, 2])
        assert recorder.collect() == 3

    assert "Recording a send job's last chunk failed" in caplog.text
    assert "the chunk could not be recorded" in caplog.text
    settle(app)  # nothing is left
