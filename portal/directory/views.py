from portal.directory import bp  # noqa: F401
