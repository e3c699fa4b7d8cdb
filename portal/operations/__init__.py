"""The operators' operations page: queues, failed jobs, provider health, work in progress."""

from flask import Blueprint

bp = Blueprint("operations", __name__)

from portal.operations import views  # noqa: E402, F401
