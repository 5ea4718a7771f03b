"""The demo settings as a production site would run them.

Django logs every 401 and 403 as a warning; on the anonymous and checksum runs
that would put a log write into each request and skew the comparison, so only
errors are logged. Database connections persist between requests (the demo
already does this for PostgreSQL), as they would in production; the session
and token runs both use the database, so neither is favoured.
"""

from __future__ import annotations

from config.settings import *  # noqa: F403
from config.settings import DATABASES

DATABASES["default"]["CONN_MAX_AGE"] = 60

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "ERROR"},
    "loggers": {"django": {"level": "ERROR"}},
}
