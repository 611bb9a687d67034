import pytest

from integrations.ghl import specs
from integrations.ghl.sandbox import GhlSandboxTransport, sandbox_seed


@pytest.fixture
def spec_strays(settings, db, monkeypatch):
    """Turns the sandbox on and fails the test if any request or answer strays from GHL's v2 spec.

    A test that sends a wrong request on purpose takes the strays it expects out of the list."""
    settings.SANDBOX = True
    sandbox_seed()
    strays = []
    answer = GhlSandboxTransport.handle_request

    def checked(transport, request):
        response = answer(transport, request)
        strays.extend(specs.request_errors(request))
        strays.extend(specs.response_errors(request=request, status_code=response.status_code, body=response.json()))
        return response

    monkeypatch.setattr(GhlSandboxTransport, "handle_request", checked)
    yield strays
    assert strays == []
