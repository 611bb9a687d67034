"""Saved call tests: a call's tool calls kept as a test of its assistant, replayed against the GHL sandbox
(voice.simulator's replay, through the real endpoint), and the check run before a new revision is pushed.

A replay writes like a real call (the call, its records, bookings, sandbox appointments); it runs inside a
transaction that is rolled back and with a cache of its own, so nothing of it outlives the replay: not the
proposed revision it tested, not a rewound sandbox's slots. No network is used inside that transaction: the
GHL client of a replay is the in-process sandbox transport.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tenants.models import User
from voice.assistants.services import assistant_update
from voice.live.explanations import OFFERED
from voice.models import Assistant, Call, CallTest, CallTestStep, OutcomeKind
from voice.simulator.conversation import SimulationError
from voice.simulator.services import ReplayStep, tool_calls_replay

# Each test replays in well under a second (in-process endpoint and sandbox); this keeps a push check short.
MAX_TESTS_PER_ASSISTANT = 20
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


@transaction.atomic
def call_test_save(*, call: Call, name: str, author: User | None, expected: dict[int, str] | None = None) -> CallTest:
    """The call's tool calls as a test of its assistant; each step expects what the call got unless
    `expected` (position -> OutcomeKind) says otherwise."""
    if call.assistant is None:
        raise ValidationError("This call has no assistant to test.")
    records = list(call.tool_calls.order_by("created_at", "pk"))
    if not records:
        raise ValidationError("The assistant used no tool on this call: there is nothing to replay.")
    if CallTest.objects.filter(assistant=call.assistant).count() >= MAX_TESTS_PER_ASSISTANT:
        raise ValidationError(f"{call.assistant.name} already has {MAX_TESTS_PER_ASSISTANT} tests: delete one first.")
    test = CallTest.objects.create(
        assistant=call.assistant,
        source_call=call,
        name=name.strip()[:120] or f"Call with {call.caller_number or 'unknown caller'}",
        caller_number=call.caller_number,
        created_by=author,
    )
    steps = []
    for position, record in enumerate(records):
        heard_kind = outcome_kind(result=record.result, error=record.error, details=record.details)
        wanted = (expected or {}).get(position) or heard_kind
        if wanted not in OutcomeKind.values:
            raise ValidationError(f"Step {position + 1}: choose one of the listed outcomes.")
        steps.append(
            CallTestStep(
                test=test,
                position=position,
                tool_name=record.name,
                arguments=record.arguments,
                asked_at=record.created_at,
                heard=record.error or record.result,
                heard_kind=heard_kind,
                expected_kind=wanted,
            )
        )
    CallTestStep.objects.bulk_create(steps)
    return test


@transaction.atomic
def call_test_update(*, test: CallTest, name: str, expected: dict[int, str]) -> CallTest:
    """Renames the test and sets the outcome each step should have."""
    test.name = name.strip()[:120] or test.name
    test.save(update_fields=["name"])
    for step in test.steps.all():
        wanted = expected.get(step.position, step.expected_kind)
        if wanted not in OutcomeKind.values:
            raise ValidationError(f"Step {step.position + 1}: choose one of the listed outcomes.")
        if wanted != step.expected_kind:
            step.expected_kind = wanted
            step.save(update_fields=["expected_kind"])
    return test


def call_test_delete(*, test: CallTest) -> None:
    test.delete()


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


def call_test_replay(*, test: CallTest, assistant: Assistant | None = None) -> TestVerdict:
    """Replays one test against the assistant as the database holds it now (rolled back afterwards)."""
    steps = list(test.steps.all())
    try:
        with replay_isolated():
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


def call_tests_replay(*, assistant: Assistant) -> list[TestVerdict]:
    return [call_test_replay(test=test, assistant=assistant) for test in assistant.call_tests.all()]


def call_test_verdicts_record(*, verdicts: list[TestVerdict]) -> None:
    """Keeps each test's last verdict for its list: when, passed or not, and the per-step outcomes."""
    now = timezone.now()
    for verdict in verdicts:
        test = verdict.test
        test.last_run_at, test.last_passed, test.last_error = now, verdict.passed, verdict.error
        test.last_result = [
            {"expected": s.expected.value, "got": s.got.value, "heard": s.heard_now[:500]} for s in verdict.steps
        ]
        test.save(update_fields=["last_run_at", "last_passed", "last_error", "last_result"])


def call_tests_run(*, assistant: Assistant, tests: list[CallTest] | None = None) -> list[TestVerdict]:
    """ "Run now": the tests replayed against the assistant as it is live, their verdicts kept."""
    verdicts = [call_test_replay(test=test, assistant=assistant) for test in tests or assistant.call_tests.all()]
    call_test_verdicts_record(verdicts=verdicts)
    return verdicts


def assistant_revision_check(
    *, assistant: Assistant, author: User | None, calendars: list[dict], fields: dict
) -> list[TestVerdict]:
    """The assistant's saved tests replayed against the revision about to be pushed. The revision is saved
    only inside the replay's rolled-back transaction: nothing goes live and nothing is pushed here.
    Verdicts are kept only when all pass (that revision then goes live as checked)."""
    if not assistant.call_tests.exists():
        return []
    with replay_isolated():
        assistant_update(assistant=assistant, author=author, calendars=calendars, **fields)
        verdicts = call_tests_replay(assistant=assistant)
    assistant.refresh_from_db()
    if all(verdict.passed for verdict in verdicts):
        call_test_verdicts_record(verdicts=verdicts)
    return verdicts
