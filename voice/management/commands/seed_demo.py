import os
import secrets

from django.conf import settings
from django.core.management.base import BaseCommand

from tenants.demo import OWNER_EMAIL, STAFF_EMAIL, demo_agency_seed


class Command(BaseCommand):
    help = "Creates (or refreshes) the demo agency `demo` with an owner, a staff member and two clients."

    def handle(self, *args, **options):
        password = os.environ.get("DEMO_PASSWORD") or secrets.token_urlsafe(12)
        agency = demo_agency_seed(password=password)
        self.stdout.write(
            self.style.SUCCESS(f"Demo agency “{agency.name}” is ready ({agency.clients.count()} clients).")
        )
        self.stdout.write(f"  Sign in at  {settings.PUBLIC_BASE_URL}/accounts/login/")
        self.stdout.write(f"  Owner       {OWNER_EMAIL}")
        self.stdout.write(f"  Staff       {STAFF_EMAIL}")
        self.stdout.write(f"  Password    {password}")
