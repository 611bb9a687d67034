"""A client's GHL contact custom fields, read through its ready client and cached briefly: the write-back
mapping form lists them on every visit, and a field added or deleted in GHL shows up within minutes."""

from django.core.cache import cache

from . import selectors
from .tokens import ghl_client_for

CACHE_SECONDS = 300


def _cache_key(*, client_id: int, location_id: str) -> str:
    return f"ghl:custom-fields:{client_id}:{location_id}"


def location_custom_fields(*, client_id: int, fresh: bool = False) -> list[dict]:
    """[{"id", "name", "fieldKey", "dataType"}] of the location's contact fields, by name. Raises GhlError
    (GhlNotConnectedError when the client has no usable connection) for the page to show."""
    connection = selectors.connection_for_client_id(client_id=client_id)
    key = _cache_key(client_id=client_id, location_id=connection.location_id if connection else "")
    cached = None if fresh else cache.get(key)
    if cached is not None:
        return cached
    with ghl_client_for(client_id=client_id, deadline_seconds=10) as ghl:
        found = ghl.list_custom_fields(location_id=ghl.location_id).get("customFields") or []
    fields = sorted(
        (
            {key: str(field.get(key) or "") for key in ("id", "name", "fieldKey", "dataType")}
            for field in found
            if isinstance(field, dict) and field.get("id")
        ),
        key=lambda field: field["name"].lower(),
    )
    cache.set(key, fields, timeout=CACHE_SECONDS)
    return fields
