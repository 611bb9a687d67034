"""Django's PostgreSQL backend whose connections wait a bounded time (agencyhub.postgresql.patience)."""

from functools import partial
from time import monotonic

import psycopg
from django.db.backends.postgresql import base

from agencyhub.postgresql.patience import bounded_wait, given_up, note_unanswered


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        if given_up():
            raise psycopg.OperationalError("PostgreSQL did not answer earlier in this request")
        started = monotonic()
        try:
            connection = super().get_new_connection(conn_params)
        except psycopg.OperationalError:
            note_unanswered(waited=monotonic() - started)
            raise
        connection.wait = partial(bounded_wait, connection, connection.wait)
        return connection
