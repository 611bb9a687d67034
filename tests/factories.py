"""factory-boy factories for the rows tests need: each makes one valid row with plain defaults; a test passes
only what its assertion is about."""

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone
from factory.django import DjangoModelFactory

from integrations.ghl.models import ConnectionKind, GhlConnection
from tenants.models import Agency, ClientAccount, User
from tenants.services import agency_create, client_create
from voice.assistants.services import assistant_create
from voice.models import Assistant, Booking, BookingStatus, Call, CallOutcome, LiveTool, ToolCallRecord

PASSWORD = "correct horse battery staple"


class UserFactory(DjangoModelFactory):
    """A user who can sign in at once: password PASSWORD, email verified."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.test")

    @classmethod
    def _create(cls, model_class, *, email, **fields):
        user = model_class.objects.create_user(email=email, password=PASSWORD, **fields)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        return user


class AgencyFactory(DjangoModelFactory):
    """An agency made as sign-up makes one: its owner is its first member."""

    class Meta:
        model = Agency

    name = factory.Sequence(lambda n: f"Agency {n}")
    owner = factory.SubFactory(UserFactory)

    @classmethod
    def _create(cls, model_class, **fields):
        return agency_create(**fields)


class ClientAccountFactory(DjangoModelFactory):
    class Meta:
        model = ClientAccount

    agency = factory.SubFactory(AgencyFactory)
    name = factory.Sequence(lambda n: f"Client {n}")
    time_zone = "America/Chicago"

    @classmethod
    def _create(cls, model_class, **fields):
        return client_create(**fields)


class GhlConnectionFactory(DjangoModelFactory):
    """A client's OAuth location connection whose token is good for `expires_in` more (None: never expires)."""

    class Meta:
        model = GhlConnection

    class Params:
        expires_in = timedelta(minutes=2)

    client = factory.SubFactory(ClientAccountFactory)
    location_id = factory.Sequence(lambda n: f"loc-{n}")
    kind = ConnectionKind.OAUTH_LOCATION
    access_token = "at-old"
    refresh_token = "rt-old"
    expires_at = factory.LazyAttribute(lambda o: timezone.now() + o.expires_in if o.expires_in is not None else None)


class AssistantFactory(DjangoModelFactory):
    """An assistant saved as staff save one (its calendars and a first revision), never pushed to Vapi."""

    class Meta:
        model = Assistant

    client = factory.SubFactory(ClientAccountFactory)
    name = "Front desk"
    first_message = "Hello"
    system_prompt = "You work for {client_name}."
    live_tools = factory.LazyFunction(lambda: [t.value for t in LiveTool])
    transfer_number = "+15551234567"
    end_call_phrases = factory.LazyFunction(lambda: ["goodbye"])
    calendars = factory.LazyFunction(
        lambda: [{"calendar_id": "cal-clean", "calendar_name": "Dental cleaning", "spoken_name": "cleaning"}]
    )

    @classmethod
    def _create(cls, model_class, *, client, calendars, **fields):
        with mock.patch("voice.assistants.tasks.assistant_push_task.delay"):
            return assistant_create(client=client, author=None, calendars=calendars, **fields)


class CallFactory(DjangoModelFactory):
    """A call of `client`, with only what Vapi's first message would tell us."""

    class Meta:
        model = Call

    client = factory.SubFactory(ClientAccountFactory)
    agency = factory.SelfAttribute("client.agency")
    vapi_call_id = factory.Sequence(lambda n: f"call-{n}")


class EndedCallFactory(CallFactory):
    """A finished call lasting `seconds` and costing `cost`; `booked` adds that many bookings the assistant made."""

    class Meta:
        skip_postgeneration_save = True

    class Params:
        seconds = 60

    started_at = factory.LazyFunction(timezone.now)
    ended_at = factory.LazyAttribute(lambda o: o.started_at + timedelta(seconds=o.seconds or 0))
    duration_seconds = factory.SelfAttribute("seconds")
    outcome = CallOutcome.NO_BOOKING
    cost = Decimal("0.10")

    @classmethod
    def _adjust_kwargs(cls, **fields):
        if isinstance(fields["cost"], str):
            fields["cost"] = Decimal(fields["cost"])
        return fields

    @factory.post_generation
    def booked(self, create, count, **kwargs):
        for n in range(count or 0):
            BookingFactory(
                client=self.client,
                call=self,
                tool_call_id=f"tc-{n}",
                calendar_id="cal-1",
                calendar_name="Cleaning",
                caller_name="",
                start=self.started_at + timedelta(days=2, hours=n),
            )


class BookingFactory(DjangoModelFactory):
    """An appointment the assistant made for a named caller, `starts_in` from now unless `start` is given."""

    class Meta:
        model = Booking

    class Params:
        starts_in = timedelta(days=2)

    call = None
    client = factory.Maybe(
        "call",
        yes_declaration=factory.SelfAttribute("call.client"),
        no_declaration=factory.SubFactory(ClientAccountFactory),
    )
    tool_call_id = factory.Sequence(lambda n: f"tc-{n}")
    calendar_id = "cal-1"
    calendar_name = "Cleaning"
    caller_name = factory.LazyAttribute(lambda o: f"Caller {o.tool_call_id}")
    start = factory.LazyAttribute(lambda o: timezone.now() + o.starts_in)
    status = BookingStatus.BOOKED


class ToolCallRecordFactory(DjangoModelFactory):
    class Meta:
        model = ToolCallRecord

    call = factory.SubFactory(CallFactory)
    tool_call_id = factory.Sequence(lambda n: f"tc-{n}")
    name = "check_availability"
