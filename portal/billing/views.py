from portal.billing import bp  # noqa: F401
