"""GHL tokens: refresh under a row lock, the beat's refresh ahead of expiry, and the one ready client voice uses."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from agencyhub.enqueue import enqueue
from integrations.http import ProviderError

from . import client as ghl_api
from . import selectors
from .errors import GhlConnectError, GhlInvalidGrant, GhlNotConnectedError
from .models import ConnectionKind, ConnectionStatus, GhlCompanyInstall, GhlConnection, UserType

logger = logging.getLogger(__name__)

# A token expiring sooner than this is refreshed before use: a live call must not hold a dying token.
REFRESH_MARGIN = timedelta(minutes=10)
# The beat task refreshes everything expiring within this window, well ahead of any call.
REFRESH_AHEAD = timedelta(hours=3)
# Left on a due token used as it is while its refresh runs in the background (connection_access_token).
TOKEN_SPARE = timedelta(minutes=1)


def token_expiry(token: dict) -> datetime:
    # GHL documents about a day; the SDKs assume a day when expires_in is absent.
    return timezone.now() + timedelta(seconds=int(token.get("expires_in") or 86399))


def _token_apply(connection: GhlConnection, token: dict) -> None:
    connection.access_token = token["access_token"]
    connection.refresh_token = token.get("refresh_token", "")
    connection.expires_at = token_expiry(token)
    if token.get("scope"):
        connection.scopes = token["scope"]
    connection.status = ConnectionStatus.CONNECTED
    connection.last_refreshed_at = timezone.now()
    connection.last_error = ""


def token_refresh(*, connection_id: int, margin: timedelta = REFRESH_MARGIN, refused_token: str = "") -> GhlConnection:
    """Refreshes a connection's token under a row lock: only one rotation, whatever the number of workers.

    GHL refresh tokens are single-use, so the row is re-read under the lock and a token another
    worker already refreshed is used as it is. With `refused_token` (GHL called it invalid), that token is
    replaced whatever its expiry says, unless another worker replaced it already.
    """
    with transaction.atomic():
        connection = (
            GhlConnection.objects.select_for_update(of=("self",)).select_related("client__agency").get(pk=connection_id)
        )
        if connection.status != ConnectionStatus.CONNECTED or connection.kind == ConnectionKind.PRIVATE_TOKEN:
            return connection
        if refused_token:
            if connection.access_token != refused_token:
                return connection
        elif connection.expires_at and connection.expires_at > timezone.now() + margin:
            return connection
        try:
            # By design the one HTTP call made under a lock: a single-use refresh token must rotate once.
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
    credentials = selectors.app_credentials_required(agency=connection.client.agency)
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
            return location_token_mint(install=install, location_id=connection.location_id)
        except (ProviderError, GhlNotConnectedError) as exc:
            # Neither the location token nor the company token works: only a reconnect helps.
            raise invalid from exc


def connection_access_token(*, connection: GhlConnection, needed_for: timedelta | None = None) -> str:
    """A valid access token for the connection, refreshed first when it is about to expire.

    With `needed_for` (the work has a deadline, a caller may be waiting on it), a token that is due but still
    outlives the work by TOKEN_SPARE is used as it is and refreshed in the background: a refresh is never cut
    short (GHL's refresh tokens are single-use: a response lost to a deadline would lose the connection), so
    only a token that would expire mid-work is refreshed before it."""
    if connection.kind == ConnectionKind.PRIVATE_TOKEN and connection.status == ConnectionStatus.CONNECTED:
        return connection.access_token
    now = timezone.now()
    if connection.status == ConnectionStatus.CONNECTED and connection.expires_at:
        if connection.expires_at > now + REFRESH_MARGIN:
            return connection.access_token
        if needed_for is not None and connection.expires_at > now + needed_for + TOKEN_SPARE:
            from .tasks import token_refresh_task  # the tasks module imports this one

            enqueue(token_refresh_task, connection.pk)
            return connection.access_token
    fresh = token_refresh(connection_id=connection.pk)
    if fresh.status != ConnectionStatus.CONNECTED or not fresh.expires_at or fresh.expires_at <= timezone.now():
        raise GhlNotConnectedError(fresh.last_error or f"GoHighLevel connection is {fresh.get_status_display()}.")
    return fresh.access_token


@contextmanager
def ghl_client_for(*, client_id: int, deadline_seconds: float | None = None) -> Iterator[ghl_api.GhlClient]:
    """The one way in for callers outside this package: a client for the client account's location, with a
    token refreshed if due, closed when the block ends. Raises GhlNotConnectedError when nothing usable is there.

    Nothing is read before the block is entered, so building the context manager is free."""
    connection = selectors.connection_for_client_id(client_id=client_id)
    if connection is None:
        raise GhlNotConnectedError("This client is not connected to GoHighLevel.")
    if connection.status != ConnectionStatus.CONNECTED:
        reason = connection.last_error or f"GoHighLevel connection is {connection.get_status_display()}."
        raise GhlNotConnectedError(reason)
    needed_for = timedelta(seconds=deadline_seconds) if deadline_seconds is not None else None
    token = connection_access_token(connection=connection, needed_for=needed_for)

    def token_renew(refused: str) -> str:
        fresh = token_refresh(connection_id=connection.pk, refused_token=refused)
        if fresh.status != ConnectionStatus.CONNECTED or fresh.access_token == refused:
            raise GhlNotConnectedError(fresh.last_error or "GoHighLevel refused the access token.")
        return fresh.access_token

    with ghl_api.GhlClient(
        access_token=token,
        location_id=connection.location_id,
        deadline_seconds=deadline_seconds,
        token_renew=token_renew,
    ) as ghl:
        yield ghl


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
        credentials = selectors.app_credentials_required(agency=install.agency)
        try:
            # By design under the row lock, like token_refresh: the company refresh token is single-use too.
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
        install.expires_at = token_expiry(token)
        install.last_refreshed_at = timezone.now()
        install.last_error = ""
        install.save()
    return install


def location_token_mint(*, install: GhlCompanyInstall, location_id: str) -> dict:
    """A location token minted from the agency install's company token."""
    return ghl_api.oauth_location_token(
        company_access_token=company_access_token(install=install),
        company_id=install.company_id,
        location_id=location_id,
    )
