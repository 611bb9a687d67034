"""GoHighLevel's errors: one family under the shared ProviderError (DESIGN.md "GHL connection")."""

from integrations.http import (
    ProviderAuthError,
    ProviderError,
    ProviderNotFound,
    ProviderOutcomeUnknown,
    ProviderRateLimited,
    ProviderServerError,
    ProviderTimeout,
    ProviderValidationError,
)


class GhlError(ProviderError):
    """Any refusal or failure from GoHighLevel, or a client account that cannot reach it."""


class GhlTimeout(GhlError, ProviderTimeout):
    pass


class GhlOutcomeUnknown(GhlError, ProviderOutcomeUnknown):
    """GHL got the request but its answer was lost (read timeout, reset): a write may have happened."""


class GhlRateLimited(GhlError, ProviderRateLimited):
    """Still rate limited after the retries the deadline allowed."""


class GhlUnavailable(GhlError, ProviderServerError):
    """5xx or no connection, after the retries the deadline allowed."""


class GhlAuthError(GhlError, ProviderAuthError):
    """A 401 a refresh cannot fix: missing Version header, or a scope the token was not granted."""


class GhlScopeMissing(GhlAuthError):
    """The token was not granted the scope this call needs: the client must reconnect to approve it."""


class GhlTokenExpired(GhlError, ProviderAuthError):
    """The access token is invalid or expired: refresh and try again."""


class GhlInvalidGrant(GhlError, ProviderAuthError):
    """The refresh token was used already or revoked: the client must reconnect."""


class GhlNotFound(GhlError, ProviderNotFound):
    pass


class GhlValidationError(GhlError, ProviderValidationError):
    """GHL refused the request body or its parameters; `message` says which."""


class GhlSlotUnavailable(GhlValidationError):
    """GHL refused the booking because the slot is taken or outside the calendar's hours: the one refusal
    that means "taken" (any other 4xx is a different problem, spoken as one)."""


class GhlContactDnd(GhlValidationError):
    """GHL refused a message because the contact has Do Not Disturb on for that channel."""


class GhlLocationInactive(GhlError):
    """The location's SaaS billing is paused: the same refresh token works again once it is active."""


class GhlNotConnectedError(GhlError):
    """The client account has no usable GHL connection (none, disconnected, or it needs reconnecting)."""


class GhlConnectError(Exception):
    """Connecting a client failed for a reason to show the person connecting (not a provider answer)."""


class GhlLocationTakenError(GhlConnectError):
    """The sub-account is connected to another client; `connected_client` is that client, to offer a way on."""

    def __init__(self, connected_client):
        super().__init__("This GoHighLevel sub-account is already connected to another client.")
        self.connected_client = connected_client
