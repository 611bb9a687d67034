"""GHL consent: OAuth states, consent links, and the callback that turns an approval into a connection."""

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from integrations.http import ProviderError
from tenants.models import Agency, ClientAccount, User

from . import client as ghl_api
from .errors import GhlConnectError
from .models import (
    ConnectionKind,
    ConsentLink,
    GhlCompanyInstall,
    GhlConnection,
    InstallModel,
    OAuthState,
    UserType,
    secret_hash,
)
from .selectors import app_credentials_required
from .services import company_install_store, connection_store

logger = logging.getLogger(__name__)

OAUTH_STATE_LIFETIME = timedelta(minutes=10)
CONSENT_LINK_LIFETIME = timedelta(days=3)


def _session_hash(session_key: str | None) -> str:
    return secret_hash(session_key) if session_key else ""


def oauth_redirect_uri() -> str:
    """The one redirect URL: what OAuth sends GHL and what the app settings page tells staff to register."""
    return settings.PUBLIC_BASE_URL + reverse("ghl_oauth_callback")


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
    credentials = app_credentials_required(agency=client.agency)
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
        redirect_uri=oauth_redirect_uri(),
        scopes=credentials.scopes_for(install_model=InstallModel.LOCATION),
        state=state,
    )


def company_install_start(*, agency: Agency, session_key: str | None) -> str:
    """The GHL consent URL for an agency (Company) install."""
    credentials = app_credentials_required(agency=agency)
    state = _oauth_state_create(agency=agency, session_key=session_key, user_type=UserType.COMPANY)
    return ghl_api.oauth_authorize_url(
        client_id=credentials.client_id,
        redirect_uri=oauth_redirect_uri(),
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
    credentials = app_credentials_required(agency=oauth_state.agency)
    try:
        token = ghl_api.oauth_exchange_code(
            client_id=credentials.client_id,
            client_secret=credentials.client_secret,
            code=code,
            redirect_uri=oauth_redirect_uri(),
            user_type=oauth_state.user_type,
        )
    except ProviderError as exc:
        logger.warning("GHL code exchange failed: %s (trace %s)", exc.message, exc.trace_id)
        raise GhlConnectError(f"GoHighLevel did not accept the approval: {exc.message}") from exc
    if oauth_state.user_type == UserType.COMPANY:
        return company_install_store(agency=oauth_state.agency, token=token)
    if token.get("userType") != UserType.LOCATION or not token.get("locationId"):
        raise GhlConnectError("GoHighLevel approved an agency instead of one sub-account. Choose a sub-account.")
    return connection_store(
        client=oauth_state.client,
        kind=ConnectionKind.OAUTH_LOCATION,
        location_id=token["locationId"],
        token=token,
        consent_link=oauth_state.consent_link,
    )
