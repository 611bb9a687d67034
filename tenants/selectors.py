"""Reads, always scoped to the person asking: anything outside their tenant is a 404."""

import hmac

from django.db.models import Count, F, Q, QuerySet
from django.http import Http404

from .models import Agency, AgencyMembership, ApiKey, ClientAccount, ClientMembership, Invitation, User


def agency_memberships_for_user(*, user: User) -> QuerySet[AgencyMembership]:
    return AgencyMembership.objects.filter(user=user).select_related("agency").order_by("agency__name")


def client_memberships_for_user(*, user: User) -> QuerySet[ClientMembership]:
    return ClientMembership.objects.filter(user=user).select_related("client", "client__agency")


def client_membership_for_user(*, user: User, client_public_id) -> ClientMembership:
    if not user.is_authenticated:
        raise Http404
    membership = (
        ClientMembership.objects.select_related("client", "client__agency")
        .filter(user=user, client__public_id=client_public_id)
        .first()
    )
    if membership is None:
        raise Http404("No such client.")
    return membership


def client_for_agency(*, agency: Agency, public_id) -> ClientAccount:
    client = ClientAccount.objects.filter(agency=agency, public_id=public_id).first()
    if client is None:
        raise Http404("No such client.")
    return client


def client_list(*, agency: Agency, search: str = "") -> QuerySet[ClientAccount]:
    clients = ClientAccount.objects.filter(agency=agency)
    if search:
        clients = clients.filter(Q(name__icontains=search) | Q(contact_email__icontains=search))
    return clients.annotate(member_count=Count("memberships")).order_by("name", "pk")


def team_members(*, agency: Agency) -> QuerySet[AgencyMembership]:
    return agency.memberships.select_related("user").order_by("created_at")


def team_membership(*, agency: Agency, public_id) -> AgencyMembership:
    membership = agency.memberships.select_related("user").filter(public_id=public_id).first()
    if membership is None:
        raise Http404("No such member.")
    return membership


def agency_membership_for_client(*, user: User, client_public_id) -> AgencyMembership | None:
    """The user's membership in the agency that owns this client, or None (an outsider, or no such client)."""
    return (
        AgencyMembership.objects.select_related("agency")
        .filter(user=user, agency__clients__public_id=client_public_id)
        .first()
    )


def client_members(*, client: ClientAccount) -> QuerySet[ClientMembership]:
    return client.memberships.select_related("user").order_by("created_at")


def invitations_for_agency(*, agency: Agency) -> QuerySet[Invitation]:
    return agency.invitations.select_related("client", "invited_by").filter(accepted_at__isnull=True)


def invitation_for_agency(*, agency: Agency, public_id) -> Invitation:
    invitation = agency.invitations.filter(public_id=public_id).first()
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation


def invitation_for_token(*, token: str) -> Invitation | None:
    """The invitation a link's signed token names, or None for a forged or mangled one."""
    public_id = Invitation.public_id_from_token(token)
    if public_id is None:
        return None
    return Invitation.objects.select_related("agency", "client").filter(public_id=public_id).first()


def api_keys_for_agency(*, agency: Agency) -> QuerySet[ApiKey]:
    return agency.api_keys.select_related("created_by").order_by(
        F("revoked_at").asc(nulls_first=True), "-created_at", "-pk"
    )


def api_key_for_agency(*, agency: Agency, public_id) -> ApiKey:
    api_key = agency.api_keys.filter(public_id=public_id).first()
    if api_key is None:
        raise Http404("No such API key.")
    return api_key


def api_key_for_key(*, key: str) -> ApiKey | None:
    """The key (revoked or not) this plaintext is, or None: found by prefix, its hash compared in constant time."""
    prefix = ApiKey.prefix_of(key)
    if prefix is None:
        return None
    api_key = ApiKey.objects.select_related("agency").filter(prefix=prefix).first()
    if api_key is None or not hmac.compare_digest(api_key.key_hash, ApiKey.hash_of(key)):
        return None
    return api_key


def tenants_attached(rows) -> None:
    """Each row's agency and client (rows of a model with both foreign keys: a batch of inbox events, of calls), read
    once per batch and shared, instead of joined to every row: a batch names a handful, and one instance each is
    built rather than one per row (#12)."""
    agencies = Agency.objects.in_bulk({row.agency_id for row in rows} - {None})
    clients = ClientAccount.objects.in_bulk({row.client_id for row in rows} - {None})
    for row in rows:
        row.agency = agencies.get(row.agency_id)
        row.client = clients.get(row.client_id)
