"""Vapi's errors: one family under the shared ProviderError, one class per kind of failure."""

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


class VapiError(ProviderError):
    """Any refusal or failure from Vapi; `message` is Vapi's own wording."""


class VapiAuthError(VapiError, ProviderAuthError):
    """The private key is wrong, revoked, or a public key was given."""


class VapiValidationError(VapiError, ProviderValidationError):
    """Vapi refused the request body, e.g. "property foo should not exist"."""


class VapiNotFound(VapiError, ProviderNotFound):
    pass


class VapiRateLimited(VapiError, ProviderRateLimited):
    """Still rate limited after the retries the deadline allowed."""


class VapiTimeout(VapiError, ProviderTimeout):
    pass


class VapiOutcomeUnknown(VapiError, ProviderOutcomeUnknown):
    """Vapi got the request but its answer was lost (read timeout, reset): an assistant may have been created."""


class VapiUnavailable(VapiError, ProviderServerError):
    """5xx or no connection, after the retries the deadline allowed."""
