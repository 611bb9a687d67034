"""The Content-Security-Policy header, and templates that keep to it (the e2e tests run pages under it)."""

import re
from pathlib import Path

from django.conf import settings

INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


def test_every_page_carries_the_policy(client):
    policy = client.get("/accounts/login/").headers["Content-Security-Policy"]
    directives = dict(part.split(" ", 1) for part in policy.split("; "))
    assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"
    assert directives["style-src-elem"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert directives["img-src"] == "'self' data:" and directives["connect-src"] == "'self'"
    # The sandbox (on in tests) serves its recordings at PUBLIC_BASE_URL, which may not be this origin.
    sandbox_recordings = f" {settings.PUBLIC_BASE_URL}" if settings.SANDBOX else ""
    assert directives["media-src"] == "'self' https://storage.vapi.ai" + sandbox_recordings
    assert directives["form-action"] == f"'self' {settings.GHL_MARKETPLACE_URL}"


def test_no_template_has_an_inline_script_or_event_handler():
    offenders = [
        f"{path.relative_to(settings.BASE_DIR)}: {found.group(0).strip()}"
        for path in (Path(settings.BASE_DIR) / "templates").rglob("*.html")
        for pattern in (INLINE_HANDLER, INLINE_SCRIPT)
        for found in pattern.finditer(path.read_text())
    ]
    assert offenders == []
