"""What this package tells the layers above it (they subscribe in their AppConfig.ready; DESIGN.md "Layout")."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal

from .models import GhlConnection

# Sent with `client_id` whenever a client's GHL connection is saved or deleted.
connection_changed = Signal()


def _connection_written(sender, instance, **kwargs):
    connection_changed.send(sender=GhlConnection, client_id=instance.client_id)


def receivers_connect() -> None:
    post_save.connect(_connection_written, sender=GhlConnection, dispatch_uid="ghl_connection_changed_save")
    post_delete.connect(_connection_written, sender=GhlConnection, dispatch_uid="ghl_connection_changed_delete")
