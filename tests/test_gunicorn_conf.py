"""gunicorn's workers are forked from a master that loaded everything a request needs, so recycling a worker
(max_requests) costs a fork, not a fresh import of Django and every view (#12); web and Celery workers keep what
they loaded at start out of the cyclic collector."""

import gc
import os
import runpy
import subprocess
import sys

from django.conf import settings


def test_the_app_is_preloaded_and_a_worker_fork_leaves_the_collector_alone(monkeypatch):
    config = runpy.run_path(str(settings.BASE_DIR / "gunicorn.conf.py"))
    assert config["preload_app"] is True
    assert config["max_requests"] > 0  # recycling stays: it is what preloading makes cheap
    frozen = []
    monkeypatch.setattr(config["gc"], "freeze", lambda: frozen.append(True))
    config["when_ready"](server=None)
    assert frozen == [True]


def test_loading_the_wsgi_app_imports_the_urlconf_and_the_views():
    # In a fresh interpreter, as gunicorn's master loads it: nothing is left for a worker's first request to import.
    probe = (
        "import sys, agencyhub.wsgi; "
        "print(all(m in sys.modules for m in ('agencyhub.urls', 'voice.live.api', 'voice.calls.views')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip().splitlines()[-1] == "True", result.stdout + result.stderr


def test_a_workers_first_publish_imports_nothing():
    # The inbox's first kick in a worker forked from that master: what publishing needs is loaded already.
    probe = (
        "import sys, agencyhub.wsgi; "
        "from agencyhub.enqueue import enqueue; from integrations.tasks import webhook_drain_task; "
        "before = set(sys.modules); "
        "print(enqueue(webhook_drain_task), sorted(set(sys.modules) - before))"
    )
    environ = {**os.environ, "CELERY_BROKER_URL": "memory://", "CELERY_TASK_ALWAYS_EAGER": "False"}
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
    )
    assert result.stdout.strip().splitlines()[-1] == "True []", result.stdout + result.stderr


def test_a_celery_worker_keeps_what_it_loaded_at_start_out_of_the_collector():
    from celery.signals import worker_process_init, worker_ready

    gc.unfreeze()
    try:
        for started in (worker_process_init, worker_ready):
            gc.unfreeze()
            started.send(sender=None)
            assert gc.get_freeze_count() > 1000, started.name
    finally:
        gc.unfreeze()
