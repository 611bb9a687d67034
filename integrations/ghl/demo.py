"""Sandbox demo: clients connected to sandbox locations through the real consent flow."""

from urllib.parse import parse_qs, urlsplit

from tenants.models import Agency, ClientAccount

from . import oauth, services
from .models import DEFAULT_SCOPES, ConnectionStatus, GhlAppCredentials, GhlConnection, InstallModel
from .sandbox import sandbox_authorization_code_create, sandbox_locations, sandbox_seed

DEMO_APP_CLIENT_ID = "sandbox-demo-app-mf58ywbo"


def sandbox_connect(*, client: ClientAccount, location_id: str) -> GhlConnection:
    """Connects the client as if its admin had approved the sandbox consent page for that location:
    state, code exchange and location read all run as they do for real."""
    app = GhlAppCredentials.objects.filter(agency=client.agency).first() or services.app_credentials_save(
        agency=client.agency,
        client_id=DEMO_APP_CLIENT_ID,
        client_secret="sandbox-demo-secret",
        install_model=InstallModel.LOCATION,
        scopes=DEFAULT_SCOPES,
    )
    query = parse_qs(urlsplit(oauth.client_oauth_start(client=client, session_key=None)).query)
    code = sandbox_authorization_code_create(
        client_id=app.client_id,
        redirect_uri=query["redirect_uri"][0],
        scopes=query["scope"][0].split(),
        location_id=location_id,
    )
    return oauth.oauth_callback_complete(state=query["state"][0], code=code, session_key=None)


def demo_connections_seed(*, agency: Agency) -> list[GhlConnection]:
    """Idempotent: each client named like a sandbox location is connected to it."""
    sandbox_seed()
    locations = {location["name"]: location["id"] for location in sandbox_locations()}
    connections = []
    for client in agency.clients.filter(name__in=locations):
        existing = GhlConnection.objects.filter(client=client, status=ConnectionStatus.CONNECTED).first()
        connections.append(existing or sandbox_connect(client=client, location_id=locations[client.name]))
    return connections
