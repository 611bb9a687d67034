"""PostgreSQL through psycopg 3 with bounded waits (ENGINE "agencyhub.postgresql"): a database that stops
answering without closing the connection (dropped packets, a hung server) fails the query in seconds, the way an
unreachable one does, instead of holding the request until gunicorn kills the worker."""

from agencyhub.postgresql.patience import database_patience

__all__ = ["database_patience"]
