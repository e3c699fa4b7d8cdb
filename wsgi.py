from portal import create_app, logs

app = create_app()
# gunicorn's own error and access logs do not go through the root logger.
logs.mask_loggers("gunicorn.error", "gunicorn.access")
