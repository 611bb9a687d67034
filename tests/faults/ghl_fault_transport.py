"""A GHL that misbehaves on cue: the sandbox behind a transport that can stall, fail, reset or lose answers.

Not a test module. `GhlFaults.on(method, path, fault, times=...)` arms a fault for the next matching requests;
everything else reaches the sandbox, so what GHL holds afterwards (appointments, notes) can be counted.
`GhlFaults(sandbox=VapiSandboxTransport())` puts the same faults in front of the Vapi sandbox."""

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from integrations.ghl import client as ghl_client
from integrations.ghl.sandbox import GhlSandboxTransport
from voice.live import services

Fault = Callable[[httpx.Request, GhlSandboxTransport], httpx.Response]


def _read_timeout(request: httpx.Request) -> float:
    return (request.extensions.get("timeout") or {}).get("read") or 10.0


def stall(request: httpx.Request, sandbox: GhlSandboxTransport) -> httpx.Response:
    """Never answers within the client's read timeout; nothing reaches GHL."""
    time.sleep(_read_timeout(request))
    raise httpx.ReadTimeout("GHL stalled", request=request)


def act_then_stall(request: httpx.Request, sandbox: GhlSandboxTransport) -> httpx.Response:
    """GHL does the work (books, adds the note), and its answer never arrives."""
    sandbox.handle_request(request)
    time.sleep(_read_timeout(request))
    raise httpx.ReadTimeout("GHL acted, answer lost", request=request)


def reset(request: httpx.Request, sandbox: GhlSandboxTransport) -> httpx.Response:
    """The connection is reset once the request is sent; nothing reaches GHL."""
    raise httpx.ReadError("Connection reset by peer", request=request)


def act_then_reset(request: httpx.Request, sandbox: GhlSandboxTransport) -> httpx.Response:
    sandbox.handle_request(request)
    raise httpx.ReadError("Connection reset by peer", request=request)


def answer(status_code: int, body: dict | None = None, headers: dict | None = None) -> Fault:
    def reply(request: httpx.Request, sandbox: GhlSandboxTransport) -> httpx.Response:
        payload = {"statusCode": status_code, "message": "fault", **(body or {})}
        return httpx.Response(status_code, json=payload, headers=headers or {}, request=request)

    return reply


@dataclass
class _Armed:
    method: str
    path: re.Pattern
    fault: Fault
    times: int | None


class GhlFaults(httpx.BaseTransport):
    def __init__(self, sandbox: httpx.BaseTransport | None = None):
        self.sandbox = sandbox or GhlSandboxTransport()
        self.armed: list[_Armed] = []
        self.sent: list[tuple[str, str]] = []

    def on(self, method: str, path: str, fault: Fault, *, times: int | None = None) -> None:
        self.armed.append(_Armed(method, re.compile(path), fault, times))

    def clear(self) -> None:
        self.armed.clear()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.sent.append((request.method, request.url.path))
        for armed in self.armed:
            if armed.method == request.method and armed.path.fullmatch(request.url.path) and armed.times != 0:
                if armed.times is not None:
                    armed.times -= 1
                return armed.fault(request, self.sandbox)
        return self.sandbox.handle_request(request)


def ghl_faults_installed(monkeypatch, *, tool_budget_seconds: float) -> GhlFaults:
    """Every GHL client the app opens goes through one GhlFaults, with a live tool budget short enough that a
    lost answer (which costs the read timeout) keeps a test quick."""
    faults = GhlFaults()
    monkeypatch.setattr(ghl_client, "_transport", lambda: faults)
    monkeypatch.setattr(services, "TOOL_BUDGET_SECONDS", tool_budget_seconds)
    return faults
