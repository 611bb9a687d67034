from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from tenants.access import agency_view
from tenants.selectors import agency_memberships_for_user, client_for_agency, client_list

from . import oauth, selectors, services
from .errors import GhlConnectError, GhlLocationTakenError, GhlNotConnectedError
from .forms import AppCredentialsForm, InstalledLocationForm, InstalledLocationFormSet, PrivateTokenForm
from .models import DEFAULT_SCOPES, GhlCompanyInstall, InstallModel

# What each scope lets AgencyHub do, in the words shown on the consent page.
SCOPE_PURPOSES = {
    "calendars.readonly": "See the calendars, to know which one the assistant books into.",
    "calendars/events.readonly": "See existing appointments, to offer only free times and to follow whether "
    "booked visits were kept (showed, no-show).",
    "calendars/events.write": "Book, move and cancel appointments that callers ask for.",
    "contacts.readonly": "Find a caller among your contacts by phone number, and respect their Do Not Disturb "
    "setting before texting them.",
    "contacts.write": "Add new callers as contacts, a note with each call's summary, tags for what the call "
    "achieved, and the caller's answers in the contact fields you choose.",
    "locations.readonly": "Read your business name and time zone.",
    "conversations/message.write": "Text callers a confirmation when the assistant books, moves or cancels their "
    "appointment, and the reminders you set up; sent from your sub-account, never to contacts with Do Not "
    "Disturb on.",
    "locations/customFields.readonly": "List your contact custom fields, so you can choose where the caller's "
    "answers are written.",
    "conversations.readonly": "Find the caller's conversation, to log each call the assistant answers in it.",
    "conversations.write": "Start a conversation for a caller who has none yet, so the call can be logged there.",
    "conversations/message.readonly": "Check whether a call is already logged in the conversation, so it is "
    "never logged twice.",
    "oauth.readonly": "List the sub-accounts the app is installed in.",
    "oauth.write": "Issue a token for each of those sub-accounts.",
}


def _back_to_client(request, client):
    return redirect("client_detail", agency_slug=request.agency.slug, client_id=client.public_id)


@agency_view()
def connection_list(request):
    context = {
        "clients": selectors.clients_with_connections(agency=request.agency),
        "company_install": selectors.company_install_for_agency(agency=request.agency),
        "app": selectors.app_credentials_for_agency(agency=request.agency),
    }
    return render(request, "ghl/connection_list.html", context)


@agency_view()
@require_POST
def client_connect(request, client_id):
    client = client_for_agency(agency=request.agency, public_id=client_id)
    try:
        url = oauth.client_oauth_start(client=client, session_key=request.session.session_key)
    except GhlConnectError as exc:
        messages.error(request, str(exc))
        return _back_to_client(request, client)
    return redirect(url)


@agency_view()
@require_POST
def consent_link_create(request, client_id):
    client = client_for_agency(agency=request.agency, public_id=client_id)
    _, token = oauth.consent_link_create(client=client, created_by=request.user)
    url = request.build_absolute_uri(reverse("ghl_consent", args=[token]))
    # Rendered, not redirected: only the hash is stored, so this is the one time the link exists in full.
    return render(request, "ghl/consent_link_created.html", {"client": client, "url": url})


@agency_view()
@require_POST
def client_disconnect(request, client_id):
    client = client_for_agency(agency=request.agency, public_id=client_id)
    connection = selectors.connection_for_client(client=client)
    if connection is not None:
        services.connection_disconnect(connection=connection)
        messages.success(request, f"{client.name} was disconnected from GoHighLevel; its tokens were deleted.")
    if request.POST.get("back") == "client":
        return _back_to_client(request, client)
    return redirect("ghl_connection_list", agency_slug=request.agency.slug)


@agency_view()
@require_POST
def client_location_adopt(request, client_id):
    """Staff chose to give the client the sub-account's name and/or time zone; nothing changes otherwise."""
    client = client_for_agency(agency=request.agency, public_id=client_id)
    connection = selectors.connection_for_client(client=client)
    if connection is not None:
        changed = services.client_location_adopt(
            connection=connection, name="name" in request.POST, time_zone="time_zone" in request.POST
        )
        if changed:
            words = " and ".join({"name": "name", "time_zone": "time zone"}[f] for f in changed)
            messages.success(request, f"{client.name} now uses the GoHighLevel sub-account's {words}.")
    return _back_to_client(request, client)


def _taken_context(request, exc: GhlLocationTakenError) -> dict:
    """The way on from "already connected": that client's page, only for staff of the agency that owns it."""
    taken = exc.connected_client
    context = {"title": "Not connected", "message": str(exc)}
    signed_in = taken is not None and request.user.is_authenticated
    if signed_in and agency_memberships_for_user(user=request.user).filter(agency=taken.agency_id).exists():
        context["taken_client"] = taken
    return context


@agency_view()
def private_token_connect(request, client_id):
    client = client_for_agency(agency=request.agency, public_id=client_id)
    form = PrivateTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.connection_connect_private_token(client=client, **form.cleaned_data)
        except GhlConnectError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"{client.name} is connected to GoHighLevel.")
            return _back_to_client(request, client)
    return render(request, "ghl/private_token.html", {"form": form, "client": client})


@agency_view(manage=True)
def app_settings(request):
    instance = selectors.app_settings_for_agency(agency=request.agency)
    form = AppCredentialsForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        services.app_credentials_save(
            agency=request.agency,
            client_id=form.cleaned_data["client_id"],
            client_secret=form.cleaned_data["client_secret"],
            install_model=form.cleaned_data["install_model"],
            scopes=form.cleaned_data["scopes"] or DEFAULT_SCOPES,
            conversation_provider_id=form.cleaned_data["conversation_provider_id"],
        )
        messages.success(request, "GoHighLevel app saved.")
        return redirect("ghl_app_settings", agency_slug=request.agency.slug)
    context = {
        "form": form,
        "app": selectors.app_credentials_for_agency(agency=request.agency),
        "redirect_uri": oauth.oauth_redirect_uri(),
    }
    return render(request, "ghl/app_settings.html", context)


@agency_view(manage=True)
@require_POST
def company_install(request):
    try:
        url = oauth.company_install_start(agency=request.agency, session_key=request.session.session_key)
    except GhlConnectError as exc:
        messages.error(request, str(exc))
        return redirect("ghl_connection_list", agency_slug=request.agency.slug)
    return redirect(url)


@agency_view(manage=True)
def installed_locations(request):
    install = selectors.company_install_for_agency(agency=request.agency)
    if install is None or not install.is_active:
        messages.info(request, "Install the app for your whole agency first.")
        return redirect("ghl_connection_list", agency_slug=request.agency.slug)
    clients = list(client_list(agency=request.agency))
    if request.method == "POST":
        formset = InstalledLocationFormSet(request.POST, form_kwargs={"clients": clients})
        if formset.is_valid():
            _installed_locations_connect(request, install, formset)
            return redirect("ghl_installed_locations", agency_slug=request.agency.slug)
    try:
        locations = services.company_installed_locations(install=install)
    except (GhlConnectError, GhlNotConnectedError) as exc:
        messages.error(request, str(exc))
        locations = []
    unlinked = [loc for loc in locations if loc["client"] is None]
    formset = InstalledLocationFormSet(
        initial=[{"location_id": loc["id"], "name": loc.get("name", "")} for loc in unlinked],
        form_kwargs={"clients": clients},
    )
    context = {"linked": [loc for loc in locations if loc["client"]], "rows": zip(unlinked, formset, strict=True)}
    return render(request, "ghl/installed_locations.html", {**context, "formset": formset})


def _installed_locations_connect(request, install: GhlCompanyInstall, formset) -> None:
    for form in formset:
        if form.cleaned_data["action"] == InstalledLocationForm.SKIP:
            continue
        name = form.cleaned_data["name"] or form.cleaned_data["location_id"]
        try:
            connection = services.company_location_connect(
                install=install,
                location_id=form.cleaned_data["location_id"],
                client=form.target_client(),
                name=name,
            )
        except (GhlConnectError, GhlNotConnectedError) as exc:
            messages.error(request, f"{name}: {exc}")
        else:
            messages.success(request, f"{connection.client.name} is connected.")


def consent(request, token):
    """The consent link's public page: who asks, for what and why; then on to GHL."""
    link = selectors.consent_link_for_token(token=token)
    client = link.client
    if not link.is_usable:
        reason = "This link was already used." if link.used_at else "This link has expired."
        context = {"title": "Link no longer valid", "message": f"{reason} Ask {client.agency.name} for a new one."}
        return render(request, "ghl/oauth_result.html", context, status=410)
    credentials = selectors.app_credentials_for_agency(agency=client.agency)
    if request.method == "POST":
        try:
            url = oauth.client_oauth_start(client=client, consent_link=link, session_key=request.session.session_key)
        except GhlConnectError as exc:
            return render(
                request, "ghl/oauth_result.html", {"title": "Cannot connect", "message": str(exc)}, status=409
            )
        return redirect(url)
    scopes = credentials.scopes_for(install_model=InstallModel.LOCATION) if credentials else DEFAULT_SCOPES.split()
    context = {
        "client": client,
        "agency": client.agency,
        "link": link,
        "scopes": [(scope, SCOPE_PURPOSES.get(scope, "")) for scope in scopes],
    }
    return render(request, "ghl/consent.html", context)


@require_GET
def oauth_callback(request):
    """Where GHL sends the browser back after the consent screen."""
    if request.GET.get("error"):
        context = {
            "title": "Connection not approved",
            "message": "The GoHighLevel consent was declined, so nothing was connected. "
            "You can start again whenever you are ready.",
        }
        return render(request, "ghl/oauth_result.html", context, status=400)
    try:
        result = oauth.oauth_callback_complete(
            state=request.GET.get("state", ""),
            code=request.GET.get("code", ""),
            session_key=request.session.session_key,
        )
    except GhlLocationTakenError as exc:
        return render(request, "ghl/oauth_result.html", _taken_context(request, exc), status=400)
    except GhlConnectError as exc:
        return render(request, "ghl/oauth_result.html", {"title": "Not connected", "message": str(exc)}, status=400)
    if isinstance(result, GhlCompanyInstall):
        messages.success(request, "The app is installed for your agency. Choose the sub-accounts to connect.")
        return redirect("ghl_installed_locations", agency_slug=result.agency.slug)
    context = {
        "title": "Connected",
        "message": f"{result.client.name} is connected to GoHighLevel ({result.location_name or result.location_id}). "
        "You can close this page.",
        "connection": result,
        "success": True,
    }
    return render(request, "ghl/oauth_result.html", context)
