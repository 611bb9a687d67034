"""The HTTP base every provider client shares: timeouts, retries within a deadline, typed errors."""

import logging
import random
from email.utils import parsedate_to_datetime
from functools import cache
from time import monotonic, sleep

import httpx
from django.utils import timezone

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class ProviderError(Exception):
    """Any refusal or failure of a provider. Each provider has one base under this one (`GhlError`,
    `VapiError`) and its own subclass of each kind below; `for_status` picks the class of an answer."""

    def __init__(self, message: str, *, status_code: int | None = None, trace_id: str = "", body=None):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.trace_id = trace_id
        self.body = body

    def __str__(self):
        trace = f" (trace {self.trace_id})" if self.trace_id else ""
        return f"{self.status_code or 'no response'}: {self.message}{trace}"

    @classmethod
    def of_kind(cls, kind: type["ProviderError"]) -> type["ProviderError"]:
        """This provider's class of a kind (its `ProviderTimeout`, say); the kind itself for the shared base."""
        if cls is ProviderError:
            return kind
        if issubclass(cls, kind):
            return cls
        # A provider without its own class of a kind gets its class of the nearest broader kind.
        for broader in kind.__mro__[: kind.__mro__.index(ProviderError)]:
            found = next((sub for sub in cls.__subclasses__() if broader in sub.__bases__), None)
            if found is not None:
                return found
        return cls

    @classmethod
    def for_status(cls, status_code: int) -> type["ProviderError"]:
        default = ProviderServerError if status_code >= 500 else ProviderValidationError
        return cls.of_kind(KIND_FOR_STATUS.get(status_code, default))


class ProviderTimeout(ProviderError):
    pass


class ProviderOutcomeUnknown(ProviderTimeout):
    """The request was sent and its answer lost (read timeout, connection reset): it may have been acted on,
    so a write is looked up before it is sent again or reported."""


class ProviderRateLimited(ProviderError):
    pass


class ProviderServerError(ProviderError):
    pass


class ProviderAuthError(ProviderError):
    pass


class ProviderNotFound(ProviderError):
    pass


class ProviderValidationError(ProviderError):
    pass


# The one map from an HTTP status to the kind of error; 5xx not named here are server errors, other 4xx validation.
KIND_FOR_STATUS = {429: ProviderRateLimited, 401: ProviderAuthError, 403: ProviderAuthError, 404: ProviderNotFound}


def retry_delay_from_headers(response: httpx.Response) -> float | None:
    """What the provider asked us to wait: Retry-After (seconds or a date), else its rate-limit window."""
    retry_after = response.headers.get("Retry-After")
    if retry_after:
        if retry_after.strip().isdigit():
            return float(retry_after)
        try:
            return max(0.0, (parsedate_to_datetime(retry_after) - timezone.now()).total_seconds())
        except (TypeError, ValueError):
            return None
    interval_ms = response.headers.get("X-RateLimit-Interval-Milliseconds")
    if response.headers.get("X-RateLimit-Remaining") == "0" and interval_ms and interval_ms.isdigit():
        return int(interval_ms) / 1000
    return None


IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})


@cache
def tls_context():
    """The process's one TLS context for providers' HTTPS, built as httpx builds its default (certifi's roots, or
    SSL_CERT_FILE / SSL_CERT_DIR). httpx builds a new one for every client otherwise, loading the CA bundle each
    time: about 20 ms of CPU per client, that is per GHL request batch, live tool call or note. A context is
    safe to share between clients and threads."""
    return httpx.create_ssl_context()


class ProviderHttp:
    """One provider's HTTP session. `deadline` is a monotonic() instant no call may run past."""

    errors: type[ProviderError] = ProviderError  # the provider's base error: every raise is of its family

    def __init__(
        self,
        *,
        base_url: str,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
        max_attempts: int = 4,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        deadline: float | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.deadline = deadline
        # A transport given (a sandbox, a test's mock) makes no TLS; otherwise the shared context is used.
        verify = True if transport is not None else tls_context()
        self.http = httpx.Client(base_url=base_url, headers=headers or {}, transport=transport, verify=verify)

    def error_for(self, response: httpx.Response) -> ProviderError:
        """Providers override this to read their own error bodies."""
        try:
            body = response.json()
        except ValueError:
            body = response.text
        message = body.get("message", "") if isinstance(body, dict) else body
        return self.errors.for_status(response.status_code)(
            str(message) or response.reason_phrase, status_code=response.status_code, body=body
        )

    def request(
        self, method: str, path: str, *, retry_server_errors: bool | None = None, reserve: float = 0.0, **kwargs
    ) -> httpx.Response:
        """Sends with retries on 429/5xx/connect errors; raises a ProviderError subclass on failure.

        A 5xx to a POST may have been acted on (an appointment booked), so it is retried only when the
        caller says the request is safe to repeat; idempotent methods always are. `reserve` seconds of the
        deadline are left for what the caller does next (a lookup when the answer is lost).
        """
        if retry_server_errors is None:
            retry_server_errors = method.upper() in IDEMPOTENT_METHODS
        attempt = 0
        while True:
            attempt += 1
            timeout = self.timeout
            if self.deadline is not None:
                timeout = min(timeout, self.deadline - reserve - monotonic())
                if timeout <= 0:
                    raise self.errors.of_kind(ProviderTimeout)(f"{method} {path}: no time left before the deadline")
            response = None
            try:
                response = self.http.request(method, path, timeout=timeout, **kwargs)
            # A connect failure sent nothing, so even a POST is safe to send again.
            except httpx.ConnectTimeout:
                error = self.errors.of_kind(ProviderTimeout)(f"{method} {path}: no connection within {timeout:.1f}s")
            except httpx.ConnectError as exc:
                error = self.errors.of_kind(ProviderServerError)(f"{method} {path}: cannot connect ({exc})")
            # A read timeout may have booked already: never send it twice.
            except httpx.TimeoutException as exc:
                lost = self.errors.of_kind(ProviderOutcomeUnknown)
                raise lost(f"{method} {path}: no answer within {timeout:.1f}s") from exc
            # Reset or cut off after sending: the provider may have acted, so only a repeatable request is resent.
            except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as exc:
                error = self.errors.of_kind(ProviderOutcomeUnknown)(f"{method} {path}: answer lost ({exc!r})")
                if not retry_server_errors:
                    raise error from exc
            else:
                if response.is_success:
                    return response
                error = self.error_for(response)
                if response.status_code not in RETRYABLE_STATUSES:
                    raise error
                if response.status_code >= 500 and not retry_server_errors:
                    raise error
            asked = retry_delay_from_headers(response) if response is not None else None
            delay = asked if asked is not None else self.backoff(attempt=attempt)
            if attempt >= self.max_attempts or (
                self.deadline is not None and monotonic() + delay >= self.deadline - reserve
            ):
                raise error
            logger.warning("%s %s failed (%s); retry %d in %.2fs", method, path, error, attempt, delay)
            sleep(delay)

    def backoff(self, *, attempt: int) -> float:
        # Full jitter: concurrent callers spread out instead of retrying in lockstep.
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1)))  # noqa: S311

    def close(self):
        self.http.close()
