"""Production start-up: strict settings, and a clear refusal when a required secret is missing."""

import os
import subprocess
import sys

from cryptography.fernet import Fernet
from django.conf import settings

from agencyhub.celery import app

PRODUCTION = {
    "DEBUG": "False",
    "SECRET_KEY": "k9#Qv2!mZr7@Lp4$Wx8^Tn1&Hs6*Bd3(Yf5)Jc0-Ug+Ea7%Rk2=Pm",
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "DATABASE_URL": "sqlite:////tmp/agencyhub-deploy-check.sqlite3",
    "CACHE_URL": "locmemcache://",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "PUBLIC_BASE_URL": "https://hub.example.com",
}


def _manage(*args, env):
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION and k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_missing_secret_key_stops_start_up_with_one_line():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert result.stderr.strip() == "SECRET_KEY is required when DEBUG is off: set it in the environment."


def test_missing_encryption_keys_stop_start_up_with_one_line():
    env = {k: v for k, v in PRODUCTION.items() if k != "FIELD_ENCRYPTION_KEYS"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS is required" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_prepare_threshold_that_is_not_a_number_stops_start_up_with_one_line():
    # Read only for PostgreSQL, where statements are prepared: nothing connects before settings are refused.
    postgresql = "postgres://postgres@127.0.0.1:5432/unused"
    env = {**PRODUCTION, "DATABASE_URL": postgresql, "DATABASE_PREPARE_THRESHOLD": "five"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "DATABASE_PREPARE_THRESHOLD must be a whole number of runs, or empty to prepare nothing (got 'five')."
    )


def test_sandbox_in_production_is_reported_by_the_deploy_check():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION, "SANDBOX": "True"})
    assert result.returncode != 0
    assert "agencyhub.W001" in result.stdout + result.stderr


def test_static_files_collect_for_production(tmp_path):
    """Every vendored asset resolves under the manifest storage (no dangling source-map references)."""
    result = _manage("collectstatic", "--noinput", "-v0", env={**PRODUCTION, "STATIC_ROOT": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "staticfiles.json").exists()


def test_every_beat_entry_names_a_registered_task_and_every_task_is_named_so():
    app.loader.import_default_modules()
    ours = [name for name in app.tasks if not name.startswith("celery.")]
    assert ours and all(name.endswith("_task") for name in ours), ours
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks
