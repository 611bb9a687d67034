from django.db.models import QuerySet

from tenants.models import ClientAccount
from voice.models import Call, MessagingSettings, TextMessage


def messaging_settings_for(*, client: ClientAccount) -> MessagingSettings:
    """The client's settings, or the defaults (unsaved) until someone edits them."""
    found = MessagingSettings.objects.filter(client=client).first()
    return found or MessagingSettings(client=client)


def client_text_messages(*, client: ClientAccount) -> QuerySet[TextMessage]:
    return TextMessage.objects.filter(client=client).select_related("booking", "call").order_by("-send_at", "-id")


def call_text_messages(*, call: Call) -> list[TextMessage]:
    return list(TextMessage.objects.filter(call=call).order_by("created_at", "id"))
