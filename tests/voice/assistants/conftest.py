import pytest

from integrations.vapi import client as vapi_client
from integrations.vapi.sandbox import SANDBOX_API_KEY, VapiSandboxTransport
from tests.factories import AssistantFactory
from tests.faults.ghl_fault_transport import GhlFaults
from voice.assistants import vapi_org


@pytest.fixture
def keyed(cast):
    """The cast, with agency A's Vapi private key saved."""
    vapi_org.vapi_account_key_save(agency=cast.agency, api_key="vapi-private-key")
    return cast


@pytest.fixture
def vapi_faults(monkeypatch, settings) -> GhlFaults:
    """Vapi is the sandbox behind a transport that can stall or lose answers."""
    faults = GhlFaults(sandbox=VapiSandboxTransport())
    monkeypatch.setattr(vapi_client, "_transport", lambda: faults)
    # A lost answer costs the read timeout: half a second here instead of the production 20 s.
    monkeypatch.setattr(vapi_client, "REQUEST_TIMEOUT_SECONDS", 0.5)
    settings.QUEUED_WORK_GRACE_SECONDS = 60
    return faults


@pytest.fixture
def assistant(cast, vapi_faults):
    """A new assistant, not yet in Vapi, of an agency whose Vapi key is the sandbox's."""
    vapi_org.vapi_account_key_save(agency=cast.agency, api_key=SANDBOX_API_KEY)
    return AssistantFactory(client=cast.client_account, name="Front desk", vapi_id="")
