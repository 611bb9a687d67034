"""The standing cast (DESIGN.md): an owner and a staff member of agency A, a client admin of one of A's clients,
and a member of agency B: the outsider. Each is a fixture of its own; `cast` holds them all."""

import os
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.cache import cache

from integrations.ghl.demo import sandbox_connect
from integrations.ghl.sandbox import sandbox_seed
from tenants.models import AgencyRole, ClientMembership, ClientRole
from tests.factories import AgencyFactory, AssistantFactory, ClientAccountFactory, UserFactory
from voice.assistants import services as assistants_services
from voice.assistants import vapi_org
from voice.assistants.selectors import client_calendars

# The simulator seeds each call from its assistant's public id and the seed it is given: a fixed id makes a
# simulated call in a test the same call on every run (only the clock still moves it), so a failure replays.
SIM_ASSISTANT_PUBLIC_ID = uuid.UUID("5e1f0000-0000-4000-8000-00000000c0de")
_STARTED_AT = pytest.StashKey[datetime]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    item.stash[_STARTED_AT] = datetime.now(UTC)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test names the moment it ran: many tests read the wall clock (today's weekday, "next
    Tuesday", slots after now), so a failure that depends on the day or hour says which one it met."""
    report = yield
    started = item.stash.get(_STARTED_AT, None)
    if report.failed and started is not None:
        chicago = started.astimezone(ZoneInfo("America/Chicago"))
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        report.sections.append(
            ("the clock", f"started at {started.isoformat()} ({chicago:%A %Y-%m-%d %H:%M:%S %Z} in Chicago), {worker}")
        )
    return report


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_configure(config):
    """xdist workers share one Redis when CACHE_URL names one (a .env, as the README suggests): each worker
    keeps its keys under a prefix of its own and empties only those. Otherwise one worker's `cache.clear()`
    empties the other's cache mid-test, and its keys (database ids, the sandbox's fixed calendar ids, which
    repeat across the workers' databases) hold the other worker's slots and call setups.

    This is what made issue #13's two tests (the converging call, the simulated call) fail once each under
    -n 2: looping both on one shared Redis db without prefixes, at the commit the issue was filed against, each
    failed once in 150 (the other worker's FLUSHDB between the slot version's `add` and `incr` crashed the
    booking after GHL had booked; tests/voice/live/test_live_outages.py pins the booking), and on today's code
    8 in 150 (the inbox's kick gate, `webhook-inbox:kick`, held by the other worker's drain, so this worker's
    stored messages were never drained). With these prefixes: 0 in 300."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache":
        settings.CACHES["default"]["KEY_PREFIX"] = f"test-{worker}"
        # The spool and the tool-call record queue are raw Redis lists outside that prefix, defaulting to
        # CACHE_URL: off, as with the default cache (a test that needs one sets its own).
        settings.WEBHOOK_SPOOL_URL = settings.TOOL_CALL_RECORD_QUEUE_URL = ""


def _cache_emptied():
    if settings.CACHES["default"].get("KEY_PREFIX", "").startswith("test-"):
        cache.delete_pattern("*")  # this worker's keys only
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Rate-limit counters and cached slots must not leak from one test into the next."""
    _cache_emptied()
    yield
    _cache_emptied()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Files the app writes (export results) land in the test's own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def owner(db):
    return UserFactory(email="owner@a.test")


@pytest.fixture
def agency(owner):
    return AgencyFactory(name="Agency A", owner=owner)


@pytest.fixture
def staff(agency):
    user = UserFactory(email="staff@a.test")
    agency.memberships.create(user=user, role=AgencyRole.STAFF)
    return user


@pytest.fixture
def client_account(agency):
    return ClientAccountFactory(agency=agency, name="A Dental", time_zone="America/Chicago")


@pytest.fixture
def other_client(agency):
    return ClientAccountFactory(agency=agency, name="A Physio", time_zone="Europe/London")


@pytest.fixture
def client_admin(client_account):
    user = UserFactory(email="admin@client-a.test")
    ClientMembership.objects.create(client=client_account, user=user, role=ClientRole.CLIENT_ADMIN)
    return user


@pytest.fixture
def outsider(db):
    return UserFactory(email="outsider@b.test")


@pytest.fixture
def agency_b(outsider):
    return AgencyFactory(name="Agency B", owner=outsider)


@pytest.fixture
def client_b(agency_b):
    return ClientAccountFactory(agency=agency_b, name="B Plumbing", time_zone="America/Denver")


class Cast:
    """The whole cast by name; tests may hang what they build on it (an assistant, a URL)."""

    def __init__(self, **members):
        self.__dict__.update(members)


@pytest.fixture
def cast(owner, agency, staff, client_account, other_client, client_admin, outsider, agency_b, client_b) -> Cast:
    return Cast(
        owner=owner,
        agency=agency,
        staff=staff,
        client_account=client_account,
        other_client=other_client,
        client_admin=client_admin,
        outsider=outsider,
        agency_b=agency_b,
        client_b=client_b,
    )


@pytest.fixture
def as_user(client):
    """Returns a function that signs the test client in as the given user."""

    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def sim(cast):
    """A client on the GHL sandbox whose assistant books into its calendars: what the call simulator needs."""
    sandbox_seed()
    sandbox_connect(client=cast.client_account, location_id="sbxLocChicago0000001")
    cast.client_account.refresh_from_db()
    assistant = AssistantFactory(
        client=cast.client_account, time_zone="America/Chicago", public_id=SIM_ASSISTANT_PUBLIC_ID
    )
    assistants_services.assistant_calendars_set(
        assistant=assistant,
        calendars=[
            {"calendar_id": c["id"], "calendar_name": c["name"], "spoken_name": c["name"].lower()}
            for c in client_calendars(client=cast.client_account)
        ],
    )
    assistant.vapi_id = "asst-sim-1"
    assistant.save()
    vapi_org.vapi_account_ensure(agency=cast.agency)
    cast.assistant = assistant
    return cast
