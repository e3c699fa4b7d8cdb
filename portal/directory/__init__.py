"""Directory import: CSV and SS 12000 JSON (DESIGN.md §3.4)."""

from flask import Blueprint

bp = Blueprint("directory", __name__)

from portal.directory import views  # noqa: E402, F401
