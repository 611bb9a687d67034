"""Renders one client's monthly report as text, or sends it (--send) to the client's admins."""

import uuid
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError

from tenants.models import ClientAccount
from voice.reports.selectors import client_month_report, previous_month
from voice.reports.services import client_report_send, report_render


def _client(value: str) -> ClientAccount:
    try:
        found = ClientAccount.objects.filter(public_id=uuid.UUID(value))
    except ValueError:
        found = ClientAccount.objects.filter(name=value)
    clients = list(found.select_related("agency")[:2])
    if not clients:
        raise CommandError(f"No client {value!r}: give its id (from its page's address) or its exact name.")
    if len(clients) > 1:
        raise CommandError(f"Several clients are named {value!r}: give the client's id instead.")
    return clients[0]


class Command(BaseCommand):
    help = "Prints a client's monthly report (last month by default), or emails it to the client's admins."

    def add_arguments(self, parser):
        parser.add_argument("client", help="The client's id (UUID) or exact name.")
        parser.add_argument("--month", help="YYYY-MM; by default the month before this one, in the client's zone.")
        parser.add_argument("--send", action="store_true", help="Email it to the client's admins (again if sent).")

    def handle(self, *args, client, month=None, send=False, **options):
        account = _client(client)
        if month:
            try:
                first = datetime.strptime(month, "%Y-%m").date()
            except ValueError as exc:
                raise CommandError(f"--month {month!r} is not YYYY-MM.") from exc
        else:
            first = previous_month(client=account)
        if not send:
            self.stdout.write(report_render(report=client_month_report(client=account, month=first)).text)
            return
        row = client_report_send(client=account, month=first, again=True)
        if row is None:
            raise CommandError(f"The {first:%B %Y} report is being sent by another run right now.")
        if row.status == "sent":
            self.stdout.write(self.style.SUCCESS(f"Sent the {first:%B %Y} report to {', '.join(row.recipients)}."))
        else:
            raise CommandError(f"The {first:%B %Y} report was not sent ({row.get_status_display()}): {row.detail}")
