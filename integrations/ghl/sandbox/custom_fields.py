"""The sandbox's location custom fields, which contact updates must name by id."""

from . import replies, store
from .replies import SandboxCall


def custom_fields_list(call: SandboxCall) -> tuple[int, dict]:
    location_id = call.args[0]
    replies.check_location(call, location_id)
    fields = store.objects("custom_field").filter(parent_id=location_id).order_by("object_id")
    model = call.query.get("model", "all")
    found = [field.data for field in fields if model == "all" or field.data["model"] == model]
    return 200, {"customFields": found}


def unknown_field_ids(*, location_id: str, field_ids: list[str]) -> list[str]:
    known = set(store.objects("custom_field").filter(parent_id=location_id).values_list("object_id", flat=True))
    return [field_id for field_id in field_ids if field_id not in known]
