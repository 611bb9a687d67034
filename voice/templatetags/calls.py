from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()


@register.filter
def minutes_seconds(seconds) -> str:
    """125 -> "2:05"; an unknown duration is a dash."""
    if seconds is None or seconds == "":
        return "—"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"


@register.simple_tag
def client_call_url(call, client) -> str:
    """The client's own page of a call, or "" while no such page is installed (then the row has no link)."""
    try:
        return reverse("client_call_detail", kwargs={"client_id": client.public_id, "call_id": call.public_id})
    except NoReverseMatch:
        return ""
