import hashlib
import re
import uuid
import zoneinfo
from decimal import Decimal

from django.contrib.auth.models import AbstractUser, UserManager
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a known time zone, e.g. America/New_York.")


class EmailUserManager(UserManager):
    def _create_user(self, username, email, password, **extra_fields):
        email = self.normalize_email(email)
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email=None, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(None, email, password, **extra_fields)

    def create_superuser(self, email=None, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(None, email, password, **extra_fields)


class User(AbstractUser):
    """A person who signs in with an email address; there are no usernames."""

    username = None
    email = models.EmailField("email address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = EmailUserManager()

    def __str__(self):
        return self.get_full_name() or self.email


DEFAULT_GHL_APP_DOMAIN = "app.gohighlevel.com"
HOST_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", re.IGNORECASE)


def validate_host_name(value: str) -> None:
    """A bare host name ("app.myagency.com"): no scheme, path or port, so it is safe to build links from."""
    labels = value.split(".")
    if len(value) > 253 or len(labels) < 2 or not all(HOST_LABEL.fullmatch(label) for label in labels):
        raise ValidationError("Enter a domain name such as app.youragency.com (no https://, no path).")


class Agency(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Where the agency's people open GoHighLevel: the public app, or the agency's white-label domain.
    ghl_app_domain = models.CharField(
        "GoHighLevel app domain",
        max_length=253,
        default=DEFAULT_GHL_APP_DOMAIN,
        validators=[validate_host_name],
        help_text="Links to contacts open here. Your white-label domain (app.youragency.com), or the public one.",
    )

    class Meta:
        verbose_name_plural = "agencies"
        ordering = ["name"]

    def __str__(self):
        return self.name


class AgencyRole(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    STAFF = "staff", "Staff"


class AgencyMembership(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="agency_memberships")
    role = models.CharField(max_length=10, choices=AgencyRole.choices, default=AgencyRole.STAFF)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agency", "user"], name="unique_agency_member")]
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.user} · {self.agency} ({self.role})"

    @property
    def can_manage_team(self) -> bool:
        return self.role in (AgencyRole.OWNER, AgencyRole.ADMIN)

    @property
    def can_manage_settings(self) -> bool:
        return self.role in (AgencyRole.OWNER, AgencyRole.ADMIN)


class CallStart(models.TextChoices):
    """How a call to one of the client's numbers reaches its assistant (voice.live.caller explains both)."""

    CALLER_CONTEXT = "caller_context", "Answer with caller context (assistant-request, adds a lookup at call start)"
    FASTEST_PICKUP = (
        "fastest_pickup",
        "Fastest pickup: number tied to the assistant, context given in the first tool answer instead",
    )


class ClientAccount(models.Model):
    """One of the agency's clients: a business with one GHL sub-account (location)."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="clients")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120)
    time_zone = models.CharField(max_length=64, default="America/New_York", validators=[validate_time_zone])
    contact_email = models.EmailField(blank=True)
    # Added to the Vapi cost when the agency rebills the client; blank means rebilled at cost.
    markup_percent = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1000))],
    )
    call_start = models.CharField(max_length=20, choices=CallStart.choices, default=CallStart.CALLER_CONTEXT)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["agency", "name"])]

    def __str__(self):
        return self.name


class ClientRole(models.TextChoices):
    CLIENT_ADMIN = "client_admin", "Client admin"
    VIEWER = "viewer", "Viewer"


class ClientMembership(models.Model):
    client = models.ForeignKey(ClientAccount, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="client_memberships")
    role = models.CharField(max_length=20, choices=ClientRole.choices, default=ClientRole.VIEWER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "user"], name="unique_client_member")]

    def __str__(self):
        return f"{self.user} · {self.client} ({self.role})"


class Invitation(models.Model):
    """An emailed, expiring, single-use invitation to an agency or to one of its clients.

    The link carries the invitation's id signed with SECRET_KEY, so nothing secret is stored
    and the link can be sent again; single use and expiry are enforced on this row.
    """

    TOKEN_SALT = "tenants.invitation"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="invitations")
    client = models.ForeignKey(
        ClientAccount, on_delete=models.CASCADE, null=True, blank=True, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=AgencyRole.choices + ClientRole.choices)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                name="invitation_role_matches_level",
                condition=(Q(client__isnull=True) & Q(role__in=AgencyRole.values))
                | (Q(client__isnull=False) & Q(role__in=ClientRole.values)),
            )
        ]

    def __str__(self):
        return f"Invitation for {self.email} to {self.client or self.agency}"

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"

    @property
    def token(self) -> str:
        return signing.Signer(salt=self.TOKEN_SALT).sign(self.public_id.hex)

    @classmethod
    def public_id_from_token(cls, token: str) -> str | None:
        try:
            return signing.Signer(salt=cls.TOKEN_SALT).unsign(token)
        except signing.BadSignature:
            return None

    @property
    def is_agency_level(self) -> bool:
        return self.client_id is None

    @property
    def target_name(self) -> str:
        return self.client.name if self.client_id else self.agency.name


class ApiKey(models.Model):
    """A key the agency's own software reads its data with (`Authorization: Bearer ah_<prefix>_<secret>`).

    Only the SHA-256 of the whole key is stored: the key is random and long, so a slow hash adds nothing.
    """

    SCHEME = "ah"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.name} ({self.masked})"

    @property
    def masked(self) -> str:
        """The part of the key people may see, to tell keys apart."""
        return f"{self.SCHEME}_{self.prefix}_…"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def hash_of(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def prefix_of(cls, key: str) -> str | None:
        """The prefix of a well-formed key, or None for anything else."""
        scheme, _, rest = key.partition("_")
        prefix, _, secret = rest.partition("_")
        if scheme != cls.SCHEME or not prefix.isalnum() or not secret:
            return None
        return prefix
