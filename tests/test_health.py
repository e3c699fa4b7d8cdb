"""`/healthz` reports the database and Redis, 503 naming the part that fails."""


def test_healthy(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"db": "ok", "redis": "ok"}


def test_redis_down_is_503(make_app, tmp_path):
    app = make_app(REDIS_URL=f"unix://{tmp_path}/nothing.sock")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"db": "ok", "redis": "error"}


def test_database_down_is_503(make_app, tmp_path):
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path}/missing/dir/x.db")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"db": "error", "redis": "ok"}
