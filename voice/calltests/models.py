"""Saved call tests: a call's tool calls with the outcome each step should have, replayed before a push.
Imported by voice/models.py, so these are models of the voice app."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class OutcomeKind(models.TextChoices):
    """What a tool call came to, as staff judge it: the replay compares these, not the exact words."""

    BOOKED = "booked", "Booked"
    RESCHEDULED = "rescheduled", "Rescheduled"
    CANCELLED = "cancelled", "Cancelled"
    OFFERED = "offered", "Offered times"
    NO_TIMES = "no_times", "Offered no time"
    REFUSED = "refused", "Refused"
    ERROR = "error", "Error"
    ANSWERED = "answered", "Answered"


class CallTest(models.Model):
    """A call saved as a test of its assistant; the last replay's verdict and per-step outcomes are kept."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    assistant = models.ForeignKey("voice.Assistant", on_delete=models.CASCADE, related_name="call_tests")
    source_call = models.ForeignKey(
        "voice.Call", on_delete=models.SET_NULL, null=True, blank=True, related_name="saved_tests"
    )
    name = models.CharField(max_length=120)
    # The replay is placed by the same caller, so "my appointment" tools find the same contact.
    caller_number = models.CharField(max_length=32, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_passed = models.BooleanField(null=True)
    # One entry per step: {"expected", "got", "heard"}; or empty with `last_error` when it could not run.
    last_result = models.JSONField(default=list, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ("name", "pk")

    def __str__(self) -> str:
        return self.name


class CallTestStep(models.Model):
    """One tool call of a saved test, as first asked and answered, and the outcome it should have."""

    test = models.ForeignKey(CallTest, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    tool_name = models.CharField(max_length=64)
    arguments = models.JSONField(default=dict, blank=True)
    asked_at = models.DateTimeField()
    heard = models.TextField(blank=True)
    heard_kind = models.CharField(max_length=12, choices=OutcomeKind.choices)
    expected_kind = models.CharField(max_length=12, choices=OutcomeKind.choices)

    class Meta:
        ordering = ("position",)
        constraints = [models.UniqueConstraint(fields=("test", "position"), name="call_test_step_position_unique")]

    def __str__(self) -> str:
        return f"{self.position + 1}. {self.tool_name}"
