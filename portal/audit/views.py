from portal.audit import bp  # noqa: F401
