"""What a call's proof found: whether what the caller was told is what the tools did and what GHL shows.
Imported by voice/models.py, so these are models of the voice app."""

from django.db import models
from django.utils import timezone

from tenants.models import Agency


class ProofStatus(models.TextChoices):
    PENDING = "pending", "Not checked yet"
    NO_CLAIMS = "no_claims", "Nothing to prove"
    HOLDS = "holds", "Verified in calendar"
    MISMATCH = "mismatch", "Mismatch"
    # Held when checked after the call; since then someone moved or removed the appointment in GHL.
    CHANGED = "changed", "Changed in GHL after the call"
    UNVERIFIED = "unverified", "GHL could not be asked"


class MismatchKind(models.TextChoices):
    CLAIMED_NOT_MADE = "claimed_not_made", "Claimed but not made"
    TIME_DIFFERS = "time_differs", "Made at another time than spoken"
    MISSING_IN_GHL = "missing_in_ghl", "Not in GHL as told"
    CHANGED_LATER = "changed_later", "Moved or deleted in GHL after the call"


# The kinds that are the assistant's doing; a later change in GHL is someone else's and does not count against it.
AT_CALL_KINDS = (MismatchKind.CLAIMED_NOT_MADE, MismatchKind.TIME_DIFFERS, MismatchKind.MISSING_IN_GHL)
# Calls whose claims held when the call ended: the numerator of the proof rate.
HELD_STATUSES = (ProofStatus.HOLDS, ProofStatus.CHANGED)
# Calls with claims that were checked: the denominator of the proof rate.
CHECKED_STATUSES = (ProofStatus.HOLDS, ProofStatus.CHANGED, ProofStatus.MISMATCH)


class CallProof(models.Model):
    """One call's proof: the claims the tools confirmed (`claims`) and every place where what the caller was told
    does not hold (`mismatches`), re-checked when GHL reports a change and periodically while bookings are recent."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="call_proofs")
    call = models.OneToOneField("voice.Call", on_delete=models.CASCADE, related_name="proof")
    status = models.CharField(max_length=12, choices=ProofStatus.choices, default=ProofStatus.PENDING)
    # [{tool_call_id, action, appointment_id, calendar_id, start, verified_at, superseded}] from the tool records.
    claims = models.JSONField(default=list, blank=True)
    # [{kind, detail, said, tool_call_id}]: one per claim that does not hold.
    mismatches = models.JSONField(default=list, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    # When a mismatch of the assistant's doing was first found: what the proof alert counts.
    mismatch_found_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["agency", "status", "-mismatch_found_at"], name="call_proof_agency_idx")]

    def __str__(self):
        return f"Proof of {self.call}: {self.status}"

    @property
    def at_call_mismatches(self) -> list[dict]:
        return [m for m in self.mismatches if m.get("kind") in AT_CALL_KINDS]

    @property
    def later_changes(self) -> list[dict]:
        return [m for m in self.mismatches if m.get("kind") == MismatchKind.CHANGED_LATER]
