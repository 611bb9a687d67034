"""CI's smoke run of `make serve`: boot the production layout once, send it a signed Vapi call over HTTP, see the
call appear in the read API (stored by gunicorn, processed by the Celery worker), then stop what was started.

    .venv/bin/python tests/smoke/serve_call.py

Uses a throwaway PostgreSQL database (SMOKE_DATABASE_URL) and Redis dbs 13 and 12; the port is a free one.
"""

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg
from cryptography.fernet import Fernet
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
DATABASE_URL = os.environ.get("SMOKE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/agencyhub_ci_serve")
BOOT_TIMEOUT = 90.0
CALL_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_recreate(url: str) -> None:
    parts = urlsplit(url)
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as admin:
        name = sql.Identifier(parts.path.lstrip("/"))
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


def _manage(env: dict, *args: str) -> str:
    command = [sys.executable, "manage.py", *args]
    return subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout


def _wait_healthy(base: str, serve: subprocess.Popen) -> None:
    deadline = time.monotonic() + BOOT_TIMEOUT
    while time.monotonic() < deadline:
        if serve.poll() is not None:
            raise RuntimeError(f"make serve exited with {serve.returncode} before answering")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{base}/healthz did not answer 200 within {BOOT_TIMEOUT:.0f} s")


def _call_messages(call_id: str) -> list[dict]:
    """A short inbound call as Vapi reports it: in progress, then the end-of-call report."""
    ended = datetime.now(UTC).replace(microsecond=0)
    started = ended - timedelta(seconds=42)
    call = {"id": call_id, "type": "inboundPhoneCall", "customer": {"number": "+15550100123"}}
    return [
        {"type": "status-update", "status": "in-progress", "timestamp": int(started.timestamp() * 1000), "call": call},
        {
            "type": "end-of-call-report",
            "endedReason": "customer-ended-call",
            "timestamp": int(ended.timestamp() * 1000),
            "startedAt": started.isoformat(),
            "endedAt": ended.isoformat(),
            "cost": 0.0714,
            "artifact": {"transcript": "AI: Thanks for calling.\nUser: Just checking your hours, bye."},
            "analysis": {"summary": "The caller asked about opening hours."},
            "call": call,
        },
    ]


def _wait_for_call(base: str, api_key: str, call_id: str) -> dict:
    deadline = time.monotonic() + CALL_TIMEOUT
    headers = {"Authorization": f"Bearer {api_key}"}
    while time.monotonic() < deadline:
        page = httpx.get(f"{base}/api/v1/calls/", headers=headers, timeout=5)
        page.raise_for_status()
        for call in page.json()["results"]:
            if call["vapi_call_id"] == call_id and call["status"] == "ended" and call["summary"]:
                return call
        time.sleep(0.5)
    raise RuntimeError(f"call {call_id} did not appear as ended in /api/v1/calls/ within {CALL_TIMEOUT:.0f} s")


def _stop(serve: subprocess.Popen) -> None:
    """SIGTERM to the process group this script created for make serve (make, the launcher, its three children)."""
    os.killpg(serve.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        serve.poll()  # reaps make, whose zombie would otherwise keep the group alive
        try:
            os.killpg(serve.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.killpg(serve.pid, signal.SIGKILL)
    serve.wait()
    raise RuntimeError(f"make serve's processes were still there {STOP_TIMEOUT:.0f} s after SIGTERM")


def _smoke(base: str, env: dict) -> dict:
    _manage(env, "seed_demo")
    endpoint = json.loads(_manage(env, "vapi_endpoint", "demo").strip().splitlines()[-1])
    api_key = _manage(env, "create_api_key", "demo", "--name", "ci smoke").strip().splitlines()[-1]
    call_id = str(uuid.uuid4())
    for message in _call_messages(call_id):
        response = httpx.post(
            endpoint["url"], json={"message": message}, headers={"X-Vapi-Secret": endpoint["secret"]}, timeout=10
        )
        if response.status_code != 200:
            raise RuntimeError(f"{message['type']} answered {response.status_code}: {response.text[:200]}")
    return _wait_for_call(base, api_key, call_id)


def main() -> int:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DEBUG": "False",
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/13",
        "CACHE_URL": "redis://127.0.0.1:6379/12",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "PUBLIC_BASE_URL": base,
        "DEMO_PASSWORD": secrets.token_urlsafe(12),
        "SECURE_SSL_REDIRECT": "False",
        "WEB_CONCURRENCY": "2",
    }
    _database_recreate(DATABASE_URL)
    began = time.monotonic()
    with tempfile.NamedTemporaryFile("w+", prefix="make-serve-", suffix=".log") as log:
        command = ["make", "--no-print-directory", "serve", f"PORT={port}"]
        serve = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            _wait_healthy(base, serve)
            booted = time.monotonic() - began
            call = _smoke(base, env)
        except (RuntimeError, subprocess.CalledProcessError, httpx.HTTPError) as exc:
            log.seek(0)
            print(log.read()[-6000:], file=sys.stderr)
            print(f"FAIL: {exc}", getattr(exc, "stderr", "") or "", file=sys.stderr)
            return 1
        finally:
            _stop(serve)
    print(
        f"PASS: make serve answered on :{port} after {booted:.1f} s; call {call['vapi_call_id']} stored and "
        f"processed ({call['duration_seconds']} s, {call['ended_reason']}); all processes stopped; "
        f"{time.monotonic() - began:.1f} s in all."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
