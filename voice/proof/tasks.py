from celery import shared_task

from voice.proof import services


@shared_task
def call_proof_task(call_id: int) -> None:
    services.call_proof_check(call_id=call_id)


@shared_task
def proof_recheck_task() -> int:
    """The beat's entry: one task per recent call whose bookings are still ahead, and per ended call whose first
    check was lost."""
    call_ids = services.proof_calls_due() + services.proof_calls_missing()
    for call_id in call_ids:
        call_proof_task.delay(call_id)
    return len(call_ids)
