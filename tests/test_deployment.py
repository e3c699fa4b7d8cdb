"""Deployment as docs/deploy.md describes it: the Procfile's processes start the real
entry points, which refuse an unsafe production configuration, and the guide covers
what an operator needs (issue #8, point 7)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_production_config import STRONG_SECRET

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "PORTAL_ENV": "production",
    "SECRET_KEY": STRONG_SECRET,
    "DATABASE_URL": "postgresql://portal@127.0.0.1:1/portal",  # never connected to here
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "SMS_PROVIDER": "46elks",
    "ELKS_API_USERNAME": "u1",
    "ELKS_API_PASSWORD": "p1",
}


def procfile():
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def started(process):
    """The Procfile's command for `process`; gunicorn only loads the app and exits."""
    return procfile()[process].replace("gunicorn ", "gunicorn --check-config ", 1)


def run(command, **changes):
    """`command` run by the shell in the project folder with a production environment."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in PRODUCTION and not name.startswith("ALLOW_")
    }
    env.update(PRODUCTION, PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}")
    env.update(changes)
    return subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


def test_the_procfile_declares_every_process():
    processes = procfile()
    assert set(processes) == {"web", "worker", "cron", "release"}
    assert processes["web"].startswith("gunicorn ") and processes["web"].endswith(" wsgi:app")
    assert processes["worker"] == "python -m jobs.worker"
    assert processes["cron"] == "python -m jobs.worker cron"
    assert processes["release"] == "flask --app wsgi init-db"


def test_the_web_process_loads_the_app_in_production():
    result = run(started("web"))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("process", "changes", "reason"),
    [
        ("web", {"SECRET_KEY": "changeme" * 4}, "SECRET_KEY"),
        ("web", {"SMS_PROVIDER": "console"}, "SMS_PROVIDER=console"),
        ("web", {"DATABASE_URL": "sqlite:////tmp/portal.sqlite3"}, "ALLOW_SQLITE"),
        ("worker", {"SMS_PROVIDER": "console"}, "SMS_PROVIDER=console"),
    ],
)
def test_the_processes_refuse_an_unsafe_production_configuration(process, changes, reason):
    result = run(started(process), **changes)
    assert result.returncode != 0
    assert "ConfigError" in result.stderr and reason in result.stderr


def test_the_guide_covers_what_an_operator_needs():
    guide = (ROOT / "docs/deploy.md").read_text()
    for topic in (
        "## Web: gunicorn",
        "--workers",
        "## PostgreSQL",
        "## Redis",
        "N per host on M hosts",
        "python -m jobs.worker cron",
        "/hooks/46elks/delivery",
        "## Backups",
        "Procfile",
        "PORTAL_ENV=production",
    ):
        assert topic in guide, topic
