import zoneinfo

from django import forms
from django.core.exceptions import ValidationError

from .models import Agency, AgencyRole, ClientAccount, ClientRole

TIME_ZONE_CHOICES = [(tz, tz.replace("_", " ")) for tz in sorted(zoneinfo.available_timezones()) if "/" in tz]


class AgencyForm(forms.ModelForm):
    """The agency's name: all a new agency needs."""

    class Meta:
        model = Agency
        fields = ["name"]
        labels = {"name": "Agency name"}


class AgencySettingsForm(AgencyForm):
    """The agency settings: its name and where its people open GoHighLevel (white-label or the public domain)."""

    class Meta(AgencyForm.Meta):
        fields = ["name", "ghl_app_domain"]

    def clean_ghl_app_domain(self):
        return self.cleaned_data["ghl_app_domain"].strip().lower()


class ApiKeyForm(forms.Form):
    prefix = "api_key"  # shares the settings page with the agency form, which also has a "name"

    name = forms.CharField(
        max_length=80,
        label="Key name",
        help_text="What will use it, so you know which key to revoke later.",
        widget=forms.TextInput(attrs={"placeholder": "Reporting dashboard"}),
    )


CALL_START_HELP = (
    "<strong>Caller context</strong>: Vapi asks AgencyHub which assistant answers each call. AgencyHub looks "
    "the caller up in GoHighLevel (at most 2 seconds, skipped when GoHighLevel is slow) and the assistant "
    "greets known callers by name and knows their upcoming appointments from the first word. The cost: up "
    "to that lookup's time before the first ring is answered, and calls depend on AgencyHub to be picked up "
    "(while it is down, callers hear an apology). "
    "<strong>Fastest pickup</strong>: the client's numbers are tied to their assistant in Vapi, so Vapi "
    "answers at once without asking AgencyHub; the assistant learns who is calling only with its first "
    "calendar answer. Switching back to caller context needs the assistant removed from the number in "
    "Vapi's dashboard (Vapi's API cannot untie it)."
)


class ClientForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES, initial="America/New_York")

    class Meta:
        model = ClientAccount
        fields = ["name", "time_zone", "contact_email", "call_start"]
        labels = {"name": "Business name", "contact_email": "Contact email", "call_start": "When a call comes in"}
        help_texts = {
            "time_zone": "Calls, bookings and business hours are shown in this time zone.",
            "call_start": CALL_START_HELP,
        }
        widgets = {"call_start": forms.RadioSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Left out (an older form, a script): the client keeps its call start, a new one gets the default.
        self.fields["call_start"].required = False

    def clean_call_start(self) -> str:
        return self.cleaned_data["call_start"] or self.instance.call_start


class TeamInviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=AgencyRole.choices, initial=AgencyRole.STAFF)

    def __init__(self, *args, inviter_role: str, **kwargs):
        super().__init__(*args, **kwargs)
        if inviter_role != AgencyRole.OWNER:
            self.fields["role"].choices = [c for c in AgencyRole.choices if c[0] != AgencyRole.OWNER]


class ClientInviteForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"placeholder": "name@client.com"}))
    role = forms.ChoiceField(choices=ClientRole.choices, initial=ClientRole.CLIENT_ADMIN)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=AgencyRole.choices)


def form_errors_from(exc: ValidationError, form) -> None:
    """Shows a service's ValidationError on the form: on its field when it names one, else above the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
    else:
        for message in exc.messages:
            form.add_error(None, message)


class ClientMarkupForm(forms.Form):
    client_id = forms.UUIDField(widget=forms.HiddenInput)
    markup_percent = forms.DecimalField(
        required=False, min_value=0, max_value=1000, max_digits=6, decimal_places=2, label="Markup %"
    )
