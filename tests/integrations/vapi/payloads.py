"""A complete assistant as Vapi accepts it, shared by the spec and sandbox tests."""

CHECK_AVAILABILITY = {
    "type": "function",
    "async": False,
    "function": {
        "name": "check_availability",
        "description": "Check open slots in the client's calendar",
        "parameters": {"type": "object", "properties": {"date": {"type": "string"}}, "required": ["date"]},
    },
    "server": {"url": "https://agencyhub.test/api/webhooks/vapi/a1/", "headers": {"X-Vapi-Secret": "s3cret"}},
    "messages": [
        {"type": "request-start", "content": "One moment while I check."},
        {"type": "request-response-delayed", "content": "Still checking.", "timingMilliseconds": 2000},
    ],
}
ASSISTANT = {
    "name": "Lakeside front desk",
    "firstMessage": "Thanks for calling Lakeside Dental, how can I help?",
    "model": {
        "provider": "openai",
        "model": "gpt-4o",
        "temperature": 0.5,
        "messages": [{"role": "system", "content": "You book cleanings for Lakeside Dental."}],
        "tools": [CHECK_AVAILABILITY, {"type": "endCall"}],
    },
    "voice": {"provider": "11labs", "voiceId": "sarah"},
    "transcriber": {"provider": "deepgram", "model": "nova-2-phonecall", "language": "en"},
    "server": {"url": "https://agencyhub.test/api/webhooks/vapi/a1/", "headers": {"X-Vapi-Secret": "s3cret"}},
    "serverMessages": ["tool-calls", "end-of-call-report", "status-update"],
    "endCallPhrases": ["goodbye"],
    "metadata": {"agency": "a1", "client": "c1"},
}
