"""A full end-of-call report as Vapi sends one after a call that booked a cleaning."""

from datetime import timedelta

PROMPT = "You are the receptionist. Internal pricing rule: never discount."
RECORDING = "https://storage.vapi.ai/call-page-mono.wav"
STEREO = "https://storage.vapi.ai/call-page-stereo.wav"


def full_report(call_id, *, started, tool_call_id="b1"):
    """An end-of-call report with everything Vapi can send: costs, messages with a tool call, recordings, analysis."""
    return {
        "type": "end-of-call-report",
        "call": {"id": call_id, "assistantId": "asst-live-1"},
        "endedReason": "assistant-said-end-call-phrase",
        "startedAt": started.isoformat(),
        "endedAt": (started + timedelta(seconds=95)).isoformat(),
        "cost": 0.1234,
        "costs": [
            {
                "type": "transcriber",
                "transcriber": {"provider": "deepgram", "model": "nova-3"},
                "minutes": 1.6,
                "cost": 0.0161,
            },
            {
                "type": "model",
                "model": {"provider": "openai", "model": "gpt-4o"},
                "promptTokens": 5120,
                "completionTokens": 310,
                "cost": 0.0452,
            },
            {"type": "voice", "voice": {"provider": "vapi", "voiceId": "Elliot"}, "characters": 812, "cost": 0.0221},
            {"type": "vapi", "subType": "normal", "minutes": 1.6, "cost": 0.04},
        ],
        "artifact": {
            "messages": [
                {"role": "system", "message": PROMPT, "time": 1, "secondsFromStart": 0},
                {"role": "bot", "message": "Thanks for calling A Dental, how can I help?", "secondsFromStart": 0.6},
                {"role": "user", "message": "I'd like a cleaning next Tuesday at eleven.", "secondsFromStart": 4.2},
                {
                    "role": "tool_calls",
                    "secondsFromStart": 9.5,
                    "toolCalls": [{"id": tool_call_id, "type": "function", "function": {"name": "book_appointment"}}],
                },
                {
                    "role": "tool_call_result",
                    "name": "book_appointment",
                    "toolCallId": tool_call_id,
                    "result": "Booked.",
                    "secondsFromStart": 11.0,
                },
                {"role": "bot", "message": "You're booked for Tuesday at 11. Goodbye!", "secondsFromStart": 65.3},
            ],
            "transcript": "AI: Thanks for calling A Dental, how can I help?\nUser: I'd like a cleaning.",
            "recordingUrl": RECORDING,
            "stereoRecordingUrl": STEREO,
        },
        "analysis": {
            "summary": "Ada booked a cleaning for Tuesday at 11.",
            "structuredData": {
                "callerName": "Ada Lovelace",
                "appointment": {"service": "cleaning", "new_patient": True},
                "topics": ["price", "parking"],
            },
            "successEvaluation": "true",
        },
    }
