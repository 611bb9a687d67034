"""A call's conversation as people read it: turns with a speaker and a time from the start of the call.

Built from Vapi's artifact messages (roles bot/assistant, user, system, tool_calls, tool_call_result),
or from the plain "AI: ... / User: ..." transcript when a call has no messages.
"""

import json
import math
from dataclasses import dataclass

ASSISTANT, CALLER, TOOL, ANSWER = "assistant", "caller", "tool", "answer"
SPEAKERS = {ASSISTANT: "Assistant", CALLER: "Caller", TOOL: "", ANSWER: ""}
ROLES = {"bot": ASSISTANT, "assistant": ASSISTANT, "user": CALLER}
TRANSCRIPT_PREFIXES = {"ai": ASSISTANT, "assistant": ASSISTANT, "bot": ASSISTANT, "user": CALLER, "customer": CALLER}
# How a tool reads in a sentence ("Checked availability"); unknown tools fall back to their name in words.
TOOL_WORDS = {
    "check_availability": "Checked availability",
    "book_appointment": "Booked an appointment",
    "reschedule_appointment": "Rescheduled an appointment",
    "cancel_appointment": "Cancelled an appointment",
    "transfer_call": "Transferred the call",
    "transferCall": "Transferred the call",
    "end_call": "Hung up",
    "endCall": "Hung up",
}
RESULT_PREVIEW = 160


@dataclass(frozen=True)
class Turn:
    kind: str  # ASSISTANT, CALLER, or TOOL / ANSWER (small markers between the bubbles)
    text: str
    seconds: float | None = None

    @property
    def speaker(self) -> str:
        return SPEAKERS[self.kind]

    @property
    def at(self) -> str:
        return clock(self.seconds)


def clock(seconds: float | None) -> str:
    """m:ss (h:mm:ss past an hour); empty when unknown."""
    if seconds is None:
        return ""
    whole = max(int(seconds), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def tool_words(name: str) -> str:
    if name in TOOL_WORDS:
        return TOOL_WORDS[name]
    words = "".join(f" {c.lower()}" if c.isupper() else c for c in name).replace("_", " ").strip()
    return (words[:1].upper() + words[1:]) or "A tool"


def _seconds(message: dict) -> float | None:
    value = message.get("secondsFromStart")
    try:
        seconds = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    # "nan" or "1e999" read as floats no clock can show.
    return seconds if seconds is not None and math.isfinite(seconds) else None


def _tool_names(message: dict) -> list[str]:
    names = []
    calls = message.get("toolCalls")
    for call in calls if isinstance(calls, list) else []:
        if isinstance(call, dict):
            function = call.get("function") if isinstance(call.get("function"), dict) else {}
            names.append(str(function.get("name") or call.get("name") or "tool"))
    return names


def _result_text(result) -> str:
    text = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= RESULT_PREVIEW else text[: RESULT_PREVIEW - 1] + "…"


def message_role(message: dict) -> str:
    """A message's role as text; any other JSON value (a list, an object: nothing Vapi sends, but a stored report
    can hold it) reads as no role, rather than failing a lookup by it."""
    role = message.get("role")
    return role if isinstance(role, str) else ""


def conversation_turns(*, messages, transcript: str = "") -> list[Turn]:
    """The turns to show, in order; system messages (the agency's prompt) are never among them."""
    turns = []
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        role = message_role(message)
        seconds = _seconds(message)
        if role in ROLES:
            text = str(message.get("message") or message.get("content") or "").strip()
            if text:
                turns.append(Turn(ROLES[role], text, seconds))
        elif role == "tool_calls":
            for name in _tool_names(message):
                turns.append(Turn(TOOL, tool_words(name), seconds))
        elif role == "tool_call_result":
            answer = _result_text(message.get("result", ""))
            if answer:
                turns.append(Turn(ANSWER, f"We answered: {answer}", seconds))
    if turns:
        return turns
    return transcript_turns(transcript)


def transcript_turns(transcript: str) -> list[Turn]:
    """'AI: Hello\\nUser: Hi' as turns; a line without a known prefix continues the turn before it."""
    turns: list[Turn] = []
    for line in (transcript or "").splitlines():
        line = line.strip()
        if not line:
            continue
        prefix, sep, rest = line.partition(":")
        kind = TRANSCRIPT_PREFIXES.get(prefix.strip().lower()) if sep else None
        if kind is not None:
            if rest.strip():
                turns.append(Turn(kind, rest.strip()))
        elif turns:
            turns[-1] = Turn(turns[-1].kind, f"{turns[-1].text} {line}", turns[-1].seconds)
        else:
            turns.append(Turn(ASSISTANT, line))
    return turns


def tool_call_seconds(messages) -> dict[str, float]:
    """Tool call id -> seconds from the start of the call, from the messages that asked for them."""
    found = {}
    for message in messages if isinstance(messages, list) else []:
        if isinstance(message, dict) and message.get("role") == "tool_calls" and _seconds(message) is not None:
            calls = message.get("toolCalls")
            for call in calls if isinstance(calls, list) else []:
                if isinstance(call, dict) and call.get("id"):
                    found[str(call["id"])] = _seconds(message)
    return found
