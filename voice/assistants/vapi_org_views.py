from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from agencyhub.enqueue import enqueue_on_commit
from integrations.jobs import job_create
from integrations.vapi.errors import VapiError
from tenants.access import agency_view
from tenants.models import AgencyRole
from tenants.selectors import client_for_agency, client_list
from voice.assistants import selectors, services, tasks, vapi_org
from voice.assistants.forms import AssistantImportAllForm, AssistantImportForm, PhoneNumberAssignForm, VapiKeyForm


@agency_view(manage=True)
def vapi_settings(request):
    account = selectors.vapi_account_for_agency(agency=request.agency)
    form = VapiKeyForm()
    shown_secret = None
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "save_key":
        form = VapiKeyForm(request.POST)
        if form.is_valid():
            account, created = vapi_org.vapi_account_key_save(
                agency=request.agency, api_key=form.cleaned_data["api_key"]
            )
            account = vapi_org.vapi_account_verify(agency=request.agency)
            _verify_message(request, account)
            shown_secret = account.webhook_secret if created else None
            if not created:
                return redirect("vapi_settings", agency_slug=request.agency.slug)
    elif action == "verify":
        _verify_message(request, vapi_org.vapi_account_verify(agency=request.agency))
        return redirect("vapi_settings", agency_slug=request.agency.slug)
    elif action in ("reveal_secret", "rotate_secret"):
        if request.membership.role != AgencyRole.OWNER:
            raise PermissionDenied("Only owners can see or rotate the webhook secret.")
        if action == "rotate_secret":
            account = services.vapi_account_secret_rotate(agency=request.agency)
            messages.success(
                request,
                "New secret created; assistants are being pushed with it. Update any number configured by hand.",
            )
        else:
            account, _ = vapi_org.vapi_account_ensure(agency=request.agency)
        shown_secret = account.webhook_secret
    context = {
        "form": form,
        "account": account,
        "shown_secret": shown_secret,
        "endpoint_url": vapi_org.vapi_endpoint_url(agency=request.agency),
        "is_owner": request.membership.role == AgencyRole.OWNER,
    }
    return render(request, "voice/vapi_settings.html", context)


def _verify_message(request, account) -> None:
    if account.verified_at:
        messages.success(request, "Vapi accepted the key.")
    else:
        messages.error(request, f"Vapi rejected the key: {account.verify_error}")


@agency_view()
def vapi_import(request):
    clients = client_list(agency=request.agency)
    if request.method == "POST" and request.POST.get("action") == "import_all":
        return _vapi_import_all(request, clients=clients)
    if request.method == "POST":
        form = AssistantImportForm(request.POST, clients=clients)
        if form.is_valid():
            client = client_for_agency(agency=request.agency, public_id=form.cleaned_data["client_id"])
            try:
                assistant = services.assistant_import(
                    client=client, vapi_id=form.cleaned_data["vapi_id"], author=request.user
                )
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            except VapiError as exc:
                messages.error(request, f"Vapi answered: {exc.message}")
            else:
                messages.success(request, f"{assistant.name} now belongs to {client.name}.")
                return redirect("assistant_detail", agency_slug=request.agency.slug, assistant_id=assistant.public_id)
        return redirect("vapi_import", agency_slug=request.agency.slug)
    remote, error = [], ""
    try:
        remote = vapi_org.vapi_assistants_list(agency=request.agency)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    except VapiError as exc:
        error = f"Vapi answered: {exc.message}"
    attached = dict(
        selectors.assistant_list(agency=request.agency).exclude(vapi_id="").values_list("vapi_id", "client__name")
    )
    rows = [{"remote": item, "attached_to": attached.get(item.get("id"))} for item in remote]
    context = {
        "rows": rows,
        "error": error,
        "form": AssistantImportForm(clients=clients),
        "clients": clients,
        "unattached": sum(1 for row in rows if not row["attached_to"]),
    }
    return render(request, "voice/vapi_import.html", context)


def _vapi_import_all(request, *, clients):
    """Every unattached assistant of the Vapi org into one client, as a job with a progress page."""
    form = AssistantImportAllForm(request.POST, clients=clients)
    if not form.is_valid():
        messages.error(request, "Choose one of your clients to import into.")
        return redirect("vapi_import", agency_slug=request.agency.slug)
    client = client_for_agency(agency=request.agency, public_id=form.cleaned_data["client_id"])
    job = job_create(
        agency=request.agency,
        created_by=request.user,
        kind="vapi_import",
        title=f"Import Vapi assistants into {client.name}",
        params={"client_pk": client.pk},
        back_url=reverse("assistant_list", args=[request.agency.slug]),
    )
    enqueue_on_commit(tasks.assistants_import_task, job.pk)
    return redirect("job_detail", agency_slug=request.agency.slug, job_id=job.public_id)


@agency_view()
def phone_number_list(request):
    if request.method == "POST":
        try:
            numbers = vapi_org.phone_numbers_sync(agency=request.agency)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        except VapiError as exc:
            messages.error(request, f"Vapi answered: {exc.message}")
        else:
            messages.success(request, f"{len(numbers)} phone numbers loaded from Vapi.")
        return redirect("phone_number_list", agency_slug=request.agency.slug)
    assistants = selectors.assistant_list(agency=request.agency).exclude(vapi_id="")
    rows = [
        (
            number,
            PhoneNumberAssignForm(
                assistants=assistants, initial={"assistant_id": number.assistant and str(number.assistant.public_id)}
            ),
        )
        for number in selectors.phone_number_list(agency=request.agency)
    ]
    return render(request, "voice/phone_number_list.html", {"rows": rows})


@agency_view()
@require_POST
def phone_number_assign(request, phone_number_id):
    phone_number = selectors.phone_number_for_agency(agency=request.agency, public_id=phone_number_id)
    assistants = selectors.assistant_list(agency=request.agency).exclude(vapi_id="")
    form = PhoneNumberAssignForm(request.POST, assistants=assistants)
    if form.is_valid():
        chosen = form.cleaned_data["assistant_id"]
        assistant = selectors.assistant_for_agency(agency=request.agency, public_id=chosen) if chosen else None
        try:
            vapi_org.phone_number_assign(phone_number=phone_number, assistant=assistant)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request, f"{phone_number} now answers with {assistant.name if assistant else 'the per-call lookup'}."
            )
    else:
        messages.error(request, "Choose an assistant of this agency.")
    return redirect("phone_number_list", agency_slug=request.agency.slug)
