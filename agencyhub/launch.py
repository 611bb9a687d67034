"""`make run` and `make serve`: start the processes, say where to go once /healthz answers, stop them on Ctrl-C.

python -m agencyhub.launch run --bind 127.0.0.1:8000    development: migrate, seed the demo, runserver
python -m agencyhub.launch serve --bind 127.0.0.1:8200  the production layout on one machine (docs/deploy.md)

Only the processes started here are stopped, by their PIDs.
"""

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import django
import psycopg
from cryptography.fernet import Fernet
from psycopg import sql

BASE_DIR = Path(__file__).resolve().parent.parent
# make serve keeps its generated secrets and beat's schedule here (untracked, see .gitignore).
SERVE_STATE_DIR = BASE_DIR / ".serve"
SERVE_DEFAULTS = {
    "DEBUG": "False",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/agencyhub_serve",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/5",
    "CACHE_URL": "redis://127.0.0.1:6379/6",
    # Plain HTTP on one machine; behind a TLS proxy leave the redirect on (its default when DEBUG is off).
    "SECURE_SSL_REDIRECT": "False",
}
HEALTH_TIMEOUT = 120.0
STOP_TIMEOUT = 20.0


class LaunchError(Exception):
    """A step before serving failed, or a process died: the message says which."""


def _manage(*args: str, env: dict) -> None:
    completed = subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=False)  # noqa: S603 (our commands, no shell)
    if completed.returncode != 0:
        raise LaunchError(f"manage.py {args[0]} failed (exit {completed.returncode})")


def _start(command: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=BASE_DIR, env=env)  # noqa: S603 (our commands, no shell)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own http URL)
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _wait_healthy(url: str, processes: dict[str, subprocess.Popen]) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT
    while not _healthy(url):
        _raise_if_exited(processes)
        if time.monotonic() > deadline:
            raise LaunchError(f"{url} did not answer 200 within {HEALTH_TIMEOUT:.0f} s")
        time.sleep(0.5)


def _raise_if_exited(processes: dict[str, subprocess.Popen]) -> None:
    for name, process in processes.items():
        if process.poll() is not None:
            raise LaunchError(f"{name} (pid {process.pid}) exited with {process.returncode}")


def _stop(processes: dict[str, subprocess.Popen]) -> None:
    """SIGTERM to each process we started, then SIGKILL to any still there after STOP_TIMEOUT."""
    for process in processes.values():
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    for process in processes.values():
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _supervise(processes: dict[str, subprocess.Popen], health_url: str, banner: str) -> int:
    """Prints the banner once the app answers, then waits until a process exits or we are told to stop."""
    # SIGTERM (from CI or a process manager) stops the children like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # Started in the background by a script, SIGINT arrives ignored; Ctrl-C or kill -INT must still stop us.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _wait_healthy(health_url, processes)
        # Let the server log the health request first, so nothing lands between the banner and the prompt.
        time.sleep(0.3)
        print(banner, flush=True)
        while True:
            _raise_if_exited(processes)
            time.sleep(0.5)
    except LaunchError as exc:
        print(f"\n{exc}; stopping the rest.", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(processes)


def _base_url(bind: str) -> str:
    host, _, port = bind.rpartition(":")
    # 0.0.0.0 listens everywhere; a browser on this machine reaches it as 127.0.0.1.
    return f"http://{'127.0.0.1' if host in ('', '0.0.0.0') else host}:{port}"  # noqa: S104


def run(bind: str) -> int:
    os.environ.setdefault("PUBLIC_BASE_URL", _base_url(bind))
    os.environ["DEMO_PASSWORD"] = os.environ.get("DEMO_PASSWORD") or secrets.token_urlsafe(12)
    env = dict(os.environ)
    _manage("migrate", "--noinput", env=env)
    _manage("seed_demo", env=env)
    server = _start([sys.executable, "manage.py", "runserver", bind], env)
    return _supervise({"runserver": server}, f"http://{bind}/healthz", _sign_in_banner(env))


def _sign_in_banner(env: dict) -> str:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agencyhub.settings")
    django.setup()
    # tenants.demo imports models, which exist only once Django is set up.
    from tenants.demo import OWNER_EMAIL, STAFF_EMAIL

    return "\n".join(
        [
            "",
            "AgencyHub is up: the demo agency, in sandbox mode. Sign in:",
            f"  URL       {env['PUBLIC_BASE_URL']}/accounts/login/",
            f"  Email     {OWNER_EMAIL}   (staff: {STAFF_EMAIL})",
            f"  Password  {env['DEMO_PASSWORD']}",
            "Ctrl-C stops the server.",
        ]
    )


def _serve_secrets(env: dict) -> None:
    """SECRET_KEY and FIELD_ENCRYPTION_KEYS from the environment, else from (or generated into) .serve/secrets.env."""
    path = SERVE_STATE_DIR / "secrets.env"
    if not path.exists():
        SERVE_STATE_DIR.mkdir(exist_ok=True)
        path.write_text(
            f"SECRET_KEY={secrets.token_urlsafe(50)}\nFIELD_ENCRYPTION_KEYS={Fernet.generate_key().decode()}\n"
        )
        path.chmod(0o600)
    stored = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    for name in ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS"):
        env[name] = env.get(name) or stored[name]


def _postgres_database_ensure(url: str) -> None:
    """Creates the database DATABASE_URL names when the server has none by that name (a first `make serve`)."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postg"):
        return
    name = parts.path.lstrip("/")
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        if f'database "{name}" does not exist' not in str(exc):
            raise LaunchError(f"cannot reach PostgreSQL at {parts.hostname}:{parts.port}: {exc}") from exc
        with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        print(f"Created database {name}.", flush=True)


def serve(bind: str) -> int:
    env = {**SERVE_DEFAULTS, **os.environ}
    env.setdefault("PUBLIC_BASE_URL", _base_url(bind))
    env["GUNICORN_BIND"] = bind
    _serve_secrets(env)
    _postgres_database_ensure(env["DATABASE_URL"])
    _manage("collectstatic", "--noinput", "-v0", env=env)
    _manage("migrate", "--noinput", env=env)
    celery = [sys.executable, "-m", "celery", "-A", "agencyhub"]
    processes = {
        "gunicorn": _start([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "agencyhub.wsgi"], env),
        "celery worker": _start([*celery, "worker", "--loglevel=INFO"], env),
        "celery beat": _start(
            [*celery, "beat", "--loglevel=INFO", "--schedule", str(SERVE_STATE_DIR / "celerybeat-schedule")], env
        ),
    }
    where = ", ".join(
        f"{name} {urlsplit(env[name]).hostname}:{urlsplit(env[name]).port}{urlsplit(env[name]).path}"
        for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL")
    )
    banner = "\n".join(
        [
            "",
            f"AgencyHub serves the production layout at {env['PUBLIC_BASE_URL']}/ (DEBUG off).",
            "  " + ", ".join(f"{name} pid {process.pid}" for name, process in processes.items()),
            f"  {where}",
            "Ctrl-C stops all three.",
        ]
    )
    return _supervise(processes, f"http://{bind}/healthz", banner)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["run", "serve"])
    parser.add_argument("--bind", default="127.0.0.1:8000", help="host:port to listen on")
    arguments = parser.parse_args()
    try:
        return {"run": run, "serve": serve}[arguments.mode](arguments.bind)
    except LaunchError as exc:
        print(exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
