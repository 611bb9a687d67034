"""A PostgreSQL connection kept between requests, as Django keeps it (CONN_MAX_AGE), and the server dropping it."""

import psycopg
from django.conf import settings
from django.db import connection


def next_request():
    """What Django does to a connection kept between requests: health-check it before its next use."""
    connection.health_check_done = False


def server_drops_the_connection():
    """The server ends this connection's backend (a restart or failover would): the client learns on its next use."""
    pid = connection.connection.info.backend_pid
    url = settings.DATABASES["default"]
    with psycopg.connect(
        host=url["HOST"], port=url["PORT"] or 5432, user=url["USER"], dbname=url["NAME"], autocommit=True
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
