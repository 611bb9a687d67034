from django import forms

from voice.calls.selectors import CallFilters
from voice.models import CallOutcome

from . import ended_reasons

SORT_CHOICES = [
    ("newest", "Newest first"),
    ("oldest", "Oldest first"),
    ("longest", "Longest first"),
    ("shortest", "Shortest first"),
    ("cost", "Most expensive first"),
]


DURATION_CHOICES = [("", "Any length"), ("short", "Under 1 min"), ("medium", "1–5 min"), ("long", "Over 5 min")]


# Offered as suggestions; any prefix of Vapi's endedReason matches ("pipeline-error" finds them all).
COMMON_ENDED_REASONS = sorted(
    {
        "customer-ended-call",
        "assistant-ended-call",
        "assistant-said-end-call-phrase",
        "silence-timed-out",
        "exceeded-max-duration",
        "customer-did-not-answer",
        "voicemail",
        "pipeline-error",
    }
    | ended_reasons.TRANSFERRED
    | ended_reasons.FAILED
)


def client_choices(clients) -> list[tuple[str, str]]:
    return [("", "All clients")] + [(str(c.public_id), c.name) for c in clients]


class ClientPickerForm(forms.Form):
    """The filter bars' client picker: a search box and the few clients it found (client_picker_choices)."""

    client_q = forms.CharField(
        max_length=100,
        required=False,
        label="Find a client",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Type a client's name", "autocomplete": "off"}),
    )
    client = forms.ChoiceField(required=False)

    def __init__(self, *args, clients=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client"].choices = client_choices(clients)


def assistant_choices(assistants) -> list[tuple[str, str]]:
    return [("", "All assistants")] + [(str(a.public_id), f"{a.name} · {a.client.name}") for a in assistants]


class AssistantPickerForm(forms.Form):
    """The calls filter bar's assistant picker, as the client picker: a search box and the few it found."""

    assistant_q = forms.CharField(
        max_length=100,
        required=False,
        label="Find an assistant",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Assistant or client name", "autocomplete": "off"}
        ),
    )
    assistant = forms.ChoiceField(required=False)

    def __init__(self, *args, assistants=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assistant"].choices = assistant_choices(assistants)


class CallFilterForm(forms.Form):
    """The calls list's filter bar. Every field is optional; a bad value is reported and the rest still apply.

    `clients` and `assistants` are None on the client's own portal, where those filters make no sense.
    """

    client = forms.ChoiceField(required=False)
    assistant = forms.ChoiceField(required=False)
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    outcome = forms.ChoiceField(choices=[("", "Any outcome"), *CallOutcome.choices], required=False)
    ended_reason = forms.CharField(
        max_length=120,
        required=False,
        label="Ended reason",
        widget=forms.TextInput(attrs={"list": "ended-reasons", "placeholder": "Any ended reason"}),
    )
    duration = forms.ChoiceField(choices=DURATION_CHOICES, required=False)
    q = forms.CharField(
        max_length=200,
        required=False,
        label="Search transcripts",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Search transcripts"}),
    )
    sort = forms.ChoiceField(choices=SORT_CHOICES, required=False, label="Sort")

    def __init__(self, *args, clients=None, assistants=None, time_zone: str = "UTC", **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone = time_zone
        self.zones = {}
        if clients is None:
            del self.fields["client"]
        else:
            self.fields["client"].choices = client_choices(clients)
            self.fields["client_q"] = ClientPickerForm.base_fields["client_q"]
            self.zones = {str(c.public_id): c.time_zone for c in clients}
        if assistants is None:
            del self.fields["assistant"]
        else:
            self.fields["assistant"].choices = assistant_choices(assistants)
            self.fields["assistant_q"] = AssistantPickerForm.base_fields["assistant_q"]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    def filters(self) -> CallFilters:
        """The valid part of what was asked; call after is_valid() (invalid fields are left out)."""
        data = getattr(self, "cleaned_data", {})
        client_id = data.get("client") or ""
        return CallFilters(
            client_id=client_id,
            assistant_id=data.get("assistant") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            # Days are the chosen client's days; across clients they are UTC days.
            time_zone=self.zones.get(client_id, self.time_zone),
            outcome=data.get("outcome") or "",
            ended_reason=(data.get("ended_reason") or "").strip(),
            duration=data.get("duration") or "",
            q=(data.get("q") or "").strip(),
            sort=data.get("sort") or "newest",
        )
