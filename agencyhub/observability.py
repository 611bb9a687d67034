"""Request-scoped log context: every log line carries request id, agency and call id."""

import contextvars
import logging
import re
import uuid

_FIELDS = ("request_id", "agency", "call_id")
_vars = {name: contextvars.ContextVar(name, default="-") for name in _FIELDS}
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class log_context:  # noqa: N801 (used as a namespace: log_context.bind(...))
    @staticmethod
    def bind(**values: str) -> None:
        for name, value in values.items():
            _vars[name].set(str(value))

    @staticmethod
    def get(name: str) -> str:
        return _vars[name].get()


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name in _FIELDS:
            if not hasattr(record, name):
                setattr(record, name, _vars[name].get())
        return True


class RequestContextMiddleware:
    """Takes a sane X-Request-ID from the proxy or makes one, and echoes it back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        log_context.bind(request_id=request_id, agency="-", call_id="-")
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
