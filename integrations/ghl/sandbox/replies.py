"""How a sandbox handler sees a request (SandboxCall) and answers other than success (GhlReplyError)."""

from dataclasses import dataclass

import httpx

from integrations.ghl import specs

from . import store


class GhlReplyError(Exception):
    """A GHL answer other than success, raised from deep inside a handler."""

    def __init__(self, status_code: int, body: dict, *, headers: dict[str, str] | None = None):
        super().__init__(body.get("message"))
        self.status_code = status_code
        self.body = body
        self.headers = headers or {}


def unauthorized(message: str) -> GhlReplyError:
    return GhlReplyError(401, {"statusCode": 401, "message": message, "error": "Unauthorized"})


def bad_request(message: str) -> GhlReplyError:
    return GhlReplyError(400, {"statusCode": 400, "message": message})


def not_found(message: str) -> GhlReplyError:
    return GhlReplyError(404, {"statusCode": 404, "message": message, "error": "Not Found"})


@dataclass
class SandboxCall:
    request: httpx.Request
    operation: specs.Operation | None
    args: tuple[str, ...]
    body: dict
    token: dict | None

    @property
    def query(self) -> httpx.QueryParams:
        return self.request.url.params


def check_location(call: SandboxCall, location_id: str) -> None:
    token = call.token
    if token["user_type"] == "Location":
        allowed = token["location_id"] == location_id
    else:
        allowed = store.objects("location").filter(object_id=location_id, parent_id=token["company_id"]).exists()
    if not allowed:
        raise unauthorized("The token does not have access to this location.")
