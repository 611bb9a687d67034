"""Turning Vapi's messages and analysis into what the call page shows (pure functions, no database)."""

from decimal import Decimal
from zoneinfo import ZoneInfo

from voice.calls.report import cost_rows, cost_total, humanise_key, key_value_rows, success_verdict
from voice.calls.transcripts import ANSWER, ASSISTANT, CALLER, TOOL, Turn, clock, conversation_turns, tool_call_seconds


def test_messages_become_turns_in_order_with_speakers_and_times():
    messages = [
        {"role": "system", "message": "Secret prompt of the agency", "secondsFromStart": 0},
        {"role": "bot", "message": "Hello, A Dental.", "secondsFromStart": 0.4},
        {"role": "user", "message": "  Can I book a cleaning?  ", "secondsFromStart": 3.9},
        {
            "role": "tool_calls",
            "secondsFromStart": 7,
            "toolCalls": [
                {"id": "t1", "function": {"name": "check_availability"}},
                {"id": "t2", "function": {"name": "lookUpInsurance"}},
            ],
        },
        {
            "role": "tool_call_result",
            "name": "check_availability",
            "result": "Tuesday at 11 AM.",
            "secondsFromStart": 8,
        },
        {"role": "assistant", "content": "Tuesday at eleven works.", "secondsFromStart": 3725},
        {"role": "user", "message": "", "secondsFromStart": 3730},
    ]
    turns = conversation_turns(messages=messages, transcript="AI: ignored when there are messages")
    assert [(t.kind, t.speaker, t.text, t.at) for t in turns] == [
        (ASSISTANT, "Assistant", "Hello, A Dental.", "0:00"),
        (CALLER, "Caller", "Can I book a cleaning?", "0:03"),
        (TOOL, "", "Checked availability", "0:07"),
        (TOOL, "", "Look up insurance", "0:07"),
        (ANSWER, "", "We answered: Tuesday at 11 AM.", "0:08"),
        (ASSISTANT, "Assistant", "Tuesday at eleven works.", "1:02:05"),
    ]
    assert all("Secret prompt" not in t.text for t in turns)


def test_long_or_structured_tool_results_are_shortened_to_one_line():
    messages = [{"role": "tool_call_result", "name": "x", "result": {"slots": ["a"] * 100}}]
    (turn,) = conversation_turns(messages=messages)
    assert turn.text.startswith('We answered: {"slots": ["a"') and turn.text.endswith("…") and len(turn.text) < 200


def test_without_messages_the_plain_transcript_is_split_into_turns():
    transcript = "AI: Hello, A Dental.\nUser: I need to move my appointment\nto Friday.\n\nAI: Done, see you Friday."
    turns = conversation_turns(messages=[], transcript=transcript)
    assert [(t.kind, t.text, t.at) for t in turns] == [
        (ASSISTANT, "Hello, A Dental.", ""),
        (CALLER, "I need to move my appointment to Friday.", ""),
        (ASSISTANT, "Done, see you Friday.", ""),
    ]
    assert conversation_turns(messages=None, transcript="") == []
    assert conversation_turns(messages=["junk", {"role": "bot"}], transcript="User: Hi") == [Turn(CALLER, "Hi")]


def test_a_role_that_is_not_text_reads_as_no_role():
    # A stored report may hold any JSON where Vapi sends a string: the call page and the proof check read it.
    messages = [
        {"role": ["bot"], "message": "a list"},
        {"role": {"bot": 1}, "message": "an object"},
        {"role": 7, "message": "a number"},
        {"role": "bot", "message": "Hello."},
    ]
    assert conversation_turns(messages=messages) == [Turn(ASSISTANT, "Hello.")]


def test_clock_and_tool_call_times():
    assert [clock(None), clock(0), clock(59.9), clock(61), clock(3600)] == ["", "0:00", "0:59", "1:01", "1:00:00"]
    messages = [{"role": "tool_calls", "secondsFromStart": 12.5, "toolCalls": [{"id": "a"}, {"id": "b"}]}]
    assert tool_call_seconds(messages) == {"a": 12.5, "b": 12.5}


def test_structured_data_reads_as_rows():
    data = {
        "callerName": "Ada",
        "appointment_details": {"service": "cleaning", "isNewPatient": False, "notes": None},
        "topics": ["price", "parking"],
        "people": [{"name": "Ada"}, {"name": "Bob"}],
        "ghl_contact_id": "c1",
    }
    assert key_value_rows(data) == [
        ("Caller name", "Ada"),
        ("Appointment details › Service", "cleaning"),
        ("Appointment details › Is new patient", "No"),
        ("Appointment details › Notes", "—"),
        ("Topics", "price, parking"),
        ("People 1 › Name", "Ada"),
        ("People 2 › Name", "Bob"),
        ("GHL contact ID", "c1"),
    ]
    assert key_value_rows("just text") == [("Value", "just text")]
    assert humanise_key("startTime") == "Start time"
    chicago = ZoneInfo("America/Chicago")
    moments = {"start_time": "2026-12-01T11:00", "booked_at": "2026-12-01T17:00:00Z", "note": "2026 plans"}
    assert key_value_rows(moments, tz=chicago) == [
        ("Start time", "Tue, Dec 1, 2026 11:00 AM"),
        ("Booked at", "Tue, Dec 1, 2026 11:00 AM"),
        ("Note", "2026 plans"),
    ]


def test_success_evaluation_becomes_a_badge():
    assert success_verdict("true").label == "Successful" and success_verdict("true").tone == "success"
    assert success_verdict("false").tone == "danger"
    assert success_verdict("8").label == "Score 8/10"
    assert success_verdict("2").tone == "danger"
    assert success_verdict("85").label == "Score 85%"
    assert success_verdict("Excellent").label == "Excellent"
    assert success_verdict("") is None


def test_costs_read_from_the_list_and_from_the_legacy_object():
    rows = cost_rows(
        [
            {"type": "transport", "provider": "twilio", "minutes": 2, "cost": 0.02},
            {
                "type": "analysis",
                "analysisType": "summary",
                "model": {"provider": "openai", "model": "gpt-4o"},
                "cost": 0.001,
            },
            {"type": "vapi", "subType": "overage", "minutes": 2, "cost": "bad"},
        ]
    )
    assert [(r.label, r.detail, r.cost) for r in rows] == [
        ("Phone line", "twilio · 2 min", Decimal("0.02")),
        ("Call analysis", "summary · openai gpt-4o", Decimal("0.001")),
        ("Vapi platform", "overage · 2 min", None),
    ]
    assert cost_total(cost=None, rows=rows) == Decimal("0.021")
    assert cost_total(cost=Decimal("0.5"), rows=rows) == Decimal("0.5")
    legacy = cost_rows({"transport": 0.01, "stt": 0.02, "llm": 0.03, "tts": 0.04, "vapi": 0.05, "total": 0.15})
    assert [r.label for r in legacy] == ["Phone line", "Speech recognition", "Language model", "Voice", "Vapi platform"]
    assert cost_rows(None) == [] and cost_total(cost=None, rows=[]) is None
