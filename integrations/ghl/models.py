from django.db import models

from integrations.crypto import EncryptedTextField
from tenants.models import Agency


class InstallModel(models.TextChoices):
    LOCATION = "location", "Location (each client approves its own sub-account)"
    AGENCY = "agency", "Agency (one approval for all sub-accounts)"


class GhlAppCredentials(models.Model):
    """The agency's GHL Marketplace app: what the OAuth consent is asked with."""

    agency = models.OneToOneField(Agency, on_delete=models.CASCADE, related_name="ghl_app")
    client_id = models.CharField(max_length=200)
    client_secret = EncryptedTextField()
    install_model = models.CharField(max_length=10, choices=InstallModel.choices, default=InstallModel.LOCATION)
    scopes = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "GHL app credentials"

    def __str__(self):
        return f"GHL app of {self.agency}"
