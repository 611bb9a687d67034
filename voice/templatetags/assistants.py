from django import template

register = template.Library()

# What staff call each field of an assistant's revision snapshot (voice/assistants/services.py EDITABLE_FIELDS).
FIELD_WORDS = {
    "name": "Name",
    "first_message": "First message",
    "system_prompt": "Prompt",
    "model_provider": "Model",
    "model": "Model",
    "voice_provider": "Voice",
    "voice_id": "Voice",
    "transcriber_provider": "Transcriber",
    "transcriber_model": "Transcriber",
    "transcriber_language": "Language",
    "time_zone": "Time zone",
    "business_hours": "Opening hours",
    "appointment_minutes": "Appointment length",
    "transfer_number": "Transfer number",
    "end_call_phrases": "End-call phrases",
    "live_tools": "Live tools",
    "calendars": "Calendars",
}


@register.filter
def field_words(names) -> str:
    """["first_message", "model", "model_provider"] -> "First message, Model": each change said once, in words."""
    words = dict.fromkeys(FIELD_WORDS.get(name, str(name).replace("_", " ").capitalize()) for name in names or [])
    return ", ".join(words)
