"""The demo agency that `manage.py seed_demo` creates; its tenant part lives here, beside the models."""

from allauth.account.models import EmailAddress
from django.db import transaction

from .models import Agency, AgencyMembership, AgencyRole, ClientAccount, User

DEMO_SLUG = "demo"
OWNER_EMAIL = "owner@demo.test"
STAFF_EMAIL = "staff@demo.test"
# Named like two of the GHL sandbox's locations, so the demo can connect them (integrations/ghl/demo.py).
DEMO_CLIENTS = [
    ("Lakeside Dental", "America/Chicago", "frontdesk@lakeside-dental.test"),
    ("Thames Physio", "Europe/London", "hello@thames-physio.test"),
]


def _demo_user(*, email: str, password: str) -> User:
    user, _ = User.objects.get_or_create(email=email)
    user.set_password(password)
    user.save()
    EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user


def demo_agency_seed(*, password: str) -> Agency:
    """Creates or refreshes agency `demo`: an owner, a staff member and two clients in different time zones."""
    with transaction.atomic():
        agency, _ = Agency.objects.get_or_create(slug=DEMO_SLUG, defaults={"name": "Demo Agency"})
        for email, role in ((OWNER_EMAIL, AgencyRole.OWNER), (STAFF_EMAIL, AgencyRole.STAFF)):
            user = _demo_user(email=email, password=password)
            AgencyMembership.objects.update_or_create(agency=agency, user=user, defaults={"role": role})
        for name, time_zone, contact in DEMO_CLIENTS:
            ClientAccount.objects.get_or_create(
                agency=agency, name=name, defaults={"time_zone": time_zone, "contact_email": contact}
            )
    return agency
