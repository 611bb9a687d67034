"""Writes for agencies, clients, memberships, invitations and API keys."""

import secrets
from datetime import timedelta
from decimal import Decimal

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from agencyhub.enqueue import enqueue_on_commit
from tenants import signals, tasks

from .models import (
    DEFAULT_GHL_APP_DOMAIN,
    Agency,
    AgencyMembership,
    AgencyRole,
    ApiKey,
    CallStart,
    ClientAccount,
    ClientMembership,
    Invitation,
    User,
)

INVITATION_LIFETIME = timedelta(days=7)
# last_used_at is for people ("used 3 minutes ago"): writing it once a minute per key is enough.
API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)


class InvitationError(Exception):
    """An invitation that can no longer be accepted; the message is shown to the person."""


def agency_create(*, name: str, owner: User, slug: str = "") -> Agency:
    base = slugify(slug or name)[:50] or "agency"
    candidate, n = base, 1
    while Agency.objects.filter(slug=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    with transaction.atomic():
        agency = Agency.objects.create(name=name, slug=candidate)
        AgencyMembership.objects.create(agency=agency, user=owner, role=AgencyRole.OWNER)
    return agency


def agency_update(*, agency: Agency, name: str, ghl_app_domain: str = DEFAULT_GHL_APP_DOMAIN) -> Agency:
    agency.name, agency.ghl_app_domain = name, ghl_app_domain
    agency.full_clean(exclude=["slug"])
    agency.save(update_fields=["name", "ghl_app_domain"])
    return agency


def client_create(
    *, agency: Agency, name: str, time_zone: str, contact_email: str = "", call_start: str = CallStart.CALLER_CONTEXT
) -> ClientAccount:
    client = ClientAccount(
        agency=agency, name=name, time_zone=time_zone, contact_email=contact_email, call_start=call_start
    )
    client.full_clean()
    client.save()
    return client


def client_update(
    *, client: ClientAccount, name: str, time_zone: str, contact_email: str = "", call_start: str | None = None
) -> ClientAccount:
    """Saves the client's details; a changed call start is announced once committed (voice re-pushes the
    client's phone numbers, so Vapi ties them to their assistant or asks per call again)."""
    # Read from the row: a ModelForm has already set the new value on the instance.
    stored = ClientAccount.objects.filter(pk=client.pk).values_list("call_start", flat=True).first()
    call_start_changed_now = call_start is not None and call_start != stored
    client.name, client.time_zone, client.contact_email = name, time_zone, contact_email
    if call_start is not None:
        client.call_start = call_start
    client.full_clean()
    client.save(update_fields=["name", "time_zone", "contact_email", "call_start"])
    if call_start_changed_now:
        transaction.on_commit(lambda: signals.call_start_changed.send(sender=ClientAccount, client_id=client.pk))
    return client


def client_markup_set(*, client: ClientAccount, markup_percent: Decimal | None) -> ClientAccount:
    """Sets (or clears, with None) the markup the agency adds to the client's Vapi cost when rebilling."""
    client.markup_percent = markup_percent
    client.full_clean(exclude=["agency"])
    client.save(update_fields=["markup_percent"])
    return client


def invitation_create(
    *, agency: Agency, email: str, role: str, invited_by: User, client: ClientAccount | None = None
) -> Invitation:
    """Creates the invitation and sends its email once the transaction commits."""
    email = User.objects.normalize_email(email).strip()
    pending = Invitation.objects.filter(
        agency=agency, client=client, email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
    )
    if pending.filter(expires_at__gt=timezone.now()).exists():
        raise ValidationError({"email": f"{email} already has a pending invitation."})
    invitation = Invitation(
        agency=agency,
        client=client,
        email=email,
        role=role,
        invited_by=invited_by,
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    invitation.full_clean()
    invitation.save()
    enqueue_on_commit(tasks.invitation_send_task, invitation.pk)
    return invitation


def invitation_accept_url(*, invitation: Invitation) -> str:
    return settings.PUBLIC_BASE_URL + reverse("invitation_accept", args=[invitation.token])


def invitation_send(*, invitation: Invitation) -> None:
    context = {"invitation": invitation, "accept_url": invitation_accept_url(invitation=invitation)}
    send_mail(
        subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}You're invited to {invitation.target_name}",
        message=render_to_string("tenants/email/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now())


def invitation_revoke(*, invitation: Invitation) -> None:
    if invitation.accepted_at:
        raise InvitationError("This invitation was already accepted.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])


def _user_owns_email(user: User, email: str) -> bool:
    if user.email.lower() == email.lower():
        return True
    return EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists()


def invitation_accept(*, invitation_id: int, user: User) -> Invitation:
    """Turns an invitation into a membership, once; raises InvitationError with the reason otherwise."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update(of=("self",)).select_related("agency", "client").get(pk=invitation_id)
        )
        status = invitation.status
        if status == "accepted":
            raise InvitationError("This invitation has already been used.")
        if status == "revoked":
            raise InvitationError("This invitation was withdrawn by the agency.")
        if status == "expired":
            raise InvitationError("This invitation has expired. Ask the agency to send a new one.")
        if not _user_owns_email(user, invitation.email):
            raise InvitationError(
                f"This invitation was sent to {invitation.email}, but you are signed in as {user.email}."
            )
        if invitation.is_agency_level:
            AgencyMembership.objects.get_or_create(
                agency=invitation.agency, user=user, defaults={"role": invitation.role}
            )
        else:
            ClientMembership.objects.get_or_create(
                client=invitation.client, user=user, defaults={"role": invitation.role}
            )
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
    return invitation


def membership_change_role(*, actor: AgencyMembership, membership: AgencyMembership, role: str) -> None:
    if role not in AgencyRole.values:
        raise ValidationError("Unknown role.")
    # Only an owner may make or unmake owners, and an agency always keeps one.
    touches_owner = AgencyRole.OWNER in (role, membership.role)
    if touches_owner and actor.role != AgencyRole.OWNER:
        raise PermissionDenied("Only an owner can change who owns the agency.")
    with transaction.atomic():
        owners = AgencyMembership.objects.select_for_update().filter(agency=membership.agency, role=AgencyRole.OWNER)
        if membership.role == AgencyRole.OWNER and role != AgencyRole.OWNER and owners.count() == 1:
            raise ValidationError("An agency needs at least one owner.")
        membership.role = role
        membership.save(update_fields=["role"])


def membership_remove(*, actor: AgencyMembership, membership: AgencyMembership) -> None:
    if membership.role == AgencyRole.OWNER and actor.role != AgencyRole.OWNER:
        raise PermissionDenied("Only an owner can remove an owner.")
    with transaction.atomic():
        owners = AgencyMembership.objects.select_for_update().filter(agency=membership.agency, role=AgencyRole.OWNER)
        if membership.role == AgencyRole.OWNER and owners.count() == 1:
            raise ValidationError("An agency needs at least one owner.")
        membership.delete()


def api_key_create(*, agency: Agency, name: str, created_by: User | None = None) -> tuple[ApiKey, str]:
    """Creates a key and returns it with its plaintext, which exists only in this return value."""
    prefix = secrets.token_hex(6)
    key = f"{ApiKey.SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey(
        agency=agency, name=name.strip(), prefix=prefix, key_hash=ApiKey.hash_of(key), created_by=created_by
    )
    api_key.full_clean()
    api_key.save()
    return api_key, key


def api_key_revoke(*, api_key: ApiKey) -> None:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])


def api_key_touch(*, api_key: ApiKey) -> None:
    """Records that the key was used, at most once a minute so busy clients cost no extra writes."""
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= API_KEY_TOUCH_INTERVAL:
        api_key.last_used_at = now
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
