from django import forms

from tenants.models import ClientAccount

from .models import CONVERSATION_LOG_SCOPES, DEFAULT_SCOPES, GhlAppCredentials


class AppCredentialsForm(forms.ModelForm):
    # A password input that never echoes: the stored secret is not sent back to the browser.
    client_secret = forms.CharField(
        label="Client secret",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = GhlAppCredentials
        fields = ["client_id", "client_secret", "install_model", "scopes", "conversation_provider_id"]
        labels = {
            "client_id": "Client ID",
            "install_model": "Install model",
            "scopes": "Scopes to request",
            "conversation_provider_id": "Conversation provider ID",
        }
        widgets = {"scopes": forms.Textarea(attrs={"rows": 2})}
        help_texts = {
            "client_id": "From your GHL Marketplace app, under Advanced Settings › Auth.",
            "scopes": f"Space-separated. The minimum this product uses: <code>{DEFAULT_SCOPES}</code>. "
            "Agency installs also get <code>oauth.readonly oauth.write</code>.",
            "conversation_provider_id": "Optional. A Call-type Conversation Provider of your Marketplace app: when "
            "set, each call is logged in the caller's GoHighLevel Conversations (summary, recording and call page "
            f"links) instead of a contact note. Consents then also ask for <code>{CONVERSATION_LOG_SCOPES}</code> "
            "(enable them in your app); clients connected before must reconnect to approve them.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        has_secret = bool(self.instance.pk and self.instance.client_secret)
        self.fields["client_secret"].required = not has_secret
        self.fields["client_secret"].help_text = (
            "A secret is stored. Leave blank to keep it." if has_secret else "Stored encrypted; never shown again."
        )
        self.fields["scopes"].required = False
        if not self.instance.pk:
            self.initial.setdefault("scopes", DEFAULT_SCOPES)


class PrivateTokenForm(forms.Form):
    location_id = forms.CharField(
        label="Location ID", max_length=64, help_text="In the sub-account: Settings › Business Profile."
    )
    token = forms.CharField(
        label="Private Integration Token",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Sub-account Settings › Private Integrations. Stored encrypted; never shown again.",
    )


class InstalledLocationForm(forms.Form):
    """One installed GHL location: skip it, create a client for it, or link it to an existing client."""

    SKIP, CREATE = "skip", "create"

    location_id = forms.CharField(widget=forms.HiddenInput)
    name = forms.CharField(widget=forms.HiddenInput, required=False)
    action = forms.ChoiceField(label="", choices=())

    def __init__(self, *args, clients, **kwargs):
        super().__init__(*args, **kwargs)
        self.clients = {str(c.public_id): c for c in clients}
        self.fields["action"].choices = [
            (self.SKIP, "Skip"),
            (self.CREATE, "Create a new client"),
            *[(key, f"Link to {c.name}") for key, c in self.clients.items()],
        ]

    def target_client(self) -> ClientAccount | None:
        return self.clients.get(self.cleaned_data["action"])


InstalledLocationFormSet = forms.formset_factory(InstalledLocationForm, extra=0)
