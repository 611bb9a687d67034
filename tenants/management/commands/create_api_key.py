from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.models import Agency
from tenants.services import api_key_create


class Command(BaseCommand):
    help = "Creates an API key for an agency and prints it as the last line (it is shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("agency_slug")
        parser.add_argument("--name", default="Command line", help="What the key is for, shown on the settings page.")

    def handle(self, *args, agency_slug, name, **options):
        agency = Agency.objects.filter(slug=agency_slug).first()
        if agency is None:
            raise CommandError(f"No agency with slug “{agency_slug}”.")
        if not name.strip():
            raise CommandError("--name must not be blank.")
        try:
            api_key, key = api_key_create(agency=agency, name=name)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(f"Created API key “{api_key.name}” for {agency.name}. Store it now: it is not shown again.")
        self.stdout.write(key)
