"""PORTAL_ENV=production refuses the development stand-ins unless explicitly allowed."""

import pytest

from portal.config import ConfigError, load

POSTGRES = "postgresql://portal@db.internal/portal"
STRONG_SECRET = "hT3kQ9vXw2LzR8mNpB4yC6fJ1sD7gK0aE5uV"


@pytest.fixture
def production(monkeypatch):
    for name in ("DATABASE_URL", "SMS_PROVIDER", "ALLOW_CONSOLE_PROVIDER", "ALLOW_SQLITE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", STRONG_SECRET)
    monkeypatch.setenv("SMS_PROVIDER", "46elks")
    monkeypatch.setenv("ELKS_API_USERNAME", "u1")
    monkeypatch.setenv("ELKS_API_PASSWORD", "p1")
    monkeypatch.setenv("DATABASE_URL", POSTGRES)
    return monkeypatch


def test_a_proper_production_configuration_starts(tmp_path, production):
    config = load(tmp_path)
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert (config["ALLOW_CONSOLE_PROVIDER"], config["ALLOW_SQLITE"]) == (False, False)


def test_the_console_provider_is_refused(tmp_path, production):
    production.setenv("SMS_PROVIDER", "console")
    with pytest.raises(ConfigError, match=r"SMS_PROVIDER=console.*ALLOW_CONSOLE_PROVIDER"):
        load(tmp_path)
    production.setenv("ALLOW_CONSOLE_PROVIDER", "1")
    assert load(tmp_path)["SMS_PROVIDER"] == "console"


@pytest.mark.parametrize("url", [None, "sqlite:////srv/portal.sqlite3"])
def test_sqlite_is_refused(tmp_path, production, url):
    if url:
        production.setenv("DATABASE_URL", url)
    else:
        production.delenv("DATABASE_URL")
    with pytest.raises(ConfigError, match=r"PostgreSQL.*ALLOW_SQLITE"):
        load(tmp_path)
    production.setenv("ALLOW_SQLITE", "true")
    assert load(tmp_path)["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:")


@pytest.mark.parametrize(
    "secret", ["short", "s" * 48, "changeme" * 4, "secret-secret-secret-secret-secret"]
)
def test_a_weak_secret_is_refused(tmp_path, production, secret):
    production.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigError, match="SECRET_KEY of at least 32 random characters"):
        load(tmp_path)


def test_a_random_hexadecimal_secret_is_accepted(tmp_path, production):
    production.setenv("SECRET_KEY", "9f3a1c07e4b2d85f6a0c9e1b7d3f2a48")
    assert load(tmp_path)["SECRET_KEY"] == "9f3a1c07e4b2d85f6a0c9e1b7d3f2a48"


def test_the_weak_secret_is_still_refused_first(tmp_path, production):
    production.setenv("SECRET_KEY", "short")
    production.setenv("ALLOW_SQLITE", "1")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load(tmp_path)


def test_development_and_testing_need_no_allowance(tmp_path, monkeypatch):
    for env in ("development", "testing"):
        monkeypatch.setenv("PORTAL_ENV", env)
        monkeypatch.delenv("DATABASE_URL", raising=False)
        monkeypatch.setenv("SMS_PROVIDER", "console")
        assert load(tmp_path)["SMS_PROVIDER"] == "console"


@pytest.mark.parametrize("value", ["kanske", "2"])
def test_an_unreadable_allowance_is_refused(tmp_path, production, value):
    production.setenv("ALLOW_SQLITE", value)
    with pytest.raises(ConfigError, match="ALLOW_SQLITE"):
        load(tmp_path)


def test_trusted_proxies_are_counted_and_checked(tmp_path, production):
    assert load(tmp_path)["TRUSTED_PROXY_COUNT"] == 0
    production.setenv("TRUSTED_PROXY_COUNT", "1")
    assert load(tmp_path)["TRUSTED_PROXY_COUNT"] == 1
    production.setenv("TRUSTED_PROXY_COUNT", "-1")
    with pytest.raises(ConfigError, match="TRUSTED_PROXY_COUNT"):
        load(tmp_path)
