import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from integrations.crypto import EncryptedTextField
from tenants.models import Agency, ClientAccount

# The minimum this product uses: read calendars, book, find or create the caller, read the location, text the
# caller (confirmations, reminders) and read the contact fields a call's answers are written into.
DEFAULT_SCOPES = (
    "calendars.readonly calendars/events.readonly calendars/events.write "
    "contacts.readonly contacts.write locations.readonly "
    "conversations/message.write locations/customFields.readonly"
)
# Asked for too when the agency's app has a conversation provider: log each call in the contact's
# Conversations (find or start the conversation, and look for the call there before logging it).
CONVERSATION_LOG_SCOPES = "conversations.readonly conversations.write conversations/message.readonly"
# An agency install also lists installed locations and mints location tokens.
AGENCY_INSTALL_SCOPES = "oauth.readonly oauth.write"


def secret_hash(raw: str) -> str:
    """What is stored for a state or a consent-link token: a leaked table does not reveal usable links."""
    return hashlib.sha256(raw.encode()).hexdigest()


class InstallModel(models.TextChoices):
    LOCATION = "location", "Location (each client approves its own sub-account)"
    AGENCY = "agency", "Agency (one approval for all sub-accounts)"


class UserType(models.TextChoices):
    LOCATION = "Location", "Location"
    COMPANY = "Company", "Company"


class GhlAppCredentials(models.Model):
    """The agency's GHL Marketplace app: what the OAuth consent is asked with."""

    agency = models.OneToOneField(Agency, on_delete=models.CASCADE, related_name="ghl_app")
    client_id = models.CharField(max_length=200)
    client_secret = EncryptedTextField()
    install_model = models.CharField(max_length=10, choices=InstallModel.choices, default=InstallModel.LOCATION)
    scopes = models.TextField(blank=True, default=DEFAULT_SCOPES)
    # The app's Conversation Provider (Marketplace app › Conversation Providers, type Call): when set, each call
    # is logged in the caller's Conversations instead of a contact note.
    conversation_provider_id = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "GHL app credentials"

    def __str__(self):
        return f"GHL app of {self.agency}"


class ConnectionKind(models.TextChoices):
    OAUTH_LOCATION = "oauth_location", "Location install"
    OAUTH_AGENCY = "oauth_agency", "Agency install"
    PRIVATE_TOKEN = "private_token", "Private Integration Token"


class ConnectionStatus(models.TextChoices):
    CONNECTED = "connected", "Connected"
    NEEDS_RECONNECT = "needs_reconnect", "Needs reconnect"
    DISCONNECTED = "disconnected", "Disconnected"


class GhlConnection(models.Model):
    """A client's GHL sub-account and the token AgencyHub uses to act in it."""

    client = models.OneToOneField(ClientAccount, on_delete=models.CASCADE, related_name="ghl_connection")
    location_id = models.CharField(max_length=64)
    location_name = models.CharField(max_length=200, blank=True)
    # The sub-account's own zone as GHL reports it; the client keeps its own until staff adopt this one.
    location_time_zone = models.CharField(max_length=64, blank=True)
    company_id = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=20, choices=ConnectionKind.choices)
    scopes = models.TextField(blank=True)
    access_token = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    user_type = models.CharField(max_length=10, choices=UserType.choices, default=UserType.LOCATION)
    # Null for a Private Integration Token: it does not expire and is never refreshed.
    expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.CONNECTED)
    connected_at = models.DateTimeField(default=timezone.now)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # A disconnected row keeps its history but frees the location for another client.
            models.UniqueConstraint(
                fields=["location_id"],
                condition=~Q(status="disconnected"),
                name="ghl_location_connected_once",
            )
        ]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self):
        return f"GHL {self.location_id} for {self.client}"

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()


class GhlCompanyInstall(models.Model):
    """An agency (Company) install: the company token that mints location tokens."""

    agency = models.OneToOneField(Agency, on_delete=models.CASCADE, related_name="ghl_company_install")
    company_id = models.CharField(max_length=64, unique=True)
    scopes = models.TextField(blank=True)
    access_token = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    installed_at = models.DateTimeField(default=timezone.now)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"GHL company {self.company_id} of {self.agency}"

    @property
    def is_active(self) -> bool:
        return bool(self.refresh_token)


class ConsentLink(models.Model):
    """A shareable, expiring, single-use link that lets a client's admin approve the GHL consent."""

    client = models.ForeignKey(ClientAccount, on_delete=models.CASCADE, related_name="ghl_consent_links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Consent link for {self.client}"

    @property
    def is_usable(self) -> bool:
        return self.used_at is None and self.expires_at > timezone.now()


class OAuthState(models.Model):
    """One OAuth round trip: random, single-use, short-lived, bound to its client (or agency) and session."""

    state_hash = models.CharField(max_length=64, unique=True)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    # Empty for an agency install, which is not for one client.
    client = models.ForeignKey(ClientAccount, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    consent_link = models.ForeignKey(ConsentLink, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    user_type = models.CharField(max_length=10, choices=UserType.choices, default=UserType.LOCATION)
    # Hash of the session key when a user was signed in; empty for a consent link opened anonymously.
    session_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"OAuth state for {self.client or self.agency}"
