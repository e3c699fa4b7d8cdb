"""`/healthz` reports the database and Redis, 503 naming the part that fails."""

from portal import create_app


def test_healthy(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"db": "ok", "redis": "ok"}


def test_redis_down_is_503(settings, _schema, tmp_path):
    app = create_app({**settings, "REDIS_URL": f"unix://{tmp_path}/nothing.sock"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"db": "ok", "redis": "error"}


def test_database_down_is_503(settings, tmp_path):
    app = create_app({**settings, "DATABASE_URL": f"sqlite:///{tmp_path}/missing/dir/x.db"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"db": "error", "redis": "ok"}
