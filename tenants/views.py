from allauth.account.adapter import get_adapter
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from . import selectors, services
from .access import LAST_AGENCY_SESSION_KEY, agency_view
from .forms import (
    AgencyForm,
    AgencySettingsForm,
    ApiKeyForm,
    ClientForm,
    ClientInviteForm,
    MemberRoleForm,
    TeamInviteForm,
    form_errors_from,
)
from .models import AgencyRole

CLIENTS_PER_PAGE = 25


@login_required
def home(request):
    """Sends a person to the place they work: their last agency, else their client, else onboarding."""
    memberships = list(selectors.agency_memberships_for_user(user=request.user))
    if memberships:
        slugs = [m.agency.slug for m in memberships]
        last = request.session.get(LAST_AGENCY_SESSION_KEY)
        return redirect("dashboard", agency_slug=last if last in slugs else slugs[0])
    client_membership = selectors.client_memberships_for_user(user=request.user).first()
    if client_membership:
        return redirect("client_portal", client_id=client_membership.client.public_id)
    return redirect("agency_create")


@login_required
def agency_create(request):
    form = AgencyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        agency = services.agency_create(name=form.cleaned_data["name"], owner=request.user)
        messages.success(request, f"{agency.name} is ready. Add your first client.")
        return redirect("client_list", agency_slug=agency.slug)
    return render(request, "tenants/agency_create.html", {"form": form})


@agency_view()
def client_list(request):
    search = request.GET.get("q", "").strip()
    page = Paginator(selectors.client_list(agency=request.agency, search=search), CLIENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {"page": page, "search": search}
    template = "tenants/_client_rows.html" if request.htmx else "tenants/client_list.html"
    return render(request, template, context)


@agency_view()
def client_create(request):
    form = ClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            client = services.client_create(agency=request.agency, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(exc, form)
        else:
            messages.success(request, f"{client.name} was added.")
            return redirect("client_detail", agency_slug=request.agency.slug, client_id=client.public_id)
    return render(request, "tenants/client_form.html", {"form": form, "client": None})


@agency_view()
def client_edit(request, client_id):
    client = selectors.client_for_agency(agency=request.agency, public_id=client_id)
    form = ClientForm(request.POST or None, instance=client)
    if request.method == "POST" and form.is_valid():
        try:
            services.client_update(client=client, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(exc, form)
        else:
            messages.success(request, "Changes saved.")
            return redirect("client_detail", agency_slug=request.agency.slug, client_id=client.public_id)
    return render(request, "tenants/client_form.html", {"form": form, "client": client})


@agency_view()
def client_invite(request, client_id):
    client = selectors.client_for_agency(agency=request.agency, public_id=client_id)
    form = ClientInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invitation_create(
                agency=request.agency, client=client, invited_by=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form_errors_from(exc, form)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("client_detail", agency_slug=request.agency.slug, client_id=client.public_id)
    return render(request, "tenants/invite_form.html", {"form": form, "client": client})


@agency_view()
def team(request):
    context = {
        "members": selectors.team_members(agency=request.agency),
        "invitations": selectors.invitations_for_agency(agency=request.agency).filter(client__isnull=True),
        "role_choices": AgencyRole.choices,
    }
    return render(request, "tenants/team.html", context)


@agency_view(manage=True)
def team_invite(request):
    form = TeamInviteForm(request.POST or None, inviter_role=request.membership.role)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invitation_create(agency=request.agency, invited_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_from(exc, form)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("team", agency_slug=request.agency.slug)
    return render(request, "tenants/invite_form.html", {"form": form, "client": None})


@agency_view(manage=True)
@require_POST
def member_role(request, membership_id):
    membership = selectors.team_membership(agency=request.agency, public_id=membership_id)
    form = MemberRoleForm(request.POST)
    if form.is_valid():
        try:
            services.membership_change_role(
                actor=request.membership, membership=membership, role=form.cleaned_data["role"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{membership.user} is now {membership.get_role_display().lower()}.")
    return redirect("team", agency_slug=request.agency.slug)


@agency_view(manage=True)
@require_POST
def member_remove(request, membership_id):
    membership = selectors.team_membership(agency=request.agency, public_id=membership_id)
    try:
        services.membership_remove(actor=request.membership, membership=membership)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{membership.user} was removed from {request.agency.name}.")
    return redirect("team", agency_slug=request.agency.slug)


def _invitation_back(request, invitation):
    if invitation.client_id:
        return redirect("client_detail", agency_slug=request.agency.slug, client_id=invitation.client.public_id)
    return redirect("team", agency_slug=request.agency.slug)


@agency_view()
@require_POST
def invitation_revoke(request, invitation_id):
    invitation = selectors.invitation_for_agency(agency=request.agency, public_id=invitation_id)
    if invitation.is_agency_level and not request.membership.can_manage_team:
        raise PermissionDenied("Only owners and admins manage the team.")
    try:
        services.invitation_revoke(invitation=invitation)
    except services.InvitationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The invitation for {invitation.email} was withdrawn.")
    return _invitation_back(request, invitation)


# The key just created, kept in the session only until the settings page has shown it once.
NEW_API_KEY_SESSION_KEY = "new_api_key"


def _settings_page(request, *, form=None, api_key_form=None):
    api_keys = selectors.api_keys_for_agency(agency=request.agency)
    shown = request.session.pop(NEW_API_KEY_SESSION_KEY, None)
    new_key = None
    if shown and shown.get("agency") == request.agency.slug:
        api_key = api_keys.filter(public_id=shown["public_id"]).first()
        new_key = {"api_key": api_key, "key": shown["key"]} if api_key else None
    context = {
        "form": form or AgencySettingsForm(instance=request.agency),
        "api_keys": api_keys,
        "api_key_form": api_key_form or ApiKeyForm(),
        "new_key": new_key,
    }
    return render(request, "tenants/agency_settings.html", context)


@never_cache
@agency_view(manage=True)
def agency_settings(request):
    form = AgencySettingsForm(request.POST or None, instance=request.agency)
    if request.method == "POST" and form.is_valid():
        services.agency_update(agency=request.agency, **form.cleaned_data)
        messages.success(request, "Settings saved.")
        return redirect("agency_settings", agency_slug=request.agency.slug)
    return _settings_page(request, form=form)


@never_cache
@agency_view(manage=True)
@require_POST
def api_key_create(request):
    """Post/redirect/get: the settings page shows the new key once (from the session), so a reload of it
    never creates a second key."""
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _settings_page(request, api_key_form=form)
    api_key, key = services.api_key_create(
        agency=request.agency, name=form.cleaned_data["name"], created_by=request.user
    )
    request.session[NEW_API_KEY_SESSION_KEY] = {
        "agency": request.agency.slug,
        "public_id": str(api_key.public_id),
        "key": key,
    }
    return redirect("agency_settings", agency_slug=request.agency.slug)


@agency_view(manage=True)
@require_POST
def api_key_revoke(request, api_key_id):
    api_key = selectors.api_key_for_agency(agency=request.agency, public_id=api_key_id)
    services.api_key_revoke(api_key=api_key)
    messages.success(request, f"The API key “{api_key.name}” was revoked: requests with it now get 401.")
    return redirect("agency_settings", agency_slug=request.agency.slug)


def invitation_accept(request, token):
    """The link from the invitation email: explains, then joins once the right person is signed in."""
    invitation = selectors.invitation_for_token(token=token)
    if invitation is None:
        return render(request, "tenants/invitation_invalid.html", {"reason": "This link is not valid."}, status=404)
    if invitation.status != "pending":
        reasons = {
            "accepted": "This invitation has already been used.",
            "revoked": "This invitation was withdrawn by the agency.",
            "expired": "This invitation has expired. Ask the agency to send a new one.",
        }
        request.session.pop("invitation_token", None)
        return render(request, "tenants/invitation_invalid.html", {"reason": reasons[invitation.status]}, status=410)
    if not request.user.is_authenticated:
        # allauth treats this address as verified at sign-up: the link itself came to that inbox.
        request.session["invitation_token"] = token
        get_adapter(request).stash_verified_email(request, invitation.email)
        return render(request, "tenants/invitation_accept.html", {"invitation": invitation})
    if request.method == "POST":
        try:
            services.invitation_accept(invitation_id=invitation.pk, user=request.user)
        except services.InvitationError as exc:
            return render(request, "tenants/invitation_invalid.html", {"reason": str(exc)}, status=409)
        request.session.pop("invitation_token", None)
        messages.success(request, f"Welcome to {invitation.target_name}.")
        if invitation.client_id:
            return redirect("client_portal", client_id=invitation.client.public_id)
        return redirect("dashboard", agency_slug=invitation.agency.slug)
    return render(request, "tenants/invitation_accept.html", {"invitation": invitation})
