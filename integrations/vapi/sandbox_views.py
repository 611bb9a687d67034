"""The sandbox's stand-in for Vapi's recording storage: the `recordingUrl` of a simulated call plays."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from integrations.vapi.sandbox import sandbox_recording_wav


@require_GET
def recording(request: HttpRequest, call_id) -> HttpResponse:
    response = HttpResponse(sandbox_recording_wav(str(call_id)), content_type="audio/wav")
    response["Cache-Control"] = "public, max-age=86400"
    return response
