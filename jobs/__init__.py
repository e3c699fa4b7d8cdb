"""RQ job functions and the worker entry. Jobs take ids, never ORM objects."""
