import re

from django import forms

from voice.messaging.texts import MAX_TEXT_LENGTH, PLACEHOLDERS, template_placeholders
from voice.models import MessagingSettings

OFFSET = re.compile(r"^(\d+)\s*(m|min|h|d)$")
UNIT_MINUTES = {"m": 1, "min": 1, "h": 60, "d": 1440}
MAX_OFFSET_MINUTES = 14 * 1440
TEMPLATE_HELP = "Placeholders: " + ", ".join("{" + name + "}" for name in PLACEHOLDERS) + "."


def offsets_display(minutes: list[int]) -> str:
    def one(value: int) -> str:
        return f"{value // 60}h" if value % 60 == 0 else f"{value}m"

    return ", ".join(one(value) for value in sorted(minutes, reverse=True))


class MessagingSettingsForm(forms.ModelForm):
    reminders = forms.CharField(
        required=False,
        label="Reminders before each appointment",
        help_text="Comma-separated, e.g. <code>24h, 2h</code> (also <code>30m</code>, <code>2d</code>). "
        "Counted in real hours, across daylight-saving changes too. Empty: no reminders.",
    )

    class Meta:
        model = MessagingSettings
        fields = [
            "confirmations_enabled",
            "booked_text",
            "rescheduled_text",
            "cancelled_text",
            "place",
            "how_to_change",
            "reminders",
            "reminder_text",
        ]
        labels = {
            "confirmations_enabled": "Text the caller after the assistant books, moves or cancels",
            "booked_text": "Booking confirmation",
            "rescheduled_text": "Reschedule confirmation",
            "cancelled_text": "Cancellation confirmation",
            "place": "Place",
            "how_to_change": "How to change it",
            "reminder_text": "Reminder",
        }
        help_texts = {
            "booked_text": TEMPLATE_HELP,
            "place": "Where the appointment is, as {place}; empty: the client's name.",
            "how_to_change": "As {how_to_change}, e.g. a phone number to call.",
        }
        widgets = {name: forms.Textarea(attrs={"rows": 2}) for name in fields if name.endswith("_text")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("reminders", offsets_display(self.instance.reminder_offsets))

    def _clean_template(self, name: str) -> str:
        template = self.cleaned_data[name]
        try:
            unknown = [p for p in template_placeholders(template) if p not in PLACEHOLDERS]
        except ValueError as exc:
            raise forms.ValidationError("A { or } is not closed; placeholders look like {date}.") from exc
        if unknown:
            raise forms.ValidationError(f"Unknown placeholder {{{unknown[0]}}}. {TEMPLATE_HELP}")
        if len(template) > MAX_TEXT_LENGTH:
            raise forms.ValidationError(f"Keep it under {MAX_TEXT_LENGTH} characters (three text messages).")
        return template

    def clean_booked_text(self):
        return self._clean_template("booked_text")

    def clean_rescheduled_text(self):
        return self._clean_template("rescheduled_text")

    def clean_cancelled_text(self):
        return self._clean_template("cancelled_text")

    def clean_reminder_text(self):
        return self._clean_template("reminder_text")

    def clean_reminders(self) -> list[int]:
        offsets = []
        for part in filter(None, (p.strip().lower() for p in self.cleaned_data["reminders"].split(","))):
            match = OFFSET.match(part)
            if not match or int(match[1]) == 0:
                raise forms.ValidationError(f"“{part}” is not a time before the appointment, e.g. 24h or 30m.")
            minutes = int(match[1]) * UNIT_MINUTES[match[2]]
            if minutes > MAX_OFFSET_MINUTES:
                raise forms.ValidationError("Reminders go out at most 14 days before.")
            offsets.append(minutes)
        if len(set(offsets)) > 3:
            raise forms.ValidationError("At most three reminders per appointment.")
        return sorted(set(offsets), reverse=True)

    def save(self, commit=True):
        self.instance.reminder_offsets = self.cleaned_data["reminders"]
        return super().save(commit=commit)
