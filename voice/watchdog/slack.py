"""A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat, Discord's /slack URL): POST {"text": ...}."""

from integrations.http import ProviderError, ProviderHttp

POST_SECONDS = 10.0


class AlertWebhookError(ProviderError):
    """The agency's incoming webhook refused or did not answer the alert."""


class AlertWebhookHttp(ProviderHttp):
    errors = AlertWebhookError


def alert_webhook_post(*, url: str, text: str) -> None:
    # Two attempts at most: an alert a few seconds late beats a watchdog run held up by a chat server.
    http = AlertWebhookHttp(base_url="", timeout=POST_SECONDS, max_attempts=2)
    try:
        http.request("POST", url, json={"text": text})
    finally:
        http.close()
