import json

from django.core.management.base import BaseCommand, CommandError

from tenants.models import Agency
from voice.assistants.vapi_org import vapi_account_ensure, vapi_endpoint_url


class Command(BaseCommand):
    help = 'Prints {"url": ..., "secret": ...} for configuring Vapi by hand (creates the secret if missing).'

    def add_arguments(self, parser):
        parser.add_argument("agency_slug")

    def handle(self, *args, agency_slug, **options):
        agency = Agency.objects.filter(slug=agency_slug).first()
        if agency is None:
            raise CommandError(f"No agency with slug “{agency_slug}”.")
        account, _ = vapi_account_ensure(agency=agency)
        self.stdout.write(json.dumps({"url": vapi_endpoint_url(agency=agency), "secret": account.webhook_secret}))
