"""Writes for GHL connections: connect (OAuth result or Private Integration Token), disconnect, agency installs,
and the GHL webhook handlers."""

import logging
import zoneinfo

from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.http import ProviderError
from integrations.models import WebhookEvent
from tenants.models import Agency, ClientAccount
from tenants.services import client_create

from . import client as ghl_api
from . import selectors
from .errors import GhlConnectError, GhlLocationTakenError
from .models import (
    ConnectionKind,
    ConnectionStatus,
    ConsentLink,
    GhlAppCredentials,
    GhlCompanyInstall,
    GhlConnection,
    UserType,
)
from .tokens import company_access_token, location_token_mint, token_expiry

logger = logging.getLogger(__name__)


def app_credentials_save(
    *,
    agency: Agency,
    client_id: str,
    client_secret: str,
    install_model: str,
    scopes: str,
    conversation_provider_id: str = "",
) -> GhlAppCredentials:
    """Saves the agency's Marketplace app; an empty secret keeps the stored one."""
    app, _ = GhlAppCredentials.objects.get_or_create(agency=agency, defaults={"client_id": client_id})
    app.client_id = client_id
    if client_secret:
        app.client_secret = client_secret
    app.install_model = install_model
    app.scopes = " ".join(scopes.split())
    app.conversation_provider_id = conversation_provider_id.strip()
    app.save()
    return app


def _location_read(*, access_token: str, location_id: str) -> dict:
    try:
        with ghl_api.GhlClient(access_token=access_token) as api:
            return api.get_location(location_id=location_id).get("location") or {}
    except ProviderError as exc:
        logger.warning("GHL location %s could not be read: %s (trace %s)", location_id, exc.message, exc.trace_id)
        raise GhlConnectError(f"GoHighLevel would not show this sub-account: {exc.message}") from exc


def _location_taken_elsewhere(*, location_id: str, client: ClientAccount | None) -> None:
    """Raises GhlLocationTakenError, naming the holder, when another client has this location connected."""
    connection = selectors.connection_for_location(location_id)
    if connection is not None and (client is None or connection.client_id != client.pk):
        raise GhlLocationTakenError(connection.client)


def _location_checked_read(*, client: ClientAccount | None, location_id: str, token: dict) -> dict:
    """The location GHL shows for the token, refused when another client holds it (read before any transaction)."""
    _location_taken_elsewhere(location_id=location_id, client=client)
    return _location_read(access_token=token["access_token"], location_id=location_id)


def connection_store(
    *,
    client: ClientAccount,
    kind: str,
    location_id: str,
    token: dict,
    consent_link: ConsentLink | None = None,
    new_client: bool = False,
) -> GhlConnection:
    """Reads the location, then saves the connection and the spent link together or not at all.

    The sub-account's name and zone are kept on the connection; only a client made for it takes them."""
    location = _location_checked_read(client=client, location_id=location_id, token=token)
    return _connection_save(
        client=client,
        kind=kind,
        location_id=location_id,
        location=location,
        token=token,
        consent_link=consent_link,
        new_client=new_client,
    )


def _connection_save(
    *,
    client: ClientAccount,
    kind: str,
    location_id: str,
    location: dict,
    token: dict,
    consent_link: ConsentLink | None = None,
    new_client: bool = False,
) -> GhlConnection:
    now = timezone.now()
    try:
        with transaction.atomic():
            if consent_link is not None:
                link = ConsentLink.objects.select_for_update().get(pk=consent_link.pk)
                if not link.is_usable:
                    raise GhlConnectError("This link has expired or was already used. Ask your agency for a new one.")
                link.used_at = now
                link.save(update_fields=["used_at"])
            connection, _ = GhlConnection.objects.select_for_update().update_or_create(
                client=client,
                defaults={
                    "location_id": location_id,
                    "location_name": location.get("name", ""),
                    "location_time_zone": _known_zone(location.get("timezone")),
                    "company_id": token.get("companyId") or location.get("companyId", ""),
                    "kind": kind,
                    "scopes": token.get("scope", ""),
                    "access_token": token["access_token"],
                    "refresh_token": token.get("refresh_token", ""),
                    "user_type": UserType.LOCATION,
                    "expires_at": token_expiry(token) if kind != ConnectionKind.PRIVATE_TOKEN else None,
                    "status": ConnectionStatus.CONNECTED,
                    "connected_at": now,
                    "last_refreshed_at": None,
                    "last_error": "",
                },
            )
            if new_client:
                client_location_adopt(connection=connection, name=True, time_zone=True)
    except IntegrityError as exc:
        # Another client connected the same location between our check and our write.
        taken = selectors.connection_for_location(location_id)
        raise GhlLocationTakenError(taken.client if taken else None) from exc
    logger.info("GHL location %s connected to client %s (%s)", location_id, client.public_id, kind)
    return connection


def _known_zone(name) -> str:
    return name if isinstance(name, str) and name in zoneinfo.available_timezones() else ""


def client_location_adopt(*, connection: GhlConnection, name: bool, time_zone: bool) -> list[str]:
    """Gives the client the sub-account's name and/or time zone, as staff chose; returns the fields changed."""
    client = connection.client
    fields = []
    if name and connection.location_name and connection.location_name != client.name:
        client.name = connection.location_name[:120]
        fields.append("name")
    if time_zone and connection.location_time_zone and connection.location_time_zone != client.time_zone:
        client.time_zone = connection.location_time_zone
        fields.append("time_zone")
    if fields:
        client.save(update_fields=fields)
    return fields


def connection_connect_private_token(*, client: ClientAccount, location_id: str, token: str) -> GhlConnection:
    """Connects with a sub-account's Private Integration Token, checked against the location first."""
    return connection_store(
        client=client,
        kind=ConnectionKind.PRIVATE_TOKEN,
        location_id=location_id.strip(),
        token={"access_token": token.strip(), "scope": ""},
    )


def connection_disconnect(*, connection: GhlConnection) -> None:
    """Forgets the tokens; the row stays so staff see the client was disconnected."""
    connection.access_token = ""
    connection.refresh_token = ""
    connection.expires_at = None
    connection.status = ConnectionStatus.DISCONNECTED
    connection.save(update_fields=["access_token", "refresh_token", "expires_at", "status", "updated_at"])
    logger.info("GHL location %s disconnected from client %s", connection.location_id, connection.client_id)


# Agency (Company) installs


def company_install_store(*, agency: Agency, token: dict) -> GhlCompanyInstall:
    if token.get("userType") != UserType.COMPANY or not token.get("companyId"):
        raise GhlConnectError("GoHighLevel approved a single sub-account; an agency install needs the agency.")
    try:
        install, _ = GhlCompanyInstall.objects.update_or_create(
            agency=agency,
            defaults={
                "company_id": token["companyId"],
                "scopes": token.get("scope", ""),
                "access_token": token["access_token"],
                "refresh_token": token.get("refresh_token", ""),
                "expires_at": token_expiry(token),
                "installed_at": timezone.now(),
                "last_error": "",
            },
        )
    except IntegrityError as exc:
        raise GhlConnectError("This GoHighLevel agency is already installed for another AgencyHub agency.") from exc
    logger.info("GHL company %s installed for agency %s", install.company_id, agency.slug)
    return install


def company_installed_locations(*, install: GhlCompanyInstall) -> list[dict]:
    """The locations GHL says the app is installed in, each marked with the client it is connected to."""
    credentials = selectors.app_credentials_required(agency=install.agency)
    try:
        answer = ghl_api.oauth_installed_locations(
            company_access_token=company_access_token(install=install),
            company_id=install.company_id,
            app_id=credentials.app_id,
        )
    except ProviderError as exc:
        raise GhlConnectError(f"GoHighLevel would not list the installed sub-accounts: {exc.message}") from exc
    connected = {
        c.location_id: c.client
        for c in GhlConnection.objects.filter(client__agency=install.agency)
        .exclude(status=ConnectionStatus.DISCONNECTED)
        .select_related("client")
    }
    # Templates cannot read "_id", so each location also carries it as "id".
    rows = [{**location, "id": location.get("_id") or location.get("id", "")} for location in answer["locations"]]
    return [{**row, "client": connected.get(row["id"])} for row in rows]


def company_location_connect(
    *, install: GhlCompanyInstall, location_id: str, client: ClientAccount | None = None, name: str = ""
) -> GhlConnection:
    """Connects one installed location: to the given client, or to a new client created for it."""
    if client is not None and client.agency_id != install.agency_id:
        raise GhlConnectError("That client belongs to another agency.")
    try:
        token = location_token_mint(install=install, location_id=location_id)
    except ProviderError as exc:
        raise GhlConnectError(f"GoHighLevel would not issue a token for {name or location_id}: {exc.message}") from exc
    token.setdefault("companyId", install.company_id)
    location = _location_checked_read(client=client, location_id=location_id, token=token)
    with transaction.atomic():
        new_client = client is None
        if new_client:
            # The time zone is a placeholder: a client made for the location takes GHL's name and zone.
            client = client_create(agency=install.agency, name=(name or location_id)[:120], time_zone="UTC")
        return _connection_save(
            client=client,
            kind=ConnectionKind.OAUTH_AGENCY,
            location_id=location_id,
            location=location,
            token=token,
            new_client=new_client,
        )


def company_install_remove(*, install: GhlCompanyInstall) -> None:
    """Forgets the company token and every location token minted from it."""
    install.access_token = ""
    install.refresh_token = ""
    install.expires_at = None
    install.save(update_fields=["access_token", "refresh_token", "expires_at", "updated_at"])
    for connection in GhlConnection.objects.filter(
        client__agency=install.agency, kind=ConnectionKind.OAUTH_AGENCY
    ).exclude(status=ConnectionStatus.DISCONNECTED):
        connection_disconnect(connection=connection)


# Webhook handlers (registered with the inbox in apps.py); the payload is already verified.


def ghl_install(event: WebhookEvent) -> None:
    """INSTALL of a location under a stored agency install: mint its token and connect a client for it."""
    payload = event.body
    location_id, company_id = payload.get("locationId"), payload.get("companyId")
    if not location_id or not company_id:
        return
    install = GhlCompanyInstall.objects.select_related("agency").filter(company_id=company_id).first()
    if install is None or not install.is_active or selectors.connection_for_location(location_id) is not None:
        return
    company_location_connect(install=install, location_id=location_id)


def ghl_uninstall(event: WebhookEvent) -> None:
    """UNINSTALL: a location's tokens are deleted; an agency uninstall removes the company token too."""
    payload = event.body
    if payload.get("locationId"):
        connection = selectors.connection_for_location(payload["locationId"])
        if connection is not None:
            connection_disconnect(connection=connection)
        return
    install = GhlCompanyInstall.objects.select_related("agency").filter(company_id=payload.get("companyId")).first()
    if install is not None:
        company_install_remove(install=install)


def ghl_location_update(event: WebhookEvent) -> None:
    """LocationUpdate: the connection notes the sub-account's new name (and zone, if sent); the client page
    then offers them to staff, and the client keeps its own until they choose."""
    payload = event.body
    connection = selectors.connection_for_location(payload.get("id") or payload.get("locationId") or "")
    if connection is None:
        return
    updates = {"location_name": str(payload.get("name") or "")[:200]} if payload.get("name") else {}
    if _known_zone(payload.get("timezone")):
        updates["location_time_zone"] = payload["timezone"]
    if updates:
        GhlConnection.objects.filter(pk=connection.pk).update(**updates)
