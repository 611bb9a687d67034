"""What tenants tells the apps above it (they subscribe in their AppConfig.ready())."""

from django.dispatch import Signal

# A client's call start changed (ClientAccount.call_start): sent with `client_id`, once the write is committed.
call_start_changed = Signal()
