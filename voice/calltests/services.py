"""Saved call tests: a call's tool calls kept as a test of its assistant, "run now", and the check run before
a new revision is pushed. Both runs are jobs with a progress page (integrations.jobs): a replay takes about a
tenth of a second per tool call, so an assistant's tests take seconds. See voice.calltests.replay for how."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from agencyhub.enqueue import enqueue_on_commit
from integrations.jobs import job_create, job_fail, job_finish_without_file, job_for_task, job_progress, job_start
from integrations.models import Job
from tenants.models import User
from voice.assistants.services import assistant_update
from voice.calltests import tasks
from voice.calltests.replay import TestVerdict, call_test_replay, outcome_kind, verdicts_summary
from voice.models import Assistant, Call, CallTest, CallTestStep, OutcomeKind

MAX_TESTS_PER_ASSISTANT = 20
RUN_KIND = "call_tests_run"
PUSH_CHECK_KIND = "assistant_push_check"


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


def _assistant_of(job: Job) -> Assistant | None:
    return Assistant.objects.filter(client__agency=job.agency, pk=job.params.get("assistant_pk")).first()


def _job_and_assistant(job_id: int) -> tuple[Job, Assistant] | None:
    """The running job and its assistant; None when the job is gone or done, or the assistant was deleted
    (the job then says so)."""
    job = job_for_task(job_id=job_id)
    if job is None:
        return None
    assistant = _assistant_of(job)
    if assistant is None:
        job_fail(job=job, message="the assistant no longer exists.")
        return None
    return job, assistant


def call_tests_run_start(*, assistant: Assistant, tests: list[CallTest], user: User | None, back_url: str) -> Job:
    """Run now: the tests replayed against the assistant as it is live, as a job with a progress page."""
    job = job_create(
        agency=assistant.client.agency,
        created_by=user,
        kind=RUN_KIND,
        title=f"Run the saved tests of {assistant.name}",
        params={"assistant_pk": assistant.pk, "test_pks": [test.pk for test in tests]},
        back_url=back_url,
    )
    enqueue_on_commit(tasks.call_tests_run_task, job.pk)
    return job


def call_tests_run_job(*, job_id: int) -> None:
    found = _job_and_assistant(job_id)
    if found is None:
        return
    job, assistant = found
    tests = list(assistant.call_tests.filter(pk__in=job.params.get("test_pks") or []))
    job_start(job=job, total=len(tests))
    verdicts = []
    for done, test in enumerate(tests, start=1):
        verdicts.append(call_test_replay(test=test, assistant=assistant))
        call_test_verdicts_record(verdicts=verdicts[-1:])
        job_progress(job=job, done=done)
    job_finish_without_file(job=job, message=verdicts_summary(verdicts))


def assistant_push_check_start(
    *, assistant: Assistant, author: User | None, calendars: list[dict], fields: dict
) -> Job:
    """The revision as typed, not saved yet: a job replays the saved tests against it, then saves and pushes it
    when all pass; otherwise its page shows the outcomes that differ and offers "Push anyway"."""
    job = job_create(
        agency=assistant.client.agency,
        created_by=author,
        kind=PUSH_CHECK_KIND,
        title=f"Test {assistant.name} before it goes live",
        params={"assistant_pk": assistant.pk, "calendars": calendars, "fields": fields},
    )
    job.back_url = reverse("assistant_push_check", args=[job.agency.slug, assistant.public_id, job.public_id])
    job.save(update_fields=["back_url"])
    enqueue_on_commit(tasks.assistant_push_check_task, job.pk)
    return job


def _revision_save(*, job: Job, assistant: Assistant) -> Assistant:
    params = job.params
    return assistant_update(
        assistant=assistant, author=job.created_by, calendars=params["calendars"], **params["fields"]
    )


def assistant_push_check_job(*, job_id: int) -> None:
    found = _job_and_assistant(job_id)
    if found is None:
        return
    job, assistant = found
    tests = list(assistant.call_tests.all())
    job_start(job=job, total=len(tests))
    verdicts = []
    try:
        for done, test in enumerate(tests, start=1):
            # Each replay applies the revision inside its own rolled-back transaction: progress stays visible.
            verdicts.append(
                call_test_replay(
                    test=test, assistant=assistant, revision=lambda: _revision_save(job=job, assistant=assistant)
                )
            )
            assistant.refresh_from_db()
            job_progress(job=job, done=done)
    except ValidationError as exc:
        job_fail(job=job, message="the revision is not valid: " + " ".join(exc.messages))
        return
    failing = [verdict for verdict in verdicts if not verdict.passed]
    job.params = {**job.params, "verdicts": [verdict.as_dict() for verdict in verdicts], "saved": not failing}
    job.save(update_fields=["params"])
    if failing:
        job_finish_without_file(job=job, message=verdicts_summary(verdicts) + " Not pushed: review the differences.")
        return
    # The revision goes live exactly as it was checked, so these verdicts are the tests' last result.
    call_test_verdicts_record(verdicts=verdicts)
    _revision_save(job=job, assistant=assistant)
    job_finish_without_file(job=job, message=verdicts_summary(verdicts) + " Saved; pushing to Vapi.")


def assistant_push_anyway(*, job: Job) -> Assistant:
    """Saves and pushes the revision a push check held back, once (a second confirmation changes nothing)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        assistant = _assistant_of(job)
        if assistant is None or job.params.get("saved") or "verdicts" not in job.params:
            raise ValidationError("This revision was already pushed, or its check has not finished.")
        job.params = {**job.params, "saved": True}
        job.save(update_fields=["params"])
        return _revision_save(job=job, assistant=assistant)
