"""Values sent as parameters beside the statement (server-side binding) where they are large: Django's PostgreSQL
cursors bind on the client, escaping every value into the SQL text, which PostgreSQL then parses back, a call's
transcript and messages included."""

from contextlib import contextmanager

from django.core.exceptions import ImproperlyConfigured

try:
    from django.db.backends.postgresql.base import ServerBindingCursor
except (ImportError, ImproperlyConfigured):  # no psycopg: never PostgreSQL
    ServerBindingCursor = None


def bound_cursor(connection):
    """A cursor whose values travel as parameters beside the statement (server-side binding) on PostgreSQL.

    Django's cursors bind on the client: every value is escaped and spliced into the SQL text, which PostgreSQL
    then parses back, a whole JSON body included. Bound on the server, a webhook's ~5 KB body goes as it is, and
    its INSERT costs less on both sides (#12: ~0.03 ms in the web process, ~0.05 ms in the backend). For INSERTs
    whose every value has its column's type (agencyhub.postgresql.health inserted_row)."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = ServerBindingCursor(connection.connection)
    # Wrapped as Django wraps its own (errors as Django's, logged where queries are).
    return connection.make_debug_cursor(cursor) if connection.queries_logged else connection.make_cursor(cursor)


@contextmanager
def server_binding(connection):
    """Inside, every query on `connection` binds its values on the server (bound_cursor's way), e.g. a bulk INSERT
    of calls, whose text Django would otherwise escape value by value and PostgreSQL parse back (#12). Only around
    statements whose every value has its column's type (INSERTs, plain filters): the rest of the app keeps Django's
    default, under which a parameter's type never has to be inferred."""
    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    default, raw.cursor_factory = raw.cursor_factory, ServerBindingCursor
    try:
        yield
    finally:
        raw.cursor_factory = default
