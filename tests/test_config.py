"""Configuration from the environment (DESIGN.md §4) and the factory."""

import pytest

from portal.config import ConfigError, database_url, load


def test_defaults_with_nothing_set(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "SMS_PROVIDER", "PORTAL_ENV"):
        monkeypatch.delenv(name, raising=False)
    config = load(tmp_path)
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    assert config["REDIS_URL"] is None
    assert config["SMS_PROVIDER"] == "console"
    assert config["SMS_SENDER"] == "SMS-portal"
    assert config["SMS_PACKAGE_SIZE"] == 10_000
    assert config["ELKS_API_URL"] == "https://api.46elks.com/a1"
    assert config["PUBLIC_BASE_URL"] == "http://localhost:5000"
    assert config["MAIL_URL"] is None
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_secret_key_is_generated_once_in_development(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load(tmp_path)["SECRET_KEY"]
    assert len(first) >= 32
    assert load(tmp_path)["SECRET_KEY"] == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("secret", [None, "short"])
def test_production_refuses_missing_or_weak_secret_key(tmp_path, monkeypatch, secret):
    monkeypatch.setenv("PORTAL_ENV", "production")
    if secret:
        monkeypatch.setenv("SECRET_KEY", secret)
    else:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load(tmp_path)
    assert not (tmp_path / "secret_key").exists()


def test_production_has_secure_cookies(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "k4Qz9wX2vL7mR3pT8nB1yC6fJ0sD5gHa")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("ALLOW_CONSOLE_PROVIDER", "1")
    config = load(tmp_path)
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["REMEMBER_COOKIE_SECURE"] is True


def test_environment_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv("SMS_PACKAGE_SIZE", "500")
    monkeypatch.setenv("SMS_SENDER", "Kommunen")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://sms.example.se/")
    monkeypatch.setenv("SMS_PROVIDER", "46elks")
    monkeypatch.setenv("ELKS_API_USERNAME", "u123")
    monkeypatch.setenv("ELKS_API_PASSWORD", "secret")
    monkeypatch.setenv("ELKS_API_URL", "http://127.0.0.1:9999/a1/")
    config = load(tmp_path)
    assert config["SMS_PACKAGE_SIZE"] == 500
    assert config["SMS_SENDER"] == "Kommunen"
    assert config["PUBLIC_BASE_URL"] == "https://sms.example.se"
    assert config["SMS_PROVIDER"] == "46elks"
    assert config["ELKS_API_URL"] == "http://127.0.0.1:9999/a1"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SMS_PACKAGE_SIZE", "tiotusen"),
        ("SMS_PACKAGE_SIZE", "0"),
        ("SMS_PROVIDER", "twilio"),
        ("SMS_SENDER", "EttMycketLångtNamn"),
        ("PORTAL_ENV", "staging"),
        ("ORDER_MIN_FILL_SECONDS", "snabbt"),
        ("ORDER_MIN_FILL_SECONDS", "-1"),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(tmp_path, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load(tmp_path)


def test_46elks_needs_credentials(tmp_path, monkeypatch):
    monkeypatch.setenv("SMS_PROVIDER", "46elks")
    monkeypatch.delenv("ELKS_API_USERNAME", raising=False)
    with pytest.raises(ConfigError, match="ELKS_API_USERNAME"):
        load(tmp_path)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h:5432/db", "postgresql+psycopg://u@h:5432/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_url_uses_psycopg_3(tmp_path, given, expected):
    assert database_url(given, tmp_path) == expected


def test_overrides_win_over_environment(make_app, monkeypatch):
    monkeypatch.setenv("SMS_SENDER", "FranMiljon")
    app = make_app(SMS_SENDER="Override")
    assert app.config["SMS_SENDER"] == "Override"
    assert app.config["TESTING"] is True
