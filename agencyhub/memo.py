"""Lookups remembered for the length of one unit of work (a drained inbox batch), not across them.

A batch of fifty end-of-call reports names a handful of assistants: each was looked up fifty times, one query
each. Inside `memo_scope()` the first answer is kept (a miss too) and the rest are free; outside one, every
lookup runs. Only for reads the work itself does not change: a batch lasts well under a second, and the next
batch looks again. `memo_enter` keeps something open for the scope the same way (one GHL client per client of
a batch), closed when the scope ends.
"""

from collections.abc import Callable, Hashable
from contextlib import AbstractContextManager, ExitStack, contextmanager
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
        with ExitStack() as opened:
            _memo.get()[_OPENED] = opened
            yield
    finally:
        _memo.reset(token)


_OPENED = object()  # the scope's ExitStack, a key no caller can name


def memo_active() -> bool:
    return _memo.get() is not None


def memoized(key: Hashable, compute: Callable[[], T]) -> T:
    """compute() once per key inside memo_scope(); every time outside one."""
    memo = _memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def memo_enter(key: Hashable, open_: Callable[[], AbstractContextManager[T]]) -> T:
    """open_() entered once per key inside memo_scope() and exited when the scope ends (a failure to enter is
    not kept: the next call tries again). Only inside a scope: outside one nothing would close it."""
    memo = _memo.get()
    if memo is None:
        raise RuntimeError("memo_enter needs a memo_scope() to close what it opens")
    key = ("memo_enter", key)
    if key not in memo:
        memo[key] = memo[_OPENED].enter_context(open_())
    return memo[key]
