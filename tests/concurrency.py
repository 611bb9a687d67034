"""Two workers at once, as two Celery processes would run one task: each in its own thread with its own
database connection (PostgreSQL tests; SQLite serialises writers)."""

import threading
from collections.abc import Callable

from django.db import connection


def run_concurrently(work: Callable[[], object], *, workers: int = 2) -> list:
    """Runs `work` in `workers` threads at once and returns what each returned; any exception fails the test."""
    outcomes, crashes = [], []

    def worker():
        try:
            outcomes.append(work())
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            crashes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not crashes, crashes
    return outcomes
