"""Route snapshot: a new endpoint must be added here, so none appears unreviewed."""

ROUTES = {
    ("/", "main.index", "GET"),
    ("/healthz", "main.healthz", "GET"),
    ("/language", "main.language", "POST"),
    ("/login", "auth.login", "GET,POST"),
    ("/logout", "auth.logout", "GET,POST"),
    ("/order", "orders.new", "GET,POST"),
    ("/order/<token>", "orders.status", "GET"),
    ("/order/validate/<name>", "orders.validate_field", "POST"),
    ("/static/<path:filename>", "static", "GET"),
}


def test_route_snapshot(app):
    routes = {
        (
            rule.rule,
            rule.endpoint,
            ",".join(sorted(rule.methods - {"HEAD", "OPTIONS"})),
        )
        for rule in app.url_map.iter_rules()
    }
    assert routes == ROUTES


def test_anonymous_visitors_reach_only_public_pages(client):
    assert client.get("/").status_code == 200
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/order").status_code == 200
    assert client.get("/logout").status_code == 302
