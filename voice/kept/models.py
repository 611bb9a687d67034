"""What a kept appointment is worth to a client: an optional value per service (GHL calendar)."""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models

from tenants.models import ClientAccount


class ServiceValue(models.Model):
    """The typical value of one of the client's services, so kept appointments estimate revenue."""

    client = models.ForeignKey(ClientAccount, on_delete=models.CASCADE, related_name="service_values")
    calendar_id = models.CharField(max_length=64)
    calendar_name = models.CharField(max_length=200, blank=True)
    value = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal(0))])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["calendar_name", "calendar_id"]
        constraints = [models.UniqueConstraint(fields=["client", "calendar_id"], name="service_value_per_calendar")]

    def __str__(self):
        return f"{self.calendar_name or self.calendar_id}: {self.value}"
