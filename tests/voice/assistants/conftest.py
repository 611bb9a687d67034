import pytest

from voice.assistants import vapi_org


@pytest.fixture
def keyed(cast):
    """The cast, with agency A's Vapi private key saved."""
    vapi_org.vapi_account_key_save(agency=cast.agency, api_key="vapi-private-key")
    return cast
