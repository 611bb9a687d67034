import re

from django import forms

from tenants.forms import TIME_ZONE_CHOICES
from voice.assistants.payload import WEEKDAY_NAMES
from voice.models import (
    LANGUAGE_CHOICES,
    MODEL_CHOICES,
    TRANSCRIBER_CHOICES,
    VOICE_PRESETS,
    WEEKDAYS,
    Assistant,
    LiveTool,
    validate_e164,
)

HOURS = re.compile(r"^([01]\d|2[0-3]):[0-5]\d\s*-\s*([01]\d|2[0-3]):[0-5]\d$")


PROMPT_HELP = (
    "Filled in when saved: <code>{client_name}</code>, <code>{time_zone}</code>, "
    "<code>{business_hours}</code>; <code>{today}</code> is the date of each call. Filled by Vapi at each call: "
    "the caller context variables listed beside the form, e.g. <code>{{caller_first_name}}</code>."
)


def _pair_choices(pairs) -> list[tuple[str, str]]:
    return [(f"{provider}/{name}", f"{name} ({provider})") for provider, name in pairs]


def _split(value: str) -> tuple[str, str]:
    provider, _, name = value.partition("/")
    return provider, name


class AssistantForm(forms.Form):
    name = forms.CharField(max_length=40)
    first_message = forms.CharField(
        max_length=1000, required=False, help_text="What the assistant says when it picks up."
    )
    system_prompt = forms.CharField(widget=forms.Textarea(attrs={"rows": 12}), required=False, help_text=PROMPT_HELP)
    model_choice = forms.ChoiceField(label="Model", choices=_pair_choices(MODEL_CHOICES))
    voice_choice = forms.ChoiceField(label="Voice", choices=_pair_choices(VOICE_PRESETS))
    transcriber_choice = forms.ChoiceField(label="Transcriber", choices=_pair_choices(TRANSCRIBER_CHOICES))
    transcriber_language = forms.ChoiceField(label="Language", choices=LANGUAGE_CHOICES)
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES)
    appointment_minutes = forms.IntegerField(
        min_value=5, max_value=480, initial=30, label="Appointment length (minutes)"
    )
    transfer_number = forms.CharField(
        max_length=16, required=False, validators=[validate_e164], help_text="E.164, e.g. +15551234567."
    )
    end_call_phrases = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, help_text="One phrase per line, e.g. “goodbye”."
    )
    live_tools = forms.MultipleChoiceField(
        choices=LiveTool.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        label="Live tools",
    )

    def __init__(self, *args, calendars: list[dict], assistant: Assistant | None = None, **kwargs):
        """`calendars` are the client's GHL calendars; each gets a field for its spoken name."""
        super().__init__(*args, **kwargs)
        self.calendars = calendars
        for day in WEEKDAYS:
            self.fields[f"hours_{day}"] = forms.CharField(
                label=f"{WEEKDAY_NAMES[day]} hours", required=False, help_text="e.g. 09:00-17:00; empty = closed."
            )
        for calendar in calendars:
            self.fields[f"calendar_{calendar['id']}"] = forms.CharField(
                label=f"Calendar “{calendar['name']}”: spoken name",
                max_length=60,
                required=False,
                help_text="What callers ask for, e.g. “cleaning”. Empty: the assistant doesn't book here.",
            )
        if assistant is not None:
            # An imported assistant may use a model or voice outside the curated lists; keep it selectable.
            for field, value in (
                ("model_choice", f"{assistant.model_provider}/{assistant.model}"),
                ("voice_choice", f"{assistant.voice_provider}/{assistant.voice_id}"),
                ("transcriber_choice", f"{assistant.transcriber_provider}/{assistant.transcriber_model}"),
            ):
                choices = list(self.fields[field].choices)
                if value not in dict(choices):
                    self.fields[field].choices = [(value, value.replace("/", " · ")), *choices]
            if not self.is_bound:
                self.initial.update(self._initial_from(assistant))

    def sections(self) -> list[dict]:
        """The fields grouped the way staff think about an assistant."""
        groups = [
            ("Greeting and prompt", ["name", "first_message", "system_prompt"]),
            (
                "Model, voice and hearing",
                ["model_choice", "voice_choice", "transcriber_choice", "transcriber_language"],
            ),
            ("Hours and appointments", ["time_zone", *[f"hours_{day}" for day in WEEKDAYS], "appointment_minutes"]),
            ("Calendars", [name for name in self.fields if name.startswith("calendar_")]),
            ("During the call", ["live_tools", "transfer_number", "end_call_phrases"]),
        ]
        return [{"title": title, "fields": [self[name] for name in names]} for title, names in groups]

    @staticmethod
    def _hours_initial(business_hours: dict) -> dict:
        return {
            f"hours_{day}": f"{span['open']}-{span['close']}" if (span := business_hours.get(day)) else ""
            for day in WEEKDAYS
        }

    @classmethod
    def initial_for_new(cls, defaults: dict) -> dict:
        """The form's initial values for a new assistant from voice.assistants.defaults."""
        fields = ("name", "first_message", "system_prompt", "time_zone", "live_tools")
        return {**{name: defaults[name] for name in fields}, **cls._hours_initial(defaults["business_hours"])}

    @staticmethod
    def _initial_from(assistant: Assistant) -> dict:
        initial = {
            "name": assistant.name,
            "first_message": assistant.first_message,
            "system_prompt": assistant.system_prompt,
            "model_choice": f"{assistant.model_provider}/{assistant.model}",
            "voice_choice": f"{assistant.voice_provider}/{assistant.voice_id}",
            "transcriber_choice": f"{assistant.transcriber_provider}/{assistant.transcriber_model}",
            "transcriber_language": assistant.transcriber_language,
            "time_zone": assistant.time_zone,
            "appointment_minutes": assistant.appointment_minutes,
            "transfer_number": assistant.transfer_number,
            "end_call_phrases": "\n".join(assistant.end_call_phrases),
            "live_tools": assistant.live_tools,
        }
        initial.update(AssistantForm._hours_initial(assistant.business_hours))
        for calendar in assistant.calendars.all():
            initial[f"calendar_{calendar.calendar_id}"] = calendar.spoken_name
        return initial

    def clean(self):
        cleaned = super().clean()
        for day in WEEKDAYS:
            value = (cleaned.get(f"hours_{day}") or "").strip()
            if value and not HOURS.match(value):
                self.add_error(f"hours_{day}", "Use HH:MM-HH:MM, e.g. 09:00-17:00.")
        tools = cleaned.get("live_tools") or []
        if LiveTool.TRANSFER_CALL in tools and not cleaned.get("transfer_number"):
            self.add_error("transfer_number", "Transferring needs a number to transfer to.")
        return cleaned

    def assistant_fields(self) -> dict:
        """The cleaned data as keyword arguments of assistant_create / assistant_update."""
        data = self.cleaned_data
        model_provider, model = _split(data["model_choice"])
        voice_provider, voice_id = _split(data["voice_choice"])
        transcriber_provider, transcriber_model = _split(data["transcriber_choice"])
        hours = {}
        for day in WEEKDAYS:
            value = (data.get(f"hours_{day}") or "").replace(" ", "")
            hours[day] = dict(zip(("open", "close"), value.split("-"), strict=True)) if value else None
        return {
            "name": data["name"],
            "first_message": data["first_message"],
            "system_prompt": data["system_prompt"],
            "model_provider": model_provider,
            "model": model,
            "voice_provider": voice_provider,
            "voice_id": voice_id,
            "transcriber_provider": transcriber_provider,
            "transcriber_model": transcriber_model,
            "transcriber_language": data["transcriber_language"],
            "time_zone": data["time_zone"],
            "business_hours": hours,
            "appointment_minutes": data["appointment_minutes"],
            "transfer_number": data["transfer_number"],
            "end_call_phrases": [line.strip() for line in data["end_call_phrases"].splitlines() if line.strip()],
            "live_tools": list(data["live_tools"]),
        }

    def calendar_choices(self) -> list[dict]:
        return [
            {
                "calendar_id": calendar["id"],
                "calendar_name": calendar["name"],
                "spoken_name": self.cleaned_data[f"calendar_{calendar['id']}"].strip(),
            }
            for calendar in self.calendars
            if self.cleaned_data.get(f"calendar_{calendar['id']}", "").strip()
        ]


class VapiKeyForm(forms.Form):
    api_key = forms.CharField(
        label="Vapi private API key",
        widget=forms.PasswordInput(render_value=False),
        help_text="From the Vapi dashboard → API Keys → Private. Stored encrypted; never shown again.",
    )


class AssistantImportForm(forms.Form):
    vapi_id = forms.CharField(max_length=64, widget=forms.HiddenInput)
    client_id = forms.ChoiceField(label="Client")

    def __init__(self, *args, clients, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client_id"].choices = [(str(c.public_id), c.name) for c in clients]


class AssistantImportAllForm(forms.Form):
    client_id = forms.ChoiceField(label="Client")

    def __init__(self, *args, clients, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client_id"].choices = [(str(c.public_id), c.name) for c in clients]


class PhoneNumberAssignForm(forms.Form):
    assistant_id = forms.ChoiceField(label="Assistant", required=False)

    def __init__(self, *args, assistants, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assistant_id"].choices = [("", "— none (ask AgencyHub per call) —")] + [
            (str(a.public_id), f"{a.name} · {a.client.name}") for a in assistants
        ]
