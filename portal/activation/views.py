from portal.activation import bp  # noqa: F401
