from flask import jsonify, redirect, request
from flask_login import current_user
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.extensions import csrf, db
from portal.htmx import render
from portal.i18n import choose_language
from portal.main import bp
from portal.queue import redis_connection
from portal.security import safe_next


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return render("main/welcome.html")
    return render("main/index.html", organisation=current_user.organisation)


@bp.get("/healthz")
@csrf.exempt
def healthz():
    checks = {"db": _check_database(), "redis": _check_redis()}
    healthy = all(state == "ok" for state in checks.values())
    return jsonify(checks), 200 if healthy else 503


@bp.post("/language")
def language():
    choose_language(request.form.get("lang", ""))
    return redirect(safe_next(request.form.get("next"), "/"))


def _check_database():
    try:
        db.session.execute(text("SELECT 1"))
        return "ok"
    except SQLAlchemyError:
        db.session.rollback()
        return "error"


def _check_redis():
    try:
        redis_connection().ping()
        return "ok"
    except (RedisError, OSError):
        return "error"
