from celery import shared_task

from . import oauth, tokens


@shared_task
def token_refresh(connection_id: int) -> None:
    tokens.token_refresh(connection_id=connection_id)


@shared_task
def tokens_refresh_due() -> None:
    """Beat: refresh every token expiring within the next few hours, so no live call waits on one."""
    tokens.tokens_refresh_due()


@shared_task
def oauth_states_purge() -> None:
    oauth.oauth_states_purge()
