"""What staff type into the assistant form, as POST data."""

from voice.models import LiveTool


def form_data(**overrides) -> dict:
    data = {
        "name": "Front desk",
        "first_message": "Thanks for calling A Dental!",
        "system_prompt": "You answer for {client_name}. Today is {today}. Hours: {business_hours}.",
        "model_choice": "openai/gpt-4o",
        "voice_choice": "vapi/Elliot",
        "transcriber_choice": "deepgram/nova-3",
        "transcriber_language": "en",
        "time_zone": "America/Chicago",
        "appointment_minutes": "45",
        "transfer_number": "+15551234567",
        "end_call_phrases": "goodbye\nthat's all",
        "live_tools": [t.value for t in LiveTool],
        "hours_mon": "09:00-17:00",
        "hours_tue": "09:00-17:00",
        "hours_wed": "",
        "hours_thu": "08:30-12:00",
        "hours_fri": "09:00-17:00",
        "hours_sat": "",
        "hours_sun": "",
        "calendar_cal-clean": "cleaning",
        "calendar_cal-consult": "",
    }
    data.update(overrides)
    return data
