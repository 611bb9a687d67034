"""The fault suite's world: the app under gunicorn with production settings, a real Celery worker, private
redis-server processes (cache and broker) that a test stops and starts by PID, and PostgreSQL behind a TCP
proxy a test cuts. Everything runs against the test database, so it needs PostgreSQL (`pytest -m faults`)."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis
from django.conf import settings
from django.db import connection

from integrations.ghl.demo import sandbox_connect
from integrations.ghl.sandbox import sandbox_seed
from integrations.vapi.sandbox import SANDBOX_API_KEY
from tests.factories import AssistantFactory
from tests.faults.proxy import TcpProxy
from tests.integrations.ghl.signing import ED25519_KEY, ed25519_sign, public_pem
from tests.vapi import SECRET
from voice.assistants.selectors import client_calendars
from voice.assistants.vapi_org import vapi_account_key_save
from voice.models import VapiAccount

# How long a fault test waits for a process to come up or for background work to land.
WAIT_SECONDS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, *, seconds: float = WAIT_SECONDS, every: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"{what} not reached within {seconds} s")


class RedisServer:
    """A private redis-server on its own port, without persistence: stopping it loses everything."""

    def __init__(self):
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        wait_for(lambda: self._pings(client), seconds=10, what=f"redis-server on {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    @staticmethod
    def _pings(client) -> bool:
        try:
            return client.ping()
        except redis.RedisError:
            return False


@pytest.fixture
def cache_redis():
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def broker_redis():
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pg_proxy(transactional_db):
    if connection.vendor != "postgresql" or not shutil.which("redis-server"):
        pytest.skip("the fault suite needs PostgreSQL (DATABASE_URL) and redis-server")
    db = connection.settings_dict
    proxy = TcpProxy(target=(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture
def app_env(pg_proxy, cache_redis, broker_redis, tmp_path):
    """Production settings for the app and worker processes, with every service behind something a test controls."""
    db = connection.settings_dict
    return {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        "DEBUG": "False",
        "SECRET_KEY": settings.SECRET_KEY,
        "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        "SECURE_SSL_REDIRECT": "False",
        "SANDBOX": "True",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"postgres://{db['USER']}@127.0.0.1:{pg_proxy.port}/{db['NAME']}",
        "CONN_MAX_AGE": "60",
        "CACHE_URL": cache_redis.url(0),
        "WEBHOOK_SPOOL_URL": cache_redis.url(1),
        "CELERY_BROKER_URL": broker_redis.url(0),
        "CELERY_TASK_ALWAYS_EAGER": "False",
        "GHL_WEBHOOK_ED25519_PUBLIC_KEY": public_pem(ED25519_KEY),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "STATIC_ROOT": str(tmp_path / "static"),
        "LOG_FORMAT": "text",
        "LOG_LEVEL": "WARNING",
        # Shortened so a test sees the sweepers act: re-enqueue after 1 s, a dead worker's claim after 3 s.
        "QUEUED_WORK_GRACE_SECONDS": "1",
        "WEBHOOK_STALE_CLAIM_SECONDS": "3",
    }


class Processes:
    """Subprocesses a test starts (gunicorn, Celery workers), each stopped by its own PID at the end."""

    def __init__(self, env: dict, logs: Path):
        self.env, self.logs = env, logs
        self.running: list[tuple[subprocess.Popen, Path]] = []

    def start(self, name: str, command: list[str], **env) -> subprocess.Popen:
        log = self.logs / f"{name}-{len(self.running)}.log"
        process = subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env={**self.env, **env},
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.running.append((process, log))
        return process

    def stop_all(self) -> None:
        for process, log in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            print(f"--- {log.name}\n{log.read_text()[-4000:]}")


@pytest.fixture
def processes(app_env, tmp_path):
    running = Processes(app_env, tmp_path)
    yield running
    running.stop_all()


@pytest.fixture
def app_url(processes):
    """The app under gunicorn (2 sync workers), answering /healthz."""
    # Production static files (manifest storage): pages render as they would when deployed.
    collect = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"]
    subprocess.run(collect, cwd=settings.BASE_DIR, env=processes.env, check=True, timeout=120)
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "agencyhub.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2"]
    processes.start("gunicorn", [*command, "--timeout", "30", "--graceful-timeout", "3"])
    url = f"http://127.0.0.1:{port}"

    def ready():
        try:
            return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(ready, what="gunicorn answering /healthz")
    return url


@pytest.fixture
def start_worker(processes):
    """Starts a real Celery worker (solo pool) on the private broker; returns its process."""

    def start(**env) -> subprocess.Popen:
        command = [sys.executable, "tests/faults/worker.py", "--pool=solo", "--loglevel=INFO"]
        return processes.start("worker", command, **env)

    return start


@pytest.fixture
def broker(broker_redis):
    """Sends tasks by name to the private broker, as beat would."""
    from celery import Celery

    app = Celery("faults", broker=broker_redis.url(0))
    yield app
    app.close()


@pytest.fixture
def live(cast):
    """A Chicago client on the GHL sandbox whose assistant books into its cleaning calendar, with a phone number."""
    sandbox_seed()
    sandbox_connect(client=cast.client_account, location_id="sbxLocChicago0000001")
    cleaning = next(c for c in client_calendars(client=cast.client_account) if c["name"] == "Cleaning")
    assistant = AssistantFactory(client=cast.client_account, time_zone="America/Chicago", vapi_id="asst-live-1")
    assistant.calendars.all().delete()
    assistant.calendars.create(calendar_id=cleaning["id"], calendar_name="Cleaning", spoken_name="cleaning")
    VapiAccount.objects.update_or_create(agency=cast.agency, defaults={"webhook_secret": SECRET})
    vapi_account_key_save(agency=cast.agency, api_key=SANDBOX_API_KEY)
    assistant.phone_numbers.create(agency=cast.agency, vapi_id="pn-live-1", number="+13125550100")
    cast.assistant = assistant
    cast.path = f"/api/webhooks/vapi/{cast.agency.public_id}/"
    return cast


def vapi_send(http: httpx.Client, path: str, message: dict) -> tuple[httpx.Response, float]:
    """Posts one server message as Vapi does; returns the response and its latency in seconds."""
    started = time.monotonic()
    response = http.post(
        path,
        content=json.dumps({"message": message}),
        headers={"X-Vapi-Secret": SECRET, "Content-Type": "application/json"},
    )
    return response, time.monotonic() - started


def ghl_send(http: httpx.Client, payload: dict) -> tuple[httpx.Response, float]:
    body = json.dumps(payload, separators=(",", ":")).encode()
    started = time.monotonic()
    response = http.post(
        "/api/webhooks/ghl/",
        content=body,
        headers={"X-GHL-Signature": ed25519_sign(body), "Content-Type": "application/json"},
    )
    return response, time.monotonic() - started
