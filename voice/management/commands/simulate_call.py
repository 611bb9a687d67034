import uuid
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from tenants.models import ClientAccount
from voice.calls.notes import call_page_url
from voice.live.speech import spoken_moment
from voice.simulator.conversation import Scenario, SimulationError
from voice.simulator.services import call_simulate


class Command(BaseCommand):
    help = (
        "Simulates one phone call to a client's assistant (sandbox only): a signed sequence of Vapi messages "
        "through the real endpoint, then prints where to see the call."
    )

    def add_arguments(self, parser):
        parser.add_argument("client", help="the client's public id, or its exact name")
        parser.add_argument("--scenario", choices=[s.value for s in Scenario], default=Scenario.BOOKED.value)
        parser.add_argument("--agency", metavar="SLUG", help="the agency, when clients of several share the name")
        parser.add_argument("--seed", help="the same seed simulates the same call again (default: a new call)")

    def _client(self, wanted: str, agency_slug: str | None) -> ClientAccount:
        clients = ClientAccount.objects.select_related("agency")
        if agency_slug:
            clients = clients.filter(agency__slug=agency_slug)
        try:
            clients = clients.filter(public_id=uuid.UUID(wanted))
        except ValueError:
            clients = clients.filter(name=wanted)
        found = list(clients[:10])
        if not found:
            where = f" in agency “{agency_slug}”" if agency_slug else ""
            raise CommandError(f"No client “{wanted}”{where}: pass its public id or its exact name.")
        if len(found) > 1:
            slugs = ", ".join(sorted(c.agency.slug for c in found))
            raise CommandError(f"Several clients are named “{wanted}”: pass --agency with one of {slugs}.")
        return found[0]

    def handle(self, *args, client, scenario, agency, seed, **options):
        account = self._client(client, agency)
        assistant = account.assistants.exclude(vapi_id="").first() or account.assistants.first()
        if assistant is None:
            raise CommandError(f"{account.name} has no assistant yet: create one on its Assistants page first.")
        try:
            simulated = call_simulate(assistant=assistant, scenario=Scenario(scenario), seed=seed)
        except SimulationError as exc:
            raise CommandError(str(exc)) from exc
        zone = ZoneInfo(assistant.time_zone or account.time_zone)
        booked = simulated.booked_at
        outcome = f"booked {spoken_moment(booked.astimezone(zone))}" if booked else "no booking"
        if simulated.call is not None:
            where = call_page_url(simulated.call)
        else:  # a Celery worker is still processing it
            where = settings.PUBLIC_BASE_URL + reverse("call_list", args=[account.agency.slug])
        self.stdout.write(
            f"{scenario} call from {simulated.caller_number} to {assistant.name}, {simulated.duration_seconds} s, "
            f"{simulated.ended_reason}, {outcome}: {where}"
        )
