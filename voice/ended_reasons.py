"""Vapi's `endedReason` values (the spec's enum on end-of-call reports), read for people and for outcomes."""

from .models import CallOutcome

# The assistant handed the caller to a person (a forward, or a hook that transferred).
TRANSFERRED = frozenset(
    {
        "assistant-forwarded-call",
        "assistant-request-returned-forwarding-phone-number",
        "call.ringing.hook-executed-transfer",
        "call.ending.hook-executed-transfer",
    }
)
# Reasons that are Vapi's or a provider's failure although they name no error.
FAILED = frozenset(
    {
        "assistant-not-found",
        "assistant-not-valid",
        "assistant-join-timed-out",
        "assistant-request-returned-invalid-assistant",
        "assistant-request-returned-no-assistant",
        "assistant-request-returned-unspeakable-error",
        "call-start-error-neither-assistant-nor-server-set",
        "phone-call-provider-closed-websocket",
        "vonage-rejected",
        "worker-shutdown",
    }
)
FAILURE_MARKERS = ("error", "fault", "failed")


def call_outcome(*, ended_reason: str, booked: bool) -> CallOutcome:
    """What the call achieved: a booking counts first, then a transfer, then a failure."""
    if booked:
        return CallOutcome.BOOKED
    if ended_reason in TRANSFERRED:
        return CallOutcome.TRANSFERRED
    if ended_reason in FAILED or any(marker in ended_reason for marker in FAILURE_MARKERS):
        return CallOutcome.FAILED
    return CallOutcome.NO_BOOKING
