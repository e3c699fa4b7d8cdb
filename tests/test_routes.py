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
    ("/admin/orders", "activation.queue", "GET"),
    ("/admin/orders/<int:order_id>", "activation.order", "GET"),
    ("/admin/orders/<int:order_id>/approve", "activation.approve", "GET,POST"),
    ("/admin/orders/<int:order_id>/reject", "activation.reject", "GET,POST"),
    ("/admin/organisations", "activation.organisations", "GET"),
    ("/admin/organisations/<int:organisation_id>", "activation.organisation", "GET"),
    (
        "/admin/organisations/<int:organisation_id>/deactivate",
        "activation.deactivate",
        "GET,POST",
    ),
    ("/admin/organisations/<int:organisation_id>/activate", "activation.activate", "GET,POST"),
    ("/billing", "billing.overview", "GET"),
    ("/billing/deactivate", "billing.deactivate", "GET,POST"),
    ("/admin/price", "billing.price", "GET,POST"),
    ("/admin/invoices", "billing.invoices", "GET"),
    ("/admin/invoices.csv", "billing.invoices_csv", "GET"),
    ("/admin/invoices/<int:invoice_id>", "billing.operator_invoice", "GET"),
    ("/billing/invoices/<int:invoice_id>", "billing.invoice", "GET"),
    ("/admin/audit", "audit.log", "GET"),
    ("/admin/operations", "operations.page", "GET"),
    ("/admin/operations/failed/<job_id>/retry", "operations.retry", "POST"),
    ("/directory/import", "directory.import_page", "GET,POST"),
    ("/directory/import/apply", "directory.apply", "POST"),
    ("/om-sms-portalen", "people.about", "GET,POST"),
    ("/profile", "people.profile", "GET,POST"),
    ("/people/invite", "people.invite_list", "GET"),
    ("/people/<int:person_id>/invite", "people.invite", "POST"),
    ("/people", "people.people_list", "GET"),
    ("/people/<int:person_id>/erase", "people.erase", "GET,POST"),
    ("/set-password/<token>", "people.set_password", "GET,POST"),
    ("/messages", "messaging.index", "GET"),
    ("/messages/new", "messaging.new", "GET,POST"),
    ("/messages/counter", "messaging.counter", "POST"),
    ("/messages/review", "messaging.review_page", "POST"),
    ("/messages/send", "messaging.send", "POST"),
    ("/messages/<int:message_id>", "messaging.show", "GET"),
    ("/hooks/46elks/delivery", "hooks.elks_delivery", "POST"),
    ("/messages/<int:message_id>/progress", "messaging.progress_panel", "GET"),
    ("/messages/<int:message_id>/cancel", "messaging.cancel", "POST"),
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
