"""A real Celery worker for the fault suite, with one extra inbox handler: GHL "FaultSlow" events take
FAULT_SLOW_SECONDS, then count themselves in Redis (FAULT_COUNTER_URL), so a test can SIGKILL a worker
mid-handler and see how many times the handler really finished."""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agencyhub.settings")

import django

django.setup()

import redis  # noqa: E402

from agencyhub.celery import app  # noqa: E402
from integrations.inbox import register_handler  # noqa: E402


def slow_handler(event) -> None:
    time.sleep(float(os.environ.get("FAULT_SLOW_SECONDS", "20")))
    redis.Redis.from_url(os.environ["FAULT_COUNTER_URL"]).incr(f"fault:handled:{event.pk}")


register_handler("ghl", "FaultSlow", slow_handler)

if __name__ == "__main__":
    app.worker_main(["worker", *sys.argv[1:]])
