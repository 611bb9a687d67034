"""What the caller was told and what the tools did, side by side: the assistant's sentences that claim a booking,
a move or a cancellation (with the days and times they name), and the claims the tools confirmed."""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from voice.calls.transcripts import ASSISTANT, ROLES, conversation_turns, message_role
from voice.live.speech import spoken_moment
from voice.models import Call, MismatchKind, ToolCallRecord

BOOKED, RESCHEDULED, CANCELLED = "booked", "rescheduled", "cancelled"
# Which confirmed tool actions back a spoken claim: an appointment moved to 3 PM is also "booked for 3 PM".
BACKED_BY = {BOOKED: (BOOKED, RESCHEDULED), RESCHEDULED: (RESCHEDULED,), CANCELLED: (CANCELLED,)}

_THING = r"(?:appointment|booking|visit|cleaning|consultation|session)"
# Most specific first: "your appointment is moved" must not read as a booking.
CLAIM_PATTERNS = (
    (
        CANCELLED,
        re.compile(
            rf"\b(?:your|the)\s+{_THING}\b[^.!?]*?\b(?:is|has been|was|'s)\s+(?:now\s+)?cancell?ed\b"
            r"|\bi(?:'ve| have)\s+(?:now\s+)?cancell?ed\b|\b(?:it's|it is|that's|that is)\s+(?:now\s+)?cancell?ed\b",
            re.I,
        ),
    ),
    (
        RESCHEDULED,
        re.compile(
            rf"\b(?:your|the)\s+{_THING}\s+(?:is\s+|has been\s+|was\s+)?(?:now\s+)?(?:moved|rescheduled|changed)\b"
            r"|\bi(?:'ve| have)\s+(?:now\s+)?(?:moved|rescheduled|changed)\b",
            re.I,
        ),
    ),
    (
        BOOKED,
        re.compile(
            r"\b(?:you(?:'re| are)|you've been|you have been)\s+(?:now\s+|all\s+)?(?:booked|scheduled|confirmed)\b"
            r"|\bi(?:'ve| have)\s+(?:now\s+)?(?:booked|scheduled)\b"
            rf"|\b(?:your|the)\s+{_THING}\b[^.!?]*?\b(?:is|has been|'s)\s+(?:now\s+)?"
            r"(?:booked|confirmed|scheduled|set)\b",
            re.I,
        ),
    ),
)
# Any of them, searched once over a whole turn: a turn with no match anywhere has no sentence that claims (a
# sentence is a piece of its turn between whitespace, and the patterns look no further than their own words).
ANY_CLAIM = re.compile("|".join(f"(?:{pattern.pattern})" for _, pattern in CLAIM_PATTERNS), re.I)
# Each pattern's verbs hold one of these: a turn whose case-folded text holds none claims nothing, found without
# the search (which costs a few microseconds a turn, every turn of every call).
CLAIM_VERBS = ("cancel", "moved", "changed", "booked", "scheduled", "confirmed", "set")
# "a.m."/"p.m." written plain; its last dot also ends the sentence when a capital follows ("at 2 p.m. Anything
# else?" is a claim, then a question).
MERIDIEM_DOTS = re.compile(r"\b([ap])\.m\.(?=(\s+(?-i:[A-Z]))?)", re.I)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# A sentence that says it was not done, or only might be, claims nothing.
NOT_A_CLAIM = re.compile(r"\b(?:not|never|unable|if|once|whether|would|could)\b|n't\b", re.I)
TIME = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*(am|pm)?\b|\b(noon|midday)\b", re.I)
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
MONTH_DAY = re.compile(rf"\b({'|'.join(MONTH_NAMES)})\s+(\d{{1,2}})(?:st|nd|rd|th)?\b", re.I)
WEEKDAY = re.compile(rf"\b({'|'.join(WEEKDAY_NAMES)})\b", re.I)
RELATIVE_DAY = re.compile(r"\b(today|tomorrow)\b", re.I)


@dataclass(frozen=True)
class SpokenTime:
    hour: int
    minute: int
    meridiem: bool  # "at 11" without AM/PM matches 11 AM and 11 PM

    def matches(self, moment: datetime) -> bool:
        hour = moment.hour if self.meridiem else moment.hour % 12
        return hour == self.hour and moment.minute == self.minute


@dataclass(frozen=True)
class SpokenClaim:
    action: str
    sentence: str
    times: tuple[SpokenTime, ...]
    weekdays: tuple[int, ...]
    days: tuple[tuple[int, int], ...]  # (month, day)

    def fits(self, start: datetime) -> bool:
        """Whether an appointment at `start` (client-local) is the one the sentence names; unnamed parts fit."""
        return (
            (not self.times or any(t.matches(start) for t in self.times))
            and (not self.weekdays or start.weekday() in self.weekdays)
            and (not self.days or (start.month, start.day) in self.days)
        )


@dataclass(frozen=True)
class ToolClaim:
    """A booking, move or cancellation a tool confirmed to the caller (from its record's details)."""

    record: ToolCallRecord
    action: str
    appointment_id: str
    calendar_id: str
    start: datetime


def _spoken_times(text: str) -> tuple[SpokenTime, ...]:
    times = []
    for match in TIME.finditer(text):
        if match.group(4):
            times.append(SpokenTime(12, 0, True))
            continue
        hour, minute, meridiem = int(match.group(1)), int(match.group(2) or 0), (match.group(3) or "").lower()
        # A bare number is a time only after "at" ("at 11"); otherwise it is a date or a count.
        if not meridiem and not re.search(r"\bat\s*$", text[: match.start()], re.I):
            continue
        if not 1 <= hour <= 12 or minute > 59:
            continue
        if meridiem:
            hour = hour % 12 + (12 if meridiem == "pm" else 0)
        times.append(SpokenTime(hour, minute, bool(meridiem)))
    return tuple(times)


def _spoken_days(text: str, call_day: date | None) -> tuple[tuple[int, int], ...]:
    days = [(MONTH_NAMES.index(m.group(1).lower()) + 1, int(m.group(2))) for m in MONTH_DAY.finditer(text)]
    if call_day is not None:
        for match in RELATIVE_DAY.finditer(text):
            day = call_day + timedelta(days=1 if match.group(1).lower() == "tomorrow" else 0)
            days.append((day.month, day.day))
    return tuple(days)


def _meridiem_plain(text: str) -> str:
    return MERIDIEM_DOTS.sub(lambda m: f"{m[1]}m." if m[2] else f"{m[1]}m", text)


def _sentences(text: str) -> list[str]:
    text = _meridiem_plain(text)
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


def sentence_claim(sentence: str, *, call_day: date | None = None) -> SpokenClaim | None:
    """The claim one sentence of the assistant makes, if any."""
    if sentence.rstrip().endswith("?"):
        return None
    for action, pattern in CLAIM_PATTERNS:
        match = pattern.search(sentence)
        if match is None:
            continue
        if NOT_A_CLAIM.search(sentence[: match.end()]):
            return None
        # "moved from Tuesday at 10 to Wednesday at 2": the new time is what the caller now expects.
        named = sentence
        if action == RESCHEDULED and (moved := re.search(r"\bfrom\b.*?\bto\b(.*)", sentence, re.I | re.S)):
            named = moved.group(1)
        weekdays = tuple(WEEKDAY_NAMES.index(m.group(1).lower()) for m in WEEKDAY.finditer(named))
        return SpokenClaim(action, sentence, _spoken_times(named), weekdays, _spoken_days(named, call_day))
    return None


def _may_claim(text: str) -> bool:
    """Whether the text holds a claim pattern's verb, case-insensitively as the patterns match: re.I also takes
    the long s of "ſcheduled" and the Kelvin sign for a k, which casefold() turns into "s" and "k", and the dotless
    ı for an i, which it keeps (the only such letter of the verbs')."""
    folded = text.casefold().replace("ı", "i")
    return any(verb in folded for verb in CLAIM_VERBS)


def _words_may_claim(call: Call) -> bool:
    """Whether the words the assistant's turns are read from hold a claim's verb anywhere (_may_claim): every text
    of the assistant's messages, and the whole transcript unless a message of the assistant or the caller has text
    (conversation_turns then reads the messages only). A call whose words hold none claims nothing, found without
    building its turns (most calls, each after its report)."""
    said, spoken = [], False
    for message in call.messages if isinstance(call.messages, list) else ():
        role = ROLES.get(message_role(message)) if isinstance(message, dict) else None
        if role is not None and (text := str(message.get("message") or message.get("content") or "").strip()):
            spoken = True
            if role == ASSISTANT:
                said.append(text)
    if not spoken:
        said.append(call.transcript or "")
    return _may_claim("\n".join(said))


def spoken_claims(call: Call, tz: ZoneInfo) -> list[SpokenClaim]:
    """Every sentence of the assistant's that claims something was done, once each, in conversation order."""
    if not _words_may_claim(call):
        return []
    call_day = (call.started_at or call.created_at).astimezone(tz).date()
    claims, seen = [], set()
    for turn in conversation_turns(messages=call.messages, transcript=call.transcript):
        if turn.kind != ASSISTANT or not _may_claim(turn.text) or not ANY_CLAIM.search(_meridiem_plain(turn.text)):
            continue
        for sentence in _sentences(turn.text):
            claim = sentence_claim(sentence, call_day=call_day)
            if claim is not None and claim not in seen:
                seen.add(claim)
                claims.append(claim)
    return claims


def tool_claims(records: list[ToolCallRecord], tz: ZoneInfo) -> list[ToolClaim]:
    """What the tools confirmed, in the order they answered; refusals and errors confirmed nothing."""
    claims = []
    for record in records:
        details = record.details if isinstance(record.details, dict) else {}
        if record.error or details.get("action") not in BACKED_BY or not details.get("appointment_id"):
            continue
        start = datetime.fromisoformat(details["start"]).astimezone(tz)
        claims.append(
            ToolClaim(record, details["action"], details["appointment_id"], details.get("calendar_id", ""), start)
        )
    return claims


def spoken_mismatch(claim: SpokenClaim, confirmed: list[ToolClaim]) -> dict | None:
    """Whether a spoken claim is backed by a confirmed tool result: None when it is, else the mismatch."""
    backing = [c for c in confirmed if c.action in BACKED_BY[claim.action]]
    if any(claim.fits(c.start) for c in backing):
        return None
    if not backing:
        return {
            "kind": MismatchKind.CLAIMED_NOT_MADE,
            "said": claim.sentence[:300],
            "detail": f"The assistant said the appointment was {claim.action}, but no tool confirmed it.",
        }
    made = "; ".join(spoken_moment(c.start) for c in backing)
    return {
        "kind": MismatchKind.TIME_DIFFERS,
        "said": claim.sentence[:300],
        "detail": f"The time spoken is not the one {backing[0].action}: the tool did {made}.",
        "tool_call_id": backing[-1].record.tool_call_id,
    }
