"""Configuration: safe defaults, then the environment (DESIGN.md §4).

`load(instance_path, overrides)` is called once by the application factory. It
never reads anything but the environment and the instance folder, and it refuses
to start a production deployment with a missing or weak SECRET_KEY (short, or a repeated
word), the console provider or SQLite unless explicitly allowed.
"""

import os
import secrets
from pathlib import Path

from portal.sms.sender import is_valid_sender

PROVIDERS = ("console", "46elks")
MIN_SECRET_KEY_LENGTH = 32
# A repeated word or character ("changeme" × 4) is long but guessable; a random key of
# 32 hexadecimal digits has fewer than 8 different characters about once in 10 million.
MIN_SECRET_KEY_DISTINCT = 8
POSITIVE_INTEGERS = (
    "SMS_PACKAGE_SIZE",
    "SMS_BATCH_SIZE",
    "SMS_CHUNK_SIZE",
    "SMS_RATE_PER_SECOND",
    "SMS_RETRY_MAX_AGE_SECONDS",
    "SMS_LEASE_SECONDS",
    "RETENTION_DAYS",
)


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says which variable and why."""


DEFAULTS = {
    "PORTAL_ENV": "development",
    "SMS_PROVIDER": "console",
    "ELKS_API_URL": "https://api.46elks.com/a1",
    "ELKS_API_USERNAME": None,
    "ELKS_API_PASSWORD": None,
    "SMS_SENDER": "SMS-portal",
    "PUBLIC_BASE_URL": "http://localhost:5000",
    "MAIL_URL": None,
    "MAIL_SENDER": "SMS-portalen <noreply@sms-portalen.se>",
    "SMS_PACKAGE_SIZE": 10_000,
    "SMS_BATCH_SIZE": 250,
    "SMS_CHUNK_SIZE": 100,
    "SMS_RATE_PER_SECOND": 50,
    "SMS_RETRY_MAX_AGE_SECONDS": 24 * 3600,
    "SMS_LEASE_SECONDS": 300,
    "RETENTION_DAYS": 365,
    "ORDER_MIN_FILL_SECONDS": 0.5,
    "ALLOW_CONSOLE_PROVIDER": False,
    "ALLOW_SQLITE": False,
    "TRUSTED_PROXY_COUNT": 0,
    "REDIS_URL": None,
    "DATABASE_URL": None,
    "SECRET_KEY": None,
    "BABEL_DEFAULT_LOCALE": "sv",
    "BABEL_DEFAULT_TIMEZONE": "Europe/Stockholm",
    "LANGUAGES": ("sv", "en"),
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "portal_session",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": 8 * 3600,
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    "WTF_CSRF_TIME_LIMIT": None,
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    # X-RateLimit-* headers cost two more Redis round trips on each limited request (the
    # window's count and expiry); a 429 still says Retry-After (errors.py).
    "RATELIMIT_HEADERS_ENABLED": False,
    "RATELIMIT_KEY_PREFIX": "portal-limits",
}

ENVIRONMENT = (
    "PORTAL_ENV",
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "SMS_PROVIDER",
    "ELKS_API_URL",
    "ELKS_API_USERNAME",
    "ELKS_API_PASSWORD",
    "SMS_SENDER",
    "PUBLIC_BASE_URL",
    "MAIL_URL",
    "SMS_PACKAGE_SIZE",
    "SMS_BATCH_SIZE",
    "SMS_CHUNK_SIZE",
    "SMS_RATE_PER_SECOND",
    "SMS_RETRY_MAX_AGE_SECONDS",
    "SMS_LEASE_SECONDS",
    "RETENTION_DAYS",
    "ORDER_MIN_FILL_SECONDS",
    "ALLOW_CONSOLE_PROVIDER",
    "ALLOW_SQLITE",
    "TRUSTED_PROXY_COUNT",
)
FLAGS = ("ALLOW_CONSOLE_PROVIDER", "ALLOW_SQLITE")


def load(instance_path, overrides=None):
    """Return the finished configuration mapping for one application."""
    instance = Path(instance_path)
    config = dict(DEFAULTS)
    config.update({name: os.environ[name] for name in ENVIRONMENT if os.environ.get(name)})
    config.update(overrides or {})

    for name in POSITIVE_INTEGERS:
        config[name] = _positive_int(name, config[name])
    config["TRUSTED_PROXY_COUNT"] = _positive_int(
        "TRUSTED_PROXY_COUNT", config["TRUSTED_PROXY_COUNT"], minimum=0
    )
    config["ORDER_MIN_FILL_SECONDS"] = _seconds(
        "ORDER_MIN_FILL_SECONDS", config["ORDER_MIN_FILL_SECONDS"]
    )
    _check_choice("SMS_PROVIDER", config["SMS_PROVIDER"], PROVIDERS)
    _check_choice("PORTAL_ENV", config["PORTAL_ENV"], ("development", "production", "testing"))
    if not is_valid_sender(config["SMS_SENDER"]):
        raise ConfigError(
            "SMS_SENDER must be 1 to 11 characters of A-Z, a-z, 0-9 or '-' "
            f"with at least one letter, not {config['SMS_SENDER']!r}."
        )
    config["PUBLIC_BASE_URL"] = config["PUBLIC_BASE_URL"].rstrip("/")
    config["ELKS_API_URL"] = config["ELKS_API_URL"].rstrip("/")

    production = config["PORTAL_ENV"] == "production"
    config["SECRET_KEY"] = _secret_key(config["SECRET_KEY"], instance, production)
    config["SQLALCHEMY_DATABASE_URI"] = database_url(config["DATABASE_URL"], instance)
    for name in FLAGS:
        config[name] = _flag(name, config[name])
    if production:
        _refuse_unsafe_production(config)
    config["SESSION_COOKIE_SECURE"] = config.get("SESSION_COOKIE_SECURE", production)
    config["REMEMBER_COOKIE_SECURE"] = config.get("REMEMBER_COOKIE_SECURE", production)
    if config["SMS_PROVIDER"] == "46elks" and not (
        config["ELKS_API_USERNAME"] and config["ELKS_API_PASSWORD"]
    ):
        raise ConfigError("SMS_PROVIDER=46elks needs ELKS_API_USERNAME and ELKS_API_PASSWORD.")
    return config


def database_url(url, instance):
    """SQLAlchemy URL: the given one (psycopg 3 for PostgreSQL) or SQLite in instance/."""
    if not url:
        return f"sqlite:///{instance / 'portal.sqlite3'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def _secret_key(value, instance, production):
    if production:
        if (
            not value
            or len(value) < MIN_SECRET_KEY_LENGTH
            or len(set(value)) < MIN_SECRET_KEY_DISTINCT
        ):
            raise ConfigError(
                f"PORTAL_ENV=production needs SECRET_KEY of at least "
                f"{MIN_SECRET_KEY_LENGTH} random characters, for example from "
                f'python -c "import secrets; print(secrets.token_urlsafe(48))".'
            )
        return value
    if value:
        return value
    key_file = instance / "secret_key"
    if not key_file.exists():
        _write_once(key_file, secrets.token_urlsafe(48))
    return key_file.read_text().strip()


def _write_once(path, text):
    """Create `path` with `text` atomically; a process that loses the race keeps the winner's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()


def _refuse_unsafe_production(config):
    """Production sends real SMS from a shared database: refuse the development stand-ins."""
    if config["SMS_PROVIDER"] == "console" and not config["ALLOW_CONSOLE_PROVIDER"]:
        raise ConfigError(
            "PORTAL_ENV=production does not send SMS with SMS_PROVIDER=console; "
            "set SMS_PROVIDER=46elks, or ALLOW_CONSOLE_PROVIDER=1 for a trial without SMS."
        )
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") and not config["ALLOW_SQLITE"]:
        raise ConfigError(
            "PORTAL_ENV=production needs DATABASE_URL pointing at PostgreSQL; "
            "set ALLOW_SQLITE=1 to run on SQLite anyway (one host only)."
        )


def _flag(name, value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name} must be 1 or 0, not {value!r}.")


def _positive_int(name, value, minimum=1):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a whole number, not {value!r}.") from None
    if number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}.")
    return number


def _seconds(name, value):
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number of seconds, not {value!r}.") from None
    if not 0 <= seconds <= 3600:
        raise ConfigError(f"{name} must be between 0 and 3600 seconds.")
    return seconds


def _check_choice(name, value, choices):
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {value!r}.")
