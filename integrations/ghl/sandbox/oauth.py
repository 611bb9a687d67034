"""The sandbox's OAuth: consent codes, token pairs (single-use refresh tokens), location tokens, installs,
and the location a token may read."""

import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from . import replies, store
from .replies import GhlReplyError, SandboxCall

ACCESS_TOKEN_SECONDS = 86399
AUTH_CODE_SECONDS = 600


def sandbox_authorization_code_create(*, client_id: str, redirect_uri: str, scopes: list[str], location_id: str) -> str:
    """What the consent page hands back: a single-use code that expires in ten minutes."""
    location = store.get("location", location_id)
    code = secrets.token_urlsafe(24)
    store.create(
        "auth_code",
        {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scopes": scopes,
            "location_id": location_id,
            "company_id": location.parent_id,
            "expires_at": (timezone.now() + timedelta(seconds=AUTH_CODE_SECONDS)).isoformat(),
        },
        object_id=code,
    )
    return code


def _token_pair(*, user_type: str, company_id: str, location_id: str | None, scopes: list[str]) -> dict:
    access_token, refresh_token = f"sbx-at-{secrets.token_urlsafe(24)}", f"sbx-rt-{secrets.token_urlsafe(24)}"
    subject = {"user_type": user_type, "company_id": company_id, "location_id": location_id, "scopes": scopes}
    expires_at = timezone.now() + timedelta(seconds=ACCESS_TOKEN_SECONDS)
    store.create("access_token", {**subject, "expires_at": expires_at.isoformat()}, object_id=access_token)
    store.create("refresh_token", subject, object_id=refresh_token)
    response = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_SECONDS,
        "refresh_token": refresh_token,
        "scope": " ".join(scopes),
        "userType": user_type,
        "companyId": company_id,
        "userId": "sbxUser0000000000001",
    }
    if user_type == "Location":
        return {**response, "locationId": location_id}
    approved = list(store.objects("location").filter(parent_id=company_id).values_list("object_id", flat=True))
    return {**response, "approvedLocations": approved, "isBulkInstallation": True}


def oauth_token(call: SandboxCall) -> tuple[int, dict]:
    body = call.body
    if body["grant_type"] == "authorization_code":
        code = store.get("auth_code", body.get("code", ""))
        if (
            code is None
            or code.data["client_id"] != body["client_id"]
            or body.get("redirect_uri", code.data["redirect_uri"]) != code.data["redirect_uri"]
            or datetime.fromisoformat(code.data["expires_at"]) < timezone.now()
        ):
            raise replies.unauthorized("Invalid grant: authorization code is invalid")
        code.delete()
        user_type = body.get("user_type", "Location")
        subject = {"company_id": code.data["company_id"], "scopes": code.data["scopes"]}
        location_id = code.data["location_id"] if user_type == "Location" else None
        return 200, _token_pair(user_type=user_type, location_id=location_id, **subject)
    if body["grant_type"] == "refresh_token":
        with transaction.atomic():
            refresh = store.objects("refresh_token").select_for_update().filter(object_id=body.get("refresh_token", ""))
            refresh = refresh.first()
            if refresh is None:
                # Single-use: GHL answers a reused refresh token exactly like a revoked one.
                raise GhlReplyError(
                    401,
                    {"statusCode": 401, "error": "invalid_grant", "message": "Invalid grant: refresh token is invalid"},
                )
            location = store.get("location", refresh.data["location_id"] or "")
            if location is not None and not location.data.get("active", True):
                raise replies.bad_request("Location is not active")
            refresh.delete()
            return 200, _token_pair(**refresh.data)
    raise replies.bad_request("Invalid parameter: grant_type")


def oauth_location_token(call: SandboxCall) -> tuple[int, dict]:
    location = store.get("location", call.body["locationId"])
    company_id = call.body["companyId"]
    if location is None or location.parent_id != company_id or company_id != call.token["company_id"]:
        raise replies.bad_request("Location not found for this company")
    pair = _token_pair(
        user_type="Location", company_id=location.parent_id, location_id=location.object_id, scopes=call.token["scopes"]
    )
    keys = ("access_token", "token_type", "expires_in", "scope", "locationId", "userId", "refresh_token")
    return 200, {key: pair[key] for key in keys}


def oauth_installed_locations(call: SandboxCall) -> tuple[int, dict]:
    locations = store.objects("location").filter(parent_id=call.query["companyId"]).order_by("object_id")
    found = [
        {"_id": loc.object_id, "name": loc.data["name"], "address": loc.data["address"], "isInstalled": True}
        for loc in locations
    ]
    return 200, {"locations": found, "count": len(found), "installToFutureLocations": False}


def location_get(call: SandboxCall) -> tuple[int, dict]:
    location = store.get("location", call.args[0])
    if location is None:
        raise replies.not_found("Location not found")
    replies.check_location(call, location.object_id)
    return 200, {"location": {key: value for key, value in location.data.items() if key != "active"}}
