"""Replaying a saved call test: voice.simulator's replay (the real endpoint, the GHL sandbox rewound to the call's
moment, the clock fixed at each step), isolated so nothing of it outlives it, and the verdict per step.

A replay writes like a real call (the call, its records, bookings, sandbox appointments); it runs inside a
transaction that is rolled back and with a cache of its own, so nothing of it lasts: not the proposed revision
it tested, not a rewound sandbox's slots. No network is used inside that transaction: the GHL client of a
replay is the in-process sandbox transport (replays run in sandbox mode only).
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction

from voice.live.explanations import OFFERED
from voice.models import Assistant, CallTest, OutcomeKind
from voice.simulator.conversation import SimulationError
from voice.simulator.services import ReplayStep, tool_calls_replay

ACTIONS = {"booked": OutcomeKind.BOOKED, "rescheduled": OutcomeKind.RESCHEDULED, "cancelled": OutcomeKind.CANCELLED}

_replaying: ContextVar[bool] = ContextVar("call_test_replaying", default=False)


def outcome_kind(*, result: str, error: str, details: dict) -> OutcomeKind:
    """What one tool call came to, read from what the tool noted (voice.live.explanations) and its answer."""
    details = details if isinstance(details, dict) else {}
    if details.get("kind") == "booking":
        return ACTIONS.get(details.get("action"), OutcomeKind.REFUSED)
    if details.get("kind") == "availability":
        days = details.get("days") or []
        offered = any(slot.get("reason") == OFFERED for day in days for slot in day.get("slots") or [])
        return OutcomeKind.OFFERED if offered else OutcomeKind.NO_TIMES
    if error:
        return OutcomeKind.ERROR
    return OutcomeKind.ANSWERED


def replay_in_progress() -> bool:
    return _replaying.get()


@contextmanager
def replay_isolated() -> Iterator[None]:
    """Everything inside is rolled back, and reads and writes a cache of its own: live calls never see a
    proposed revision's setup nor slots from a rewound sandbox. Nests (each level rolls back its own)."""
    live_cache = caches[DEFAULT_CACHE_ALIAS]
    own_cache = LocMemCache(f"call-test-replay-{threading.get_ident()}", {})
    own_cache.clear()
    caches[DEFAULT_CACHE_ALIAS] = own_cache
    token = _replaying.set(True)
    try:
        with transaction.atomic():
            yield
            transaction.set_rollback(True)
    finally:
        _replaying.reset(token)
        caches[DEFAULT_CACHE_ALIAS] = live_cache
        own_cache.clear()


@dataclass(frozen=True)
class StepVerdict:
    position: int
    tool_name: str
    expected: OutcomeKind
    got: OutcomeKind
    heard_then: str
    heard_now: str

    @property
    def passed(self) -> bool:
        return self.expected == self.got


@dataclass(frozen=True)
class TestVerdict:
    """One test's replay: each step's expected and got outcome, or why it could not run."""

    test: CallTest
    steps: list[StepVerdict] = field(default_factory=list)
    error: str = ""

    @property
    def passed(self) -> bool:
        return not self.error and all(step.passed for step in self.steps)

    def as_dict(self) -> dict:
        """Kept with a push check's job: what its page shows once the check has finished."""
        return {
            "test": str(self.test.public_id),
            "name": self.test.name,
            "error": self.error,
            "passed": self.passed,
            "steps": [
                {
                    "position": s.position,
                    "tool_name": s.tool_name,
                    "expected": s.expected.label,
                    "got": s.got.label,
                    "passed": s.passed,
                    "heard_then": s.heard_then[:500],
                    "heard_now": s.heard_now[:500],
                }
                for s in self.steps
            ],
        }


def verdicts_summary(verdicts: list[TestVerdict]) -> str:
    failing = [v for v in verdicts if not v.passed]
    plural = "s" if len(verdicts) != 1 else ""
    if not failing:
        return f"All {len(verdicts)} test{plural} passed."
    return f"{len(failing)} of {len(verdicts)} test{plural} failed: " + ", ".join(v.test.name for v in failing) + "."


def call_test_replay(
    *, test: CallTest, assistant: Assistant | None = None, revision: Callable[[], object] | None = None
) -> TestVerdict:
    """Replays one test against the assistant as the database holds it, or as `revision` makes it (a proposed
    revision applied inside the replay, so rolled back with it)."""
    steps = list(test.steps.all())
    try:
        with replay_isolated():
            if revision is not None:
                revision()
            replayed = tool_calls_replay(
                assistant=assistant or test.assistant,
                caller_number=test.caller_number,
                steps=[ReplayStep(name=s.tool_name, arguments=s.arguments, asked_at=s.asked_at) for s in steps],
            )
    except SimulationError as exc:
        return TestVerdict(test=test, error=str(exc))
    verdicts = [
        StepVerdict(
            position=step.position,
            tool_name=step.tool_name,
            expected=OutcomeKind(step.expected_kind),
            got=outcome_kind(result=now.result, error=now.error, details=now.details),
            heard_then=step.heard,
            heard_now=now.error or now.result,
        )
        for step, now in zip(steps, replayed, strict=True)
    ]
    return TestVerdict(test=test, steps=verdicts)
