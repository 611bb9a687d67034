import os
import secrets

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction

from tenants.models import Agency, AgencyMembership, AgencyRole, ClientAccount, User

DEMO_SLUG = "demo"
OWNER_EMAIL = "owner@demo.test"
STAFF_EMAIL = "staff@demo.test"
DEMO_CLIENTS = [
    ("Bright Smile Dental", "America/New_York", "frontdesk@brightsmile.test"),
    ("Harbour Physio", "Europe/London", "hello@harbourphysio.test"),
]


def _demo_user(email: str, password: str) -> User:
    user, _ = User.objects.get_or_create(email=email)
    user.set_password(password)
    user.save()
    EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user


class Command(BaseCommand):
    help = "Creates (or refreshes) the demo agency `demo` with an owner, a staff member and two clients."

    def handle(self, *args, **options):
        password = os.environ.get("DEMO_PASSWORD") or secrets.token_urlsafe(12)
        with transaction.atomic():
            agency, _ = Agency.objects.get_or_create(slug=DEMO_SLUG, defaults={"name": "Demo Agency"})
            for email, role in ((OWNER_EMAIL, AgencyRole.OWNER), (STAFF_EMAIL, AgencyRole.STAFF)):
                user = _demo_user(email, password)
                AgencyMembership.objects.update_or_create(agency=agency, user=user, defaults={"role": role})
            for name, time_zone, contact in DEMO_CLIENTS:
                ClientAccount.objects.get_or_create(
                    agency=agency, name=name, defaults={"time_zone": time_zone, "contact_email": contact}
                )
        self.stdout.write(
            self.style.SUCCESS(f"Demo agency “{agency.name}” is ready ({agency.clients.count()} clients).")
        )
        self.stdout.write(f"  Sign in at  {self._base_url()}/accounts/login/")
        self.stdout.write(f"  Owner       {OWNER_EMAIL}")
        self.stdout.write(f"  Staff       {STAFF_EMAIL}")
        self.stdout.write(f"  Password    {password}")

    @staticmethod
    def _base_url() -> str:
        from django.conf import settings

        return settings.PUBLIC_BASE_URL
