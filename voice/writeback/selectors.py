from tenants.models import ClientAccount
from voice.models import Call, CallWriteBack, WriteBackSettings

# How many recent calls suggest the structured-data keys a mapping can use.
KEY_SAMPLE_CALLS = 50


def writeback_settings_for(*, client: ClientAccount) -> WriteBackSettings:
    """The client's settings, or the defaults (unsaved) until someone edits them."""
    found = WriteBackSettings.objects.filter(client=client).first()
    return found or WriteBackSettings(client=client)


def structured_data_keys(*, client: ClientAccount) -> list[str]:
    """The structured-data keys the client's recent calls answered, for the mapping form to offer."""
    recent = (
        Call.objects.filter(client=client)
        .exclude(structured_data={})
        .order_by("-created_at")
        .values_list("structured_data", flat=True)[:KEY_SAMPLE_CALLS]
    )
    keys = {key for data in recent if isinstance(data, dict) for key in data}
    return sorted(keys, key=str.lower)


def call_writeback_for(*, call: Call) -> CallWriteBack | None:
    return CallWriteBack.objects.filter(call=call).first()
