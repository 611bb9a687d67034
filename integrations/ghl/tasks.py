from celery import shared_task

from . import services


@shared_task
def token_refresh_task(connection_id: int) -> None:
    services.token_refresh(connection_id=connection_id)


@shared_task
def tokens_refresh_due_task() -> None:
    """Beat: refresh every token expiring within the next few hours, so no live call waits on one."""
    services.tokens_refresh_due()


@shared_task
def oauth_states_purge_task() -> None:
    services.oauth_states_purge()
