"""Writes for GHL connections: OAuth consent, Private Integration Tokens, agency installs, token refresh."""

import logging
import secrets
import zoneinfo
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from integrations.ghl.errors import GhlConnectError, GhlInvalidGrant, GhlLocationTakenError, GhlNotConnectedError
from integrations.ghl.selectors import AppCredentials
from integrations.http import ProviderError
from integrations.models import WebhookEvent
from tenants.models import Agency, ClientAccount, User
from tenants.services import client_create

from . import client as ghl_api
from . import selectors
from .models import (
    ConnectionKind,
    ConnectionStatus,
    ConsentLink,
    GhlAppCredentials,
    GhlCompanyInstall,
    GhlConnection,
    InstallModel,
    OAuthState,
    UserType,
    secret_hash,
)

logger = logging.getLogger(__name__)

OAUTH_STATE_LIFETIME = timedelta(minutes=10)
CONSENT_LINK_LIFETIME = timedelta(days=3)
# A token expiring sooner than this is refreshed before use: a live call must not hold a dying token.
REFRESH_MARGIN = timedelta(minutes=10)
# The beat task refreshes everything expiring within this window, well ahead of any call.
REFRESH_AHEAD = timedelta(hours=3)


def _session_hash(session_key: str | None) -> str:
    return secret_hash(session_key) if session_key else ""


def _redirect_uri() -> str:
    return settings.PUBLIC_BASE_URL + reverse("ghl_oauth_callback")


def _credentials(agency: Agency) -> AppCredentials:
    credentials = selectors.app_credentials_for_agency(agency=agency)
    if credentials is None:
        raise GhlConnectError(f"{agency.name} has not set up its GoHighLevel app yet.")
    return credentials


def _expiry(token: dict) -> datetime:
    # GHL documents about a day; the SDKs assume a day when expires_in is absent.
    return timezone.now() + timedelta(seconds=int(token.get("expires_in") or 86399))


def app_credentials_save(
    *, agency: Agency, client_id: str, client_secret: str, install_model: str, scopes: str
) -> GhlAppCredentials:
    """Saves the agency's Marketplace app; an empty secret keeps the stored one."""
    app, _ = GhlAppCredentials.objects.get_or_create(agency=agency, defaults={"client_id": client_id})
    app.client_id = client_id
    if client_secret:
        app.client_secret = client_secret
    app.install_model = install_model
    app.scopes = " ".join(scopes.split())
    app.save()
    return app


def _oauth_state_create(
    *,
    agency: Agency,
    session_key: str | None,
    user_type: str,
    client: ClientAccount | None = None,
    consent_link: ConsentLink | None = None,
) -> str:
    state = secrets.token_urlsafe(32)
    OAuthState.objects.create(
        state_hash=secret_hash(state),
        agency=agency,
        client=client,
        consent_link=consent_link,
        user_type=user_type,
        session_hash=_session_hash(session_key),
        expires_at=timezone.now() + OAUTH_STATE_LIFETIME,
    )
    return state


def client_oauth_start(
    *, client: ClientAccount, session_key: str | None, consent_link: ConsentLink | None = None
) -> str:
    """The GHL location chooser URL for connecting this client (staff Connect or a consent link)."""
    credentials = _credentials(client.agency)
    if consent_link is not None and not consent_link.is_usable:
        raise GhlConnectError("This link has expired or was already used. Ask your agency for a new one.")
    state = _oauth_state_create(
        agency=client.agency,
        client=client,
        consent_link=consent_link,
        session_key=session_key,
        user_type=UserType.LOCATION,
    )
    return ghl_api.oauth_authorize_url(
        client_id=credentials.client_id,
        redirect_uri=_redirect_uri(),
        scopes=credentials.scopes_for(install_model=InstallModel.LOCATION),
        state=state,
    )


def company_install_start(*, agency: Agency, session_key: str | None) -> str:
    """The GHL consent URL for an agency (Company) install."""
    credentials = _credentials(agency)
    state = _oauth_state_create(agency=agency, session_key=session_key, user_type=UserType.COMPANY)
    return ghl_api.oauth_authorize_url(
        client_id=credentials.client_id,
        redirect_uri=_redirect_uri(),
        scopes=credentials.scopes_for(install_model=InstallModel.AGENCY),
        state=state,
    )


def consent_link_create(*, client: ClientAccount, created_by: User) -> tuple[ConsentLink, str]:
    """A new consent link and its raw token; only the hash is stored, so the URL is shown once."""
    token = secrets.token_urlsafe(32)
    link = ConsentLink.objects.create(
        client=client,
        token_hash=secret_hash(token),
        created_by=created_by,
        expires_at=timezone.now() + CONSENT_LINK_LIFETIME,
    )
    return link, token


def oauth_state_consume(*, state: str, session_key: str | None) -> OAuthState:
    """Spends a state exactly once; bad, replayed, expired or foreign-session states raise."""
    if not state:
        raise GhlConnectError("The answer from GoHighLevel did not say which connection it was for.")
    with transaction.atomic():
        row = (
            OAuthState.objects.select_for_update(of=("self",))
            .select_related("agency", "client", "consent_link")
            .filter(state_hash=secret_hash(state))
            .first()
        )
        if row is None:
            raise GhlConnectError("This connection attempt is not recognised. Start again from AgencyHub.")
        if row.used_at is not None:
            raise GhlConnectError("This connection attempt was already completed. Start again to reconnect.")
        if row.expires_at <= timezone.now():
            raise GhlConnectError("This connection attempt took too long and expired. Please start again.")
        if row.session_hash and row.session_hash != _session_hash(session_key):
            raise GhlConnectError("This connection attempt was started in another browser session.")
        row.used_at = timezone.now()
        row.save(update_fields=["used_at"])
    return row


def oauth_states_purge() -> int:
    """Deletes spent and expired OAuth states and consent links; they only matter until they expire."""
    now = timezone.now()
    states, _ = OAuthState.objects.filter(expires_at__lt=now).delete()
    links, _ = ConsentLink.objects.filter(expires_at__lt=now - CONSENT_LINK_LIFETIME).delete()
    return states + links


def oauth_callback_complete(*, state: str, code: str, session_key: str | None) -> GhlConnection | GhlCompanyInstall:
    """Completes a consent: spend the state, exchange the code, store the connection or the company install."""
    oauth_state = oauth_state_consume(state=state, session_key=session_key)
    credentials = _credentials(oauth_state.agency)
    try:
        token = ghl_api.oauth_exchange_code(
            client_id=credentials.client_id,
            client_secret=credentials.client_secret,
            code=code,
            redirect_uri=_redirect_uri(),
            user_type=oauth_state.user_type,
        )
    except ProviderError as exc:
        logger.warning("GHL code exchange failed: %s (trace %s)", exc.message, exc.trace_id)
        raise GhlConnectError(f"GoHighLevel did not accept the approval: {exc.message}") from exc
    if oauth_state.user_type == UserType.COMPANY:
        return _company_install_store(agency=oauth_state.agency, token=token)
    if token.get("userType") != UserType.LOCATION or not token.get("locationId"):
        raise GhlConnectError("GoHighLevel approved an agency instead of one sub-account. Choose a sub-account.")
    return _connection_store(
        client=oauth_state.client,
        kind=ConnectionKind.OAUTH_LOCATION,
        location_id=token["locationId"],
        token=token,
        consent_link=oauth_state.consent_link,
    )


def _location_read(*, access_token: str, location_id: str) -> dict:
    try:
        with ghl_api.GhlClient(access_token=access_token) as api:
            return api.get_location(location_id=location_id).get("location") or {}
    except ProviderError as exc:
        logger.warning("GHL location %s could not be read: %s (trace %s)", location_id, exc.message, exc.trace_id)
        raise GhlConnectError(f"GoHighLevel would not show this sub-account: {exc.message}") from exc


def _location_taken_elsewhere(*, location_id: str, client: ClientAccount) -> None:
    """Raises GhlLocationTakenError, naming the holder, when another client has this location connected."""
    connection = selectors.connection_for_location(location_id)
    if connection is not None and connection.client_id != client.pk:
        raise GhlLocationTakenError(connection.client)


def _connection_store(
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
    _location_taken_elsewhere(location_id=location_id, client=client)
    location = _location_read(access_token=token["access_token"], location_id=location_id)
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
                    "expires_at": _expiry(token) if kind != ConnectionKind.PRIVATE_TOKEN else None,
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
    return _connection_store(
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


def _token_apply(connection: GhlConnection, token: dict) -> None:
    connection.access_token = token["access_token"]
    connection.refresh_token = token.get("refresh_token", "")
    connection.expires_at = _expiry(token)
    if token.get("scope"):
        connection.scopes = token["scope"]
    connection.status = ConnectionStatus.CONNECTED
    connection.last_refreshed_at = timezone.now()
    connection.last_error = ""


def token_refresh(*, connection_id: int, margin: timedelta = REFRESH_MARGIN) -> GhlConnection:
    """Refreshes a connection's token under a row lock: only one rotation, whatever the number of workers.

    GHL refresh tokens are single-use, so the row is re-read under the lock and a token another
    worker already refreshed is used as it is.
    """
    with transaction.atomic():
        connection = (
            GhlConnection.objects.select_for_update(of=("self",)).select_related("client__agency").get(pk=connection_id)
        )
        if connection.status != ConnectionStatus.CONNECTED or connection.kind == ConnectionKind.PRIVATE_TOKEN:
            return connection
        if connection.expires_at and connection.expires_at > timezone.now() + margin:
            return connection
        try:
            token = _location_token_renew(connection)
        except GhlInvalidGrant as exc:
            logger.warning("GHL refresh of location %s refused: %s", connection.location_id, exc.message)
            connection.status = ConnectionStatus.NEEDS_RECONNECT
            connection.last_error = exc.message
        except ProviderError as exc:
            # "Location is not active", timeouts, 5xx: not a revocation; the same refresh token works later.
            logger.warning("GHL refresh of location %s failed: %s", connection.location_id, exc)
            connection.last_error = exc.message
        except GhlConnectError as exc:
            connection.last_error = str(exc)
        else:
            _token_apply(connection, token)
        connection.save()
    return connection


def _location_token_renew(connection: GhlConnection) -> dict:
    """A new token for the location: refresh it, and for an agency install fall back to minting one."""
    credentials = _credentials(connection.client.agency)
    try:
        return ghl_api.oauth_refresh(
            client_id=credentials.client_id,
            client_secret=credentials.client_secret,
            refresh_token=connection.refresh_token,
            user_type=connection.user_type,
        )
    except GhlInvalidGrant as invalid:
        install = selectors.company_install_for_agency(agency=connection.client.agency)
        if connection.kind != ConnectionKind.OAUTH_AGENCY or install is None or not install.is_active:
            raise
        try:
            return _location_token_mint(install=install, location_id=connection.location_id)
        except (ProviderError, GhlNotConnectedError) as exc:
            # Neither the location token nor the company token works: only a reconnect helps.
            raise invalid from exc


def connection_access_token(*, connection: GhlConnection) -> str:
    """A valid access token for the connection, refreshed first when it is about to expire."""
    if connection.kind == ConnectionKind.PRIVATE_TOKEN and connection.status == ConnectionStatus.CONNECTED:
        return connection.access_token
    if (
        connection.status == ConnectionStatus.CONNECTED
        and connection.expires_at
        and connection.expires_at > timezone.now() + REFRESH_MARGIN
    ):
        return connection.access_token
    fresh = token_refresh(connection_id=connection.pk)
    if fresh.status != ConnectionStatus.CONNECTED or not fresh.expires_at or fresh.expires_at <= timezone.now():
        raise GhlNotConnectedError(fresh.last_error or f"GoHighLevel connection is {fresh.get_status_display()}.")
    return fresh.access_token


def tokens_refresh_due(*, within: timedelta = REFRESH_AHEAD) -> list[int]:
    """Refreshes every token expiring within the window; returns the connection ids it looked at."""
    for install_id in selectors.company_installs_due_for_refresh(within=within).values_list("pk", flat=True):
        try:
            company_token_refresh(install_id=install_id, margin=within)
        except (GhlConnectError, GhlNotConnectedError) as exc:
            logger.warning("GHL company install %s was not refreshed: %s", install_id, exc)
    ids = list(selectors.connections_due_for_refresh(within=within).values_list("pk", flat=True))
    for connection_id in ids:
        token_refresh(connection_id=connection_id, margin=within)
    return ids


# Agency (Company) installs


def _company_install_store(*, agency: Agency, token: dict) -> GhlCompanyInstall:
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
                "expires_at": _expiry(token),
                "installed_at": timezone.now(),
                "last_error": "",
            },
        )
    except IntegrityError as exc:
        raise GhlConnectError("This GoHighLevel agency is already installed for another AgencyHub agency.") from exc
    logger.info("GHL company %s installed for agency %s", install.company_id, agency.slug)
    return install


def company_access_token(*, install: GhlCompanyInstall) -> str:
    """A valid company token, refreshed first when it is about to expire."""
    if install.is_active and install.expires_at and install.expires_at > timezone.now() + REFRESH_MARGIN:
        return install.access_token
    return company_token_refresh(install_id=install.pk).access_token


def company_token_refresh(*, install_id: int, margin: timedelta = REFRESH_MARGIN) -> GhlCompanyInstall:
    """Refreshes the company token under the install's row lock, like token_refresh for locations."""
    with transaction.atomic():
        install = GhlCompanyInstall.objects.select_for_update(of=("self",)).select_related("agency").get(pk=install_id)
        if not install.is_active:
            raise GhlNotConnectedError("The agency install was removed. Install the app again.")
        if install.expires_at and install.expires_at > timezone.now() + margin:
            return install
        credentials = _credentials(install.agency)
        try:
            token = ghl_api.oauth_refresh(
                client_id=credentials.client_id,
                client_secret=credentials.client_secret,
                refresh_token=install.refresh_token,
                user_type=UserType.COMPANY,
            )
        except ProviderError as exc:
            install.last_error = exc.message
            install.save(update_fields=["last_error", "updated_at"])
            raise GhlNotConnectedError(f"GoHighLevel refused the agency token: {exc.message}") from exc
        install.access_token = token["access_token"]
        install.refresh_token = token.get("refresh_token", install.refresh_token)
        install.expires_at = _expiry(token)
        install.last_refreshed_at = timezone.now()
        install.last_error = ""
        install.save()
    return install


def _location_token_mint(*, install: GhlCompanyInstall, location_id: str) -> dict:
    return ghl_api.oauth_location_token(
        company_access_token=company_access_token(install=install),
        company_id=install.company_id,
        location_id=location_id,
    )


def company_installed_locations(*, install: GhlCompanyInstall) -> list[dict]:
    """The locations GHL says the app is installed in, each marked with the client it is connected to."""
    credentials = _credentials(install.agency)
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
        token = _location_token_mint(install=install, location_id=location_id)
    except ProviderError as exc:
        raise GhlConnectError(f"GoHighLevel would not issue a token for {name or location_id}: {exc.message}") from exc
    token.setdefault("companyId", install.company_id)
    with transaction.atomic():
        if client is None:
            # The time zone is a placeholder: the location read below replaces it with GHL's.
            client = client_create(agency=install.agency, name=(name or location_id)[:120], time_zone="UTC")
            return _connection_store(
                client=client, kind=ConnectionKind.OAUTH_AGENCY, location_id=location_id, token=token, new_client=True
            )
        return _connection_store(client=client, kind=ConnectionKind.OAUTH_AGENCY, location_id=location_id, token=token)


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
