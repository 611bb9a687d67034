from celery import shared_task

from . import oauth, tokens


@shared_task
def token_refresh_task(connection_id: int) -> None:
    tokens.token_refresh(connection_id=connection_id)


@shared_task
def tokens_refresh_due_task() -> None:
    """Beat: refresh every token expiring within the next few hours, so no live call waits on one."""
    tokens.tokens_refresh_due()


@shared_task
def oauth_states_purge_task() -> None:
    oauth.oauth_states_purge()
