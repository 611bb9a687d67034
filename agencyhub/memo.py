"""Lookups remembered for the length of one unit of work (a drained inbox batch), not across them.

A batch of fifty end-of-call reports names a handful of assistants: each was looked up fifty times, one query
each. Inside `memo_scope()` the first answer is kept (a miss too) and the rest are free; outside one, every
lookup runs. Only for reads the work itself does not change: a batch lasts well under a second, and the next
batch looks again.
"""

from collections.abc import Callable, Hashable
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")
_memo: ContextVar[dict | None] = ContextVar("memo_scope", default=None)


@contextmanager
def memo_scope():
    """Remembers memoized() answers until the block ends (a scope already open is kept)."""
    if _memo.get() is not None:
        yield
        return
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def memoized(key: Hashable, compute: Callable[[], T]) -> T:
    """compute() once per key inside memo_scope(); every time outside one."""
    memo = _memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]
