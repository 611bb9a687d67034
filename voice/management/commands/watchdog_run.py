from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tenants.models import Agency
from voice.watchdog.services import watchdog_run


class Command(BaseCommand):
    help = "Runs every watchdog check once (all agencies, or one) and prints each check's state."

    def add_arguments(self, parser):
        parser.add_argument("--agency", metavar="SLUG", help="Only this agency.")

    def handle(self, *args, agency=None, **options):
        only = None
        if agency:
            only = Agency.objects.filter(slug=agency).first()
            if only is None:
                raise CommandError(f"No agency with slug “{agency}”.")
        rows = watchdog_run(agency=only)
        self.stdout.write(f"{'agency':<16} {'client':<24} {'check':<16} {'state':<8} {'since':<17} detail")
        for row in rows:
            since = timezone.localtime(row.since).strftime("%Y-%m-%d %H:%M")
            client = row.client.name if row.client else "(agency)"
            columns = f"{row.agency.slug:<16} {client[:24]:<24} {row.check_name:<16} {row.state:<8} {since:<17}"
            line = f"{columns} {row.detail}"
            self.stdout.write(self.style.ERROR(line) if row.state == "failing" else line)
        failing = sum(row.state == "failing" for row in rows)
        self.stdout.write(f"{len(rows)} checks, {failing} failing.")
