import zoneinfo

from django import forms
from django.core.exceptions import ValidationError


class AlertSettingsForm(forms.Form):
    """The stored webhook URL is a secret: it is never shown back; blank keeps it, "remove" deletes it."""

    slack_webhook_url = forms.URLField(
        required=False,
        max_length=500,
        label="Slack-compatible incoming webhook URL",
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.slack.com/services/…", "autocomplete": "off"}),
    )
    remove_slack_webhook = forms.BooleanField(required=False, label="Remove the saved webhook")
    quiet_hours_start = forms.TimeField(
        required=False, label="Quiet hours from", widget=forms.TimeInput(attrs={"type": "time"})
    )
    quiet_hours_end = forms.TimeField(required=False, label="until", widget=forms.TimeInput(attrs={"type": "time"}))
    time_zone = forms.ChoiceField(label="Time zone of the quiet hours")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(zone, zone) for zone in sorted(zoneinfo.available_timezones())]

    def clean_slack_webhook_url(self):
        url = self.cleaned_data["slack_webhook_url"]
        # Only an https endpoint: the URL is posted to from our servers, never to anything on plain http.
        if url and not url.startswith("https://"):
            raise ValidationError("Use the https:// URL your chat tool gave you.")
        return url

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("quiet_hours_start"), cleaned.get("quiet_hours_end")
        if (start is None) != (end is None):
            raise ValidationError("Give both ends of the quiet hours, or neither.")
        return cleaned

    @property
    def slack_webhook_url_change(self) -> str | None:
        """What to store: None keeps the saved URL, "" removes it."""
        if self.cleaned_data["remove_slack_webhook"]:
            return ""
        return self.cleaned_data["slack_webhook_url"] or None
