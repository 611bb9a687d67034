"""The standing cast (DESIGN.md): an owner and a staff member of agency A, a client admin of
one of A's clients, and a member of agency B: the outsider."""

import pytest
from allauth.account.models import EmailAddress

from tenants.models import AgencyRole, ClientMembership, ClientRole, User
from tenants.services import agency_create, client_create

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache():
    """Rate-limit counters and cached slots must not leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Files the app writes (export results) land in the test's own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


def make_user(email: str) -> User:
    user = User.objects.create_user(email=email, password=PASSWORD)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


class Cast:
    def __init__(self):
        self.owner = make_user("owner@a.test")
        self.agency = agency_create(name="Agency A", owner=self.owner)
        self.staff = make_user("staff@a.test")
        self.agency.memberships.create(user=self.staff, role=AgencyRole.STAFF)
        self.client_account = client_create(agency=self.agency, name="A Dental", time_zone="America/Chicago")
        self.other_client = client_create(agency=self.agency, name="A Physio", time_zone="Europe/London")
        self.client_admin = make_user("admin@client-a.test")
        ClientMembership.objects.create(
            client=self.client_account, user=self.client_admin, role=ClientRole.CLIENT_ADMIN
        )
        self.outsider = make_user("outsider@b.test")
        self.agency_b = agency_create(name="Agency B", owner=self.outsider)
        self.client_b = client_create(agency=self.agency_b, name="B Plumbing", time_zone="America/Denver")


@pytest.fixture
def cast(db) -> Cast:
    return Cast()


@pytest.fixture
def as_user(client):
    """Returns a function that signs the test client in as the given user."""

    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in
