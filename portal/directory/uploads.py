"""Uploaded directory files kept between the preview and "Importera".

The file waits in Redis (shared by every web process) for an hour under a random
token, bound to the admin who uploaded it; taking it removes it, so an import runs once.
"""

import json
import secrets

from portal.queue import redis_connection

KEEP_SECONDS = 3600


def _key(token, person):
    return f"directory-upload:{person.organisation_id}:{person.id}:{token}"


def keep(content: bytes, person, *, full: bool) -> str:
    token = secrets.token_urlsafe(24)
    settings = json.dumps({"full": full})
    redis = redis_connection()
    with redis.pipeline() as pipe:
        pipe.hset(_key(token, person), mapping={"content": content, "settings": settings})
        pipe.expire(_key(token, person), KEEP_SECONDS)
        pipe.execute()
    return token


def take(token: str, person):
    """(content, full) for `person`'s upload under `token`, once; else None."""
    redis = redis_connection()
    with redis.pipeline() as pipe:  # MULTI: read and delete as one step
        pipe.hgetall(_key(token, person))
        pipe.delete(_key(token, person))
        stored, _deleted = pipe.execute()
    if not stored:
        return None
    return stored[b"content"], json.loads(stored[b"settings"])["full"]
