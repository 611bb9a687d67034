import os
import secrets

from django.conf import settings
from django.core.management.base import BaseCommand

from integrations.ghl.demo import demo_connections_seed
from tenants.demo import OWNER_EMAIL, STAFF_EMAIL, demo_agency_seed
from voice.demo import demo_assistants_seed, demo_calls_seed, demo_recordings_rebase


class Command(BaseCommand):
    help = (
        "Creates (or refreshes) the demo agency `demo` with an owner, a staff member and two clients; "
        "in sandbox mode also connects them to GHL sandbox locations and gives each a pushed assistant."
    )

    def handle(self, *args, **options):
        password = os.environ.get("DEMO_PASSWORD") or secrets.token_urlsafe(12)
        agency = demo_agency_seed(password=password)
        if settings.SANDBOX:
            connections = demo_connections_seed(agency=agency)
            assistants = demo_assistants_seed(agency=agency)
            simulated = demo_calls_seed(agency=agency)
            demo_recordings_rebase(agency=agency)
            self.stdout.write(
                f"Sandbox: {len(connections)} client(s) connected to GHL sandbox locations, "
                f"{len(assistants)} assistant(s) pushed to the Vapi sandbox, "
                f"{agency.calls.count()} call(s) in the last 30 days ({simulated} simulated now)."
            )
        self.stdout.write(
            self.style.SUCCESS(f"Demo agency “{agency.name}” is ready ({agency.clients.count()} clients).")
        )
        self.stdout.write(f"  Sign in at  {settings.PUBLIC_BASE_URL}/accounts/login/")
        self.stdout.write(f"  Owner       {OWNER_EMAIL}")
        self.stdout.write(f"  Staff       {STAFF_EMAIL}")
        self.stdout.write(f"  Password    {password}")
