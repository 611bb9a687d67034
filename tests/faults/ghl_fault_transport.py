"""A GHL that misbehaves on cue: the sandbox behind a transport that can stall, fail, reset or lose answers.

Not a test module. `GhlFaults.on(method, path, fault, times=...)` arms a fault for the next matching requests;
everything else reaches the sandbox, so what GHL holds afterwards (appointments, notes) can be counted.
`GhlFaults(sandbox=VapiSandboxTransport())` puts the same faults in front of the Vapi sandbox.

A stall waits through `sleep`, which `ghl_faults_installed(..., clock=FakeClock())` points at a fake clock that
the clients' deadlines read too: the budget is then spent only by what GHL is made to cost, never by how
loaded the machine running the test is."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from time import sleep

import httpx

from integrations.ghl import client as ghl_client
from integrations.ghl.sandbox import GhlSandboxTransport
from tests.clock import FakeClock
from voice.live import services

Fault = Callable[[httpx.Request, GhlSandboxTransport], httpx.Response]


def _read_timeout(request: httpx.Request) -> float:
    return (request.extensions.get("timeout") or {}).get("read") or 10.0


def stall(request: httpx.Request, sandbox: GhlSandboxTransport) -> httpx.Response:
    """Never answers within the client's read timeout; nothing reaches GHL."""
    sleep(_read_timeout(request))
    raise httpx.ReadTimeout("GHL stalled", request=request)


def act_then_stall(request: httpx.Request, sandbox: GhlSandboxTransport) -> httpx.Response:
    """GHL does the work (books, adds the note), and its answer never arrives."""
    sandbox.handle_request(request)
    sleep(_read_timeout(request))
    raise httpx.ReadTimeout("GHL acted, answer lost", request=request)


def reset(request: httpx.Request, sandbox: GhlSandboxTransport) -> httpx.Response:
    """The connection is reset once the request is sent; nothing reaches GHL."""
    raise httpx.ReadError("Connection reset by peer", request=request)


def act_then_reset(request: httpx.Request, sandbox: GhlSandboxTransport) -> httpx.Response:
    sandbox.handle_request(request)
    raise httpx.ReadError("Connection reset by peer", request=request)


def slow(seconds: float) -> Fault:
    """GHL answers, `seconds` late."""

    def reply(request: httpx.Request, sandbox: GhlSandboxTransport) -> httpx.Response:
        sleep(seconds)
        return sandbox.handle_request(request)

    return reply


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


def ghl_faults_installed(monkeypatch, *, tool_budget_seconds: float, clock: FakeClock | None = None) -> GhlFaults:
    """Every GHL client the app opens goes through one GhlFaults, with a live tool budget short enough that a
    lost answer (which costs the read timeout) keeps a test quick.

    With a `clock`, the tool budget, the GHL client's deadline, its retry waits and the faults' stalls all run
    on it: the answer a test asserts no longer depends on how long the real work before a fault took (on a
    loaded machine a real second went by before the change was sent, and the caller heard "can't reach the
    calendar" instead of "can't confirm"). The timed fault suite (tests/faults) keeps the real clock."""
    faults = GhlFaults()
    monkeypatch.setattr(ghl_client, "_transport", lambda: faults)
    monkeypatch.setattr(services, "TOOL_BUDGET_SECONDS", tool_budget_seconds)
    if clock is not None:
        monkeypatch.setattr("integrations.http.monotonic", clock.monotonic)
        monkeypatch.setattr("integrations.http.sleep", clock.sleep)
        monkeypatch.setattr("integrations.ghl.client.monotonic", clock.monotonic)
        monkeypatch.setattr("voice.live.services.monotonic", clock.monotonic)
        monkeypatch.setattr(f"{__name__}.sleep", clock.sleep)
    return faults
