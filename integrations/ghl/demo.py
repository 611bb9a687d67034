"""Sandbox demo: the demo agency's clients connected to sandbox locations through the real consent flow."""

from urllib.parse import parse_qs, urlsplit

from tenants.models import Agency

from . import services
from .models import DEFAULT_SCOPES, GhlAppCredentials, GhlConnection, InstallModel
from .sandbox import sandbox_authorization_code_create, sandbox_locations, sandbox_seed

DEMO_APP_CLIENT_ID = "sandbox-demo-app-mf58ywbo"


def demo_connections_seed(*, agency: Agency) -> list[GhlConnection]:
    """Idempotent: each client whose name matches a sandbox location gets connected to it, as if its
    admin had approved the consent page (state, code exchange, location read: nothing skipped)."""
    sandbox_seed()
    app = GhlAppCredentials.objects.filter(agency=agency).first() or services.app_credentials_save(
        agency=agency,
        client_id=DEMO_APP_CLIENT_ID,
        client_secret="sandbox-demo-secret",
        install_model=InstallModel.LOCATION,
        scopes=DEFAULT_SCOPES,
    )
    locations = {location["name"]: location for location in sandbox_locations()}
    connections = []
    for client in agency.clients.filter(name__in=locations):
        existing = GhlConnection.objects.filter(client=client).first()
        if existing is not None and existing.status == "connected":
            connections.append(existing)
            continue
        authorize_url = services.client_oauth_start(client=client, session_key=None)
        query = parse_qs(urlsplit(authorize_url).query)
        code = sandbox_authorization_code_create(
            client_id=app.client_id,
            redirect_uri=query["redirect_uri"][0],
            scopes=query["scope"][0].split(),
            location_id=locations[client.name]["id"],
        )
        connections.append(services.oauth_callback_complete(state=query["state"][0], code=code, session_key=None))
    return connections
