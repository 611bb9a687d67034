"""The live endpoint's short way through Django: Vapi's POSTs skip the page middleware.

A caller waits on every tool call and assistant-request, and the endpoint uses nothing the page stack gives
(sessions, CSRF, users, messages, allauth, htmx, APPEND_SLASH): they cost about a quarter of a warm tool
call. Placed after the middleware that matters for an API (security headers, CSP, the request id that
every log line carries), this one answers POSTs to /api/webhooks/vapi/<agency>/ with the plain view and
hands everything else, other methods included, to the rest of the stack.
"""

import re
import uuid

from django.urls import reverse
from django.urls.converters import UUIDConverter

from voice.live.api import vapi_server_url

_ZERO = uuid.UUID(int=0)


class LiveEndpointMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.pattern = None

    def _path(self):
        if self.pattern is None:  # from the URLconf, on the first request: the route stays defined in one place
            prefix = reverse("vapi_server_url", kwargs={"agency_id": _ZERO}).removesuffix(f"{_ZERO}/")
            self.pattern = re.compile(re.escape(prefix) + f"({UUIDConverter.regex})/")
        return self.pattern

    def __call__(self, request):
        if request.method == "POST":
            match = self._path().fullmatch(request.path_info)
            if match:
                request.get_host()  # ALLOWED_HOSTS, as CommonMiddleware would check it (DisallowedHost: 400)
                return vapi_server_url(request, uuid.UUID(match[1]))
        return self.get_response(request)
