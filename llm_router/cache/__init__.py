"""The response cache: exact-match answers per tenant, in process or on Redis (see ``cache.py``)."""
