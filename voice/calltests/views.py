"""Agency pages of saved call tests: "Save as a test" from a call page, an assistant's tests with their last
result (run now, delete), and one test's steps with the outcome each should have."""

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from integrations.jobs import job_for_agency
from tenants.access import agency_view
from voice.assistants.selectors import assistant_for_agency
from voice.calls.selectors import call_for_agency
from voice.calls.transcripts import tool_words
from voice.calltests import selectors, services
from voice.calltests.forms import CallTestForm
from voice.calltests.replay import outcome_kind
from voice.models import OutcomeKind


def _arguments(arguments) -> str:
    if isinstance(arguments, dict):
        return ", ".join(f"{key}: {value}" for key, value in arguments.items())
    return json.dumps(arguments)[:300]


@agency_view()
def call_test_create(request, call_id):
    """ "Save as a test": the call's tool calls, each expecting what it got unless staff choose otherwise."""
    call = call_for_agency(agency=request.agency, public_id=call_id)
    records = list(call.tool_calls.order_by("created_at", "pk"))
    steps = [
        {
            "position": position,
            "title": tool_words(record.name),
            "arguments": _arguments(record.arguments),
            "heard": record.error or record.result,
            "expected": outcome_kind(result=record.result, error=record.error, details=record.details),
        }
        for position, record in enumerate(records)
    ]
    initial = {"name": f"Call with {call.caller_number or 'unknown caller'}"}
    form = CallTestForm(request.POST or None, steps=steps, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            test = services.call_test_save(
                call=call, name=form.cleaned_data["name"], author=request.user, expected=form.expected()
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Saved “{test.name}”: it runs before every push of {test.assistant.name}.")
            return redirect("call_test_list", agency_slug=request.agency.slug, assistant_id=test.assistant.public_id)
    return render(request, "voice/calltests/call_test_form.html", {"call": call, "form": form, "test": None})


@agency_view()
def call_test_list(request, assistant_id):
    assistant = assistant_for_agency(agency=request.agency, public_id=assistant_id)
    tests = selectors.call_tests_for_assistant(assistant=assistant)
    return render(request, "voice/calltests/call_test_list.html", {"assistant": assistant, "tests": tests})


def _run_started(request, *, assistant, tests, back_url):
    job = services.call_tests_run_start(assistant=assistant, tests=tests, user=request.user, back_url=back_url)
    return redirect("job_detail", agency_slug=request.agency.slug, job_id=job.public_id)


@agency_view()
@require_POST
def call_tests_run(request, assistant_id):
    """Run now: every test of the assistant replayed against the sandbox with the assistant as it is (a job)."""
    assistant = assistant_for_agency(agency=request.agency, public_id=assistant_id)
    back_url = reverse("call_test_list", args=[request.agency.slug, assistant.public_id])
    return _run_started(request, assistant=assistant, tests=list(assistant.call_tests.all()), back_url=back_url)


@agency_view()
def call_test_detail(request, test_id):
    """One test: its steps, the outcome each should have (editable) and what the last run got."""
    test = selectors.call_test_for_agency(agency=request.agency, public_id=test_id)
    last = {i: entry for i, entry in enumerate(test.last_result or [])}
    steps = [
        {
            "position": step.position,
            "title": tool_words(step.tool_name),
            "arguments": _arguments(step.arguments),
            "heard": step.heard,
            "expected": step.expected_kind,
            "heard_kind": step.get_heard_kind_display(),
            "last": last.get(step.position),
            "last_got": OutcomeKind(last[step.position]["got"]).label if step.position in last else "",
        }
        for step in test.steps.all()
    ]
    form = CallTestForm(request.POST or None, steps=steps, initial={"name": test.name})
    if request.method == "POST" and form.is_valid():
        try:
            services.call_test_update(test=test, name=form.cleaned_data["name"], expected=form.expected())
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Saved the expected outcomes.")
            return redirect("call_test_detail", agency_slug=request.agency.slug, test_id=test.public_id)
    context = {"call": test.source_call, "form": form, "test": test}
    return render(request, "voice/calltests/call_test_form.html", context)


@agency_view()
@require_POST
def call_test_run(request, test_id):
    test = selectors.call_test_for_agency(agency=request.agency, public_id=test_id)
    back_url = reverse("call_test_detail", args=[request.agency.slug, test.public_id])
    return _run_started(request, assistant=test.assistant, tests=[test], back_url=back_url)


@agency_view()
@require_POST
def call_test_delete(request, test_id):
    test = selectors.call_test_for_agency(agency=request.agency, public_id=test_id)
    services.call_test_delete(test=test)
    messages.success(request, f"Deleted “{test.name}”.")
    return redirect("call_test_list", agency_slug=request.agency.slug, assistant_id=test.assistant.public_id)


@agency_view()
def assistant_push_check(request, assistant_id, check_id):
    """A push check's outcome: the outcomes that differ, expected vs got per step, and "Push anyway" (POST)."""
    assistant = assistant_for_agency(agency=request.agency, public_id=assistant_id)
    job = job_for_agency(agency=request.agency, public_id=check_id)
    if job.kind != services.PUSH_CHECK_KIND or job.params.get("assistant_pk") != assistant.pk:
        raise Http404("No such push check.")
    if "verdicts" not in job.params:  # still running, or failed: its progress page says which
        return redirect("job_detail", agency_slug=request.agency.slug, job_id=job.public_id)
    if request.method == "POST":
        try:
            services.assistant_push_anyway(job=job)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Saved {assistant.name} despite the failing tests; pushing to Vapi.")
        return redirect("assistant_detail", agency_slug=request.agency.slug, assistant_id=assistant.public_id)
    verdicts = job.params["verdicts"]
    context = {
        "assistant": assistant,
        "job": job,
        "verdicts": verdicts,
        "failing": [verdict for verdict in verdicts if not verdict["passed"]],
        "saved": job.params.get("saved"),
    }
    return render(request, "voice/calltests/push_check.html", context)
