"""Time for tests: the moment frozen-time tests stand at, and a fake clock for the provider HTTP clients."""

from datetime import UTC, datetime

# Mid-month, so "this month" and "last month" never depend on the day the suite runs.
NOW = datetime(2026, 3, 15, 15, 0, tzinfo=UTC)


class FakeClock:
    """Sleeping moves it, so retries and deadlines run without waiting."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        """The wall clock too, for what counts by it (the GHL sandbox's rate-limit windows)."""
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def install_fake_clock(monkeypatch, *client_modules: str) -> FakeClock:
    """Patches the shared HTTP base and each named client module (which read monotonic() themselves)."""
    fake = FakeClock()
    monkeypatch.setattr("integrations.http.monotonic", fake.monotonic)
    monkeypatch.setattr("integrations.http.sleep", fake.sleep)
    for module in client_modules:
        monkeypatch.setattr(f"{module}.monotonic", fake.monotonic)
    return fake
