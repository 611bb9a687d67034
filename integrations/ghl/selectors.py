"""Reads of GHL connections, scoped to an agency or a client (or, for webhooks, to a verified location id)."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from tenants.models import Agency, ClientAccount

from .errors import GhlConnectError
from .models import (
    AGENCY_INSTALL_SCOPES,
    CONVERSATION_LOG_SCOPES,
    DEFAULT_SCOPES,
    ConnectionKind,
    ConnectionStatus,
    ConsentLink,
    GhlAppCredentials,
    GhlCompanyInstall,
    GhlConnection,
    InstallModel,
    secret_hash,
)


@dataclass(frozen=True)
class AppCredentials:
    """The Marketplace app an agency's consents are asked with: its own, else the platform default."""

    client_id: str
    client_secret: str
    install_model: str
    scopes: str
    is_platform_default: bool = False
    conversation_provider_id: str = ""

    @property
    def app_id(self) -> str:
        # GHL client ids are "<appId>-<suffix>"; webhooks and installedLocations use the appId.
        return self.client_id.split("-")[0]

    def scopes_for(self, *, install_model: str) -> list[str]:
        scopes = self.scopes.split()
        if self.conversation_provider_id:
            scopes += [s for s in CONVERSATION_LOG_SCOPES.split() if s not in scopes]
        if install_model == InstallModel.AGENCY:
            scopes += [s for s in AGENCY_INSTALL_SCOPES.split() if s not in scopes]
        return scopes


def app_credentials_for_agency(*, agency: Agency) -> AppCredentials | None:
    app = GhlAppCredentials.objects.filter(agency=agency).first()
    if app is not None and app.client_id and app.client_secret:
        return AppCredentials(
            client_id=app.client_id,
            client_secret=app.client_secret,
            install_model=app.install_model,
            scopes=app.scopes or DEFAULT_SCOPES,
            conversation_provider_id=app.conversation_provider_id,
        )
    if settings.GHL_CLIENT_ID and settings.GHL_CLIENT_SECRET:
        return AppCredentials(
            client_id=settings.GHL_CLIENT_ID,
            client_secret=settings.GHL_CLIENT_SECRET,
            install_model=InstallModel.LOCATION,
            scopes=DEFAULT_SCOPES,
            is_platform_default=True,
            conversation_provider_id=settings.GHL_CONVERSATION_PROVIDER_ID,
        )
    return None


def conversation_provider_for_agency(*, agency: Agency) -> str:
    """The conversation provider calls are logged through, or "" when the agency has none (a note instead)."""
    credentials = app_credentials_for_agency(agency=agency)
    return credentials.conversation_provider_id if credentials else ""


def connection_missing_scopes(*, client: ClientAccount) -> list[str]:
    """Scopes the agency's app now asks for that the client's OAuth connection was not granted (a feature added
    since it connected): the client must reconnect to approve them. Empty when unknown (a private token)."""
    connection = GhlConnection.objects.filter(client=client).exclude(status=ConnectionStatus.DISCONNECTED).first()
    credentials = app_credentials_for_agency(agency=client.agency)
    if connection is None or credentials is None or connection.kind == ConnectionKind.PRIVATE_TOKEN:
        return []
    granted = set(connection.scope_list)
    wanted = credentials.scopes_for(install_model=InstallModel.LOCATION)
    return [scope for scope in wanted if scope not in granted and not scope.startswith("oauth.")]


def app_credentials_required(*, agency: Agency) -> AppCredentials:
    """The agency's app credentials; connecting or refreshing without them cannot start."""
    credentials = app_credentials_for_agency(agency=agency)
    if credentials is None:
        raise GhlConnectError(f"{agency.name} has not set up its GoHighLevel app yet.")
    return credentials


def app_settings_for_agency(*, agency: Agency) -> GhlAppCredentials | None:
    return GhlAppCredentials.objects.filter(agency=agency).first()


def connection_for_location(location_id: str) -> GhlConnection | None:
    """The live connection of a GHL location id taken from a verified webhook; None when not connected."""
    return (
        GhlConnection.objects.select_related("client", "client__agency")
        .filter(location_id=location_id)
        .exclude(status=ConnectionStatus.DISCONNECTED)
        .first()
    )


def connection_for_client(*, client: ClientAccount) -> GhlConnection | None:
    return GhlConnection.objects.filter(client=client).first()


def connection_for_client_id(*, client_id: int) -> GhlConnection | None:
    return GhlConnection.objects.filter(client_id=client_id).first()


def client_for_location(location_id: str) -> ClientAccount | None:
    """The client a verified webhook's location id belongs to; None when no live connection has it."""
    connection = connection_for_location(location_id)
    return connection.client if connection else None


@dataclass(frozen=True)
class GhlLocation:
    """What the product may know of a client's GHL sub-account: where it is and whether it answers, never tokens."""

    location_id: str
    status: str  # a ConnectionStatus value
    last_error: str

    @property
    def is_connected(self) -> bool:
        return self.status == ConnectionStatus.CONNECTED

    @property
    def needs_reconnect(self) -> bool:
        return self.status == ConnectionStatus.NEEDS_RECONNECT

    @property
    def is_disconnected(self) -> bool:
        return self.status == ConnectionStatus.DISCONNECTED


def ghl_location_for_client(*, client_id: int) -> GhlLocation | None:
    """The client's GHL sub-account as plain data (one query, no token decrypted); None if it never connected."""
    row = GhlConnection.objects.filter(client_id=client_id).values("location_id", "status", "last_error").first()
    return GhlLocation(**row) if row else None


def clients_with_connections(*, agency: Agency) -> QuerySet[ClientAccount]:
    """Every client of the agency with its connection (if any) preloaded, for the connections page."""
    return ClientAccount.objects.filter(agency=agency).select_related("ghl_connection").order_by("name", "pk")


def connections_needing_attention(*, agency: Agency) -> QuerySet[GhlConnection]:
    return GhlConnection.objects.filter(client__agency=agency, status=ConnectionStatus.NEEDS_RECONNECT).select_related(
        "client"
    )


def connections_due_for_refresh(*, within: timedelta) -> QuerySet[GhlConnection]:
    return GhlConnection.objects.filter(
        status=ConnectionStatus.CONNECTED,
        expires_at__lte=timezone.now() + within,
    ).exclude(kind=ConnectionKind.PRIVATE_TOKEN)


def company_installs_due_for_refresh(*, within: timedelta) -> QuerySet[GhlCompanyInstall]:
    return GhlCompanyInstall.objects.exclude(refresh_token="").filter(expires_at__lte=timezone.now() + within)


def company_install_for_agency(*, agency: Agency) -> GhlCompanyInstall | None:
    return GhlCompanyInstall.objects.filter(agency=agency).first()


def consent_link_for_token(*, token: str) -> ConsentLink:
    """The link a raw token names, whatever its state; 404 for a token that never existed."""
    link = ConsentLink.objects.select_related("client", "client__agency").filter(token_hash=secret_hash(token)).first()
    if link is None:
        raise Http404("No such link.")
    return link
