"""How long one wait on PostgreSQL may last: `DATABASE_QUERY_TIMEOUT` everywhere, shorter inside
`database_patience` (the live path, where a caller is waiting)."""

import contextvars
from contextlib import contextmanager
from dataclasses import dataclass
from time import monotonic

import psycopg
from django.conf import settings


@dataclass
class _Patience:
    seconds: float
    # Set once the database failed to answer in this scope: later queries fail at once instead of waiting again.
    gave_up: bool = False


_patience: contextvars.ContextVar[_Patience | None] = contextvars.ContextVar("database_patience", default=None)


@contextmanager
def database_patience(seconds: float):
    """Inside, one wait on PostgreSQL lasts at most `seconds` (a connection attempt at most its connect_timeout),
    and once the database has failed to answer, every later query fails at once: the caller's outage path
    (cache, spool, an apology) answers within its budget."""
    token = _patience.set(_Patience(seconds=seconds) if seconds > 0 else None)
    try:
        yield
    finally:
        _patience.reset(token)


def given_up() -> bool:
    patience = _patience.get()
    return patience is not None and patience.gave_up


def note_unanswered(*, waited: float) -> None:
    """After a wait that cost the whole patience; an error that came at once (a reset connection, a refused
    connect) leaves the next attempt free to reconnect."""
    patience = _patience.get()
    if patience is not None and waited >= patience.seconds:
        patience.gave_up = True


def bounded_wait(connection: psycopg.Connection, wait, gen, *args, timeout: float | None = None, **kwargs):
    """psycopg's Connection.wait (every query, fetch, commit and health check goes through it) with a limit."""
    if given_up():
        gen.close()  # never started: nothing was sent
        raise psycopg.OperationalError("PostgreSQL did not answer earlier in this request")
    patience = _patience.get()
    limit = patience.seconds if patience is not None else settings.DATABASE_QUERY_TIMEOUT
    if timeout is None and limit:
        timeout = limit
    started = monotonic()
    try:
        return wait(gen, *args, timeout=timeout, **kwargs)
    except psycopg.OperationalError as exc:
        note_unanswered(waited=monotonic() - started)
        if timeout is None or monotonic() - started < timeout:
            raise
        # The answer never came: the connection is in an unknown state, so it is closed (psycopg does the same
        # when a cancelled query does not end) and replaced on the next request.
        connection.pgconn.finish()
        raise psycopg.OperationalError(f"PostgreSQL did not answer within {timeout:g} s") from exc
