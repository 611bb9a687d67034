"""The time the live tools and the GHL sandbox go by: now, or a fixed moment while a saved call is replayed.

A replayed call test asks "what would the assistant answer at the moment the caller asked?": with the clock
fixed there, the same arguments give the same slots whatever day the replay runs. The fixed moment is a
context variable, so it holds for the replaying thread only, never for live calls served alongside.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from django.utils import timezone

_fixed: ContextVar[datetime | None] = ContextVar("clock_fixed", default=None)


def clock_now() -> datetime:
    return _fixed.get() or timezone.now()


@contextmanager
def clock_fixed_at(moment: datetime) -> Iterator[None]:
    token = _fixed.set(moment)
    try:
        yield
    finally:
        _fixed.reset(token)
