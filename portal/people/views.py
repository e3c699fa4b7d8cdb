from portal.people import bp  # noqa: F401
