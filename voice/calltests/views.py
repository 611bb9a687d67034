"""Agency pages of saved call tests: "Save as a test" from a call page, an assistant's tests with their last
result (run now, delete), and one test's steps with the outcome each should have."""

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tenants.access import agency_view
from voice.assistants.selectors import assistant_for_agency
from voice.calls.selectors import call_for_agency
from voice.calls.transcripts import tool_words
from voice.calltests import selectors, services
from voice.calltests.forms import CallTestForm
from voice.models import OutcomeKind


def _arguments(arguments) -> str:
    if isinstance(arguments, dict):
        return ", ".join(f"{key}: {value}" for key, value in arguments.items())
    return json.dumps(arguments)[:300]


def _summary(verdicts) -> str:
    failing = [v for v in verdicts if not v.passed]
    if not failing:
        return f"All {len(verdicts)} test{'s' if len(verdicts) != 1 else ''} passed."
    return f"{len(failing)} of {len(verdicts)} test{'s' if len(verdicts) != 1 else ''} failed: " + ", ".join(
        v.test.name for v in failing
    )


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
            "expected": services.outcome_kind(result=record.result, error=record.error, details=record.details),
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


@agency_view()
@require_POST
def call_tests_run(request, assistant_id):
    """Run now: every test of the assistant replayed against the sandbox with the assistant as it is."""
    assistant = assistant_for_agency(agency=request.agency, public_id=assistant_id)
    verdicts = services.call_tests_run(assistant=assistant)
    if verdicts:
        (messages.success if all(v.passed for v in verdicts) else messages.warning)(request, _summary(verdicts))
    return redirect("call_test_list", agency_slug=request.agency.slug, assistant_id=assistant.public_id)


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
    verdicts = services.call_tests_run(assistant=test.assistant, tests=[test])
    (messages.success if verdicts[0].passed else messages.warning)(request, _summary(verdicts))
    return redirect("call_test_detail", agency_slug=request.agency.slug, test_id=test.public_id)


@agency_view()
@require_POST
def call_test_delete(request, test_id):
    test = selectors.call_test_for_agency(agency=request.agency, public_id=test_id)
    services.call_test_delete(test=test)
    messages.success(request, f"Deleted “{test.name}”.")
    return redirect("call_test_list", agency_slug=request.agency.slug, assistant_id=test.assistant.public_id)
