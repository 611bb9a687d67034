from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from agencyhub.enqueue import enqueue_on_commit
from integrations.ghl.errors import GhlNotConnectedError
from integrations.ghl.selectors import ghl_location_for_client
from integrations.http import ProviderError
from integrations.jobs import job_create
from tenants.access import agency_view
from tenants.forms import form_errors_from
from tenants.selectors import client_for_agency, client_list
from voice.assistants import selectors, services, tasks
from voice.assistants.defaults import new_assistant_defaults
from voice.assistants.forms import AssistantForm
from voice.assistants.payload import assistant_prompt_render
from voice.calltests.services import assistant_push_check_start
from voice.live.caller import CALL_START_VARIABLES
from voice.simulator.services import scenario_choices


def _calendars_for_form(request, *, client, assistant=None) -> tuple[list[dict], dict]:
    """The client's GHL calendars plus any the assistant already uses, so an outage never drops one; and what
    the form's calendars section says when the client's GHL connection cannot be asked (none, or a reconnect)."""
    unreachable = {}
    try:
        calendars = selectors.client_calendars(client=client)
    except GhlNotConnectedError:
        calendars = []
        unreachable = {"ghl_unreachable": True, "ghl_location": ghl_location_for_client(client_id=client.pk)}
    except ProviderError as exc:
        messages.warning(request, f"GoHighLevel calendars could not be loaded: {exc}")
        calendars = []
    if assistant is not None:
        known = {c["id"] for c in calendars}
        calendars += [
            {"id": c.calendar_id, "name": c.calendar_name}
            for c in assistant.calendars.all()
            if c.calendar_id not in known
        ]
    return calendars, unreachable


@agency_view()
def assistant_list(request):
    assistants = selectors.assistant_list(agency=request.agency)
    clients = client_list(agency=request.agency)
    return render(request, "voice/assistant_list.html", {"assistants": assistants, "clients": clients})


@agency_view()
@require_POST
def assistants_push_all(request):
    """The bulk action of the Assistants page: every assistant pushed again, as a job with a progress page."""
    job = job_create(
        agency=request.agency,
        created_by=request.user,
        kind="assistants_push",
        title="Push every assistant to Vapi",
        params={},
        back_url=reverse("assistant_list", args=[request.agency.slug]),
    )
    enqueue_on_commit(tasks.assistants_push_task, job.pk)
    return redirect("job_detail", agency_slug=request.agency.slug, job_id=job.public_id)


@agency_view()
def assistant_create(request, client_id):
    client = client_for_agency(agency=request.agency, public_id=client_id)
    calendars, ghl_unreachable = _calendars_for_form(request, client=client)
    initial = AssistantForm.initial_for_new(new_assistant_defaults(client=client))
    form = AssistantForm(request.POST or None, calendars=calendars, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            assistant = services.assistant_create(
                client=client, author=request.user, calendars=form.calendar_choices(), **form.assistant_fields()
            )
        except ValidationError as exc:
            form_errors_from(exc, form)
        else:
            messages.success(request, f"{assistant.name} was saved and is being pushed to Vapi.")
            return redirect("assistant_detail", agency_slug=request.agency.slug, assistant_id=assistant.public_id)
    context = {
        "form": form,
        "client": client,
        "assistant": None,
        "call_variables": CALL_START_VARIABLES,
        **ghl_unreachable,
    }
    return render(request, "voice/assistant_form.html", context)


@agency_view()
def assistant_update(request, assistant_id):
    assistant = selectors.assistant_for_agency(agency=request.agency, public_id=assistant_id)
    calendars, ghl_unreachable = _calendars_for_form(request, client=assistant.client, assistant=assistant)
    form = AssistantForm(request.POST or None, calendars=calendars, assistant=assistant)
    if request.method == "POST" and form.is_valid():
        try:
            checking = _push_check_start(
                request, assistant=assistant, calendars=form.calendar_choices(), fields=form.assistant_fields()
            )
            if checking is not None:
                return checking
            services.assistant_update(
                assistant=assistant, author=request.user, calendars=form.calendar_choices(), **form.assistant_fields()
            )
        except ValidationError as exc:
            form_errors_from(exc, form)
        else:
            messages.success(request, "Saved. The assistant is being pushed to Vapi.")
            return redirect("assistant_detail", agency_slug=request.agency.slug, assistant_id=assistant.public_id)
    context = {
        "form": form,
        "client": assistant.client,
        "assistant": assistant,
        "call_variables": CALL_START_VARIABLES,
        **ghl_unreachable,
    }
    return render(request, "voice/assistant_form.html", context)


def _push_check_start(request, *, assistant, calendars: list[dict], fields: dict):
    """With saved call tests, a new revision is not saved at once: a job replays the tests against it first
    (saving and pushing it when all pass); its progress page, or None to save and push as before."""
    if not assistant.call_tests.exists():
        return None
    if not settings.SANDBOX:
        messages.warning(
            request, "The saved tests were not run: they replay against the GoHighLevel sandbox, off here."
        )
        return None
    job = assistant_push_check_start(assistant=assistant, author=request.user, calendars=calendars, fields=fields)
    return redirect("job_detail", agency_slug=request.agency.slug, job_id=job.public_id)


@agency_view()
def assistant_detail(request, assistant_id):
    assistant = selectors.assistant_for_agency(agency=request.agency, public_id=assistant_id)
    context = {
        "assistant": assistant,
        "revisions": assistant.revisions.select_related("author")[:20],
        "first_revision_id": assistant.revisions.order_by("created_at", "id").values_list("id", flat=True).first(),
        "rendered_prompt": assistant_prompt_render(assistant=assistant),
        "phone_numbers": assistant.phone_numbers.all(),
        "simulator_scenarios": scenario_choices(),
        "call_test_count": assistant.call_tests.count(),
    }
    template = "voice/assistant_sync_status.html" if request.htmx else "voice/assistant_detail.html"
    return render(request, template, context)


@agency_view()
def assistant_prompt_preview(request, assistant_id):
    """htmx: the prompt as the assistant will read it; POST previews what is typed in the form."""
    assistant = selectors.assistant_for_agency(agency=request.agency, public_id=assistant_id)
    prompt = request.POST.get("system_prompt") if request.method == "POST" else None
    rendered = assistant_prompt_render(assistant=assistant, prompt=prompt, call_examples=True)
    return render(request, "voice/assistant_prompt_preview.html", {"assistant": assistant, "rendered_prompt": rendered})


@agency_view()
def assistant_delete(request, assistant_id):
    assistant = selectors.assistant_for_agency(agency=request.agency, public_id=assistant_id)
    if request.method == "POST":
        try:
            services.assistant_delete(assistant=assistant)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("assistant_detail", agency_slug=request.agency.slug, assistant_id=assistant.public_id)
        messages.success(request, f"{assistant.name} was deleted.")
        return redirect("assistant_list", agency_slug=request.agency.slug)
    return render(request, "voice/assistant_confirm_delete.html", {"assistant": assistant})


@agency_view()
@require_POST
def assistant_push(request, assistant_id):
    assistant = selectors.assistant_for_agency(agency=request.agency, public_id=assistant_id)
    services.assistant_push_retry(assistant=assistant)
    messages.info(request, "Pushing to Vapi again.")
    return redirect("assistant_detail", agency_slug=request.agency.slug, assistant_id=assistant.public_id)


@agency_view()
@require_POST
def assistant_revision_restore(request, assistant_id, revision_id):
    revision = selectors.assistant_revision_for_agency(
        agency=request.agency, assistant_public_id=assistant_id, public_id=revision_id
    )
    calendars, fields = services.assistant_revision_fields(revision=revision)
    checking = _push_check_start(request, assistant=revision.assistant, calendars=calendars, fields=fields)
    if checking is not None:
        return checking
    try:
        services.assistant_revision_restore(revision=revision, author=request.user)
    except ValidationError as exc:
        messages.error(request, f"That revision can't be restored: {' '.join(exc.messages)}")
    else:
        messages.success(request, f"Restored the version of {revision.created_at:%b %d, %H:%M}; pushing to Vapi.")
    return redirect("assistant_detail", agency_slug=request.agency.slug, assistant_id=assistant_id)
