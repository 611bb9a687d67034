"""A write that is its own connection health check: one round trip instead of Django's `SELECT 1` and the write."""

import logging

from django.db import InterfaceError, OperationalError

from agencyhub.postgresql.binding import bound_cursor

logger = logging.getLogger(__name__)


def inserted_row(connection, sql: str, values: list, *, what: str = "the row"):
    """Runs an idempotent INSERT ... RETURNING (a repeat finds the row, ON CONFLICT) with the INSERT itself as
    the connection's health check; returns its row (None when it inserted nothing).

    Django checks a connection kept from an earlier request with a `SELECT 1` before its first query
    (CONN_HEALTH_CHECKS): one more round trip to PostgreSQL for every such write. Here a connection the server
    dropped since (a restart, a failover) fails the INSERT instead, and the INSERT runs once more on a new
    connection, so such a connection is still replaced at once and the row still written. Repeating is safe:
    ON CONFLICT, and a first attempt that did commit leaves the second finding the row (a duplicate).
    Only a connection found broken, unchecked and outside a transaction is retried: a database that does not
    answer fails as before, within one wait (database_patience gives up on the second attempt at once), and a
    failure on a connection already used in this request surfaces."""
    unchecked = (
        connection.connection is not None
        and connection.health_check_enabled
        and not connection.health_check_done
        and not connection.in_atomic_block
    )
    if unchecked:
        connection.health_check_done = True
    try:
        return _row_of(connection, sql, values)
    except (OperationalError, InterfaceError):
        if not (unchecked and (connection.connection is None or connection.connection.broken)):
            raise
    logger.warning("Database connection dropped since the last request: writing %s on a new one", what)
    connection.close()
    return _row_of(connection, sql, values)


def _row_of(connection, sql: str, values: list):
    with bound_cursor(connection) as cursor:
        cursor.execute(sql, values)
        return cursor.fetchone()
