"""Vapi's end-of-call analysis and costs, read for people: key/value rows, a verdict badge, a cost table."""

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation

from integrations.vapi.messages import decimal_or_none

ACRONYMS = {"id": "ID", "url": "URL", "ghl": "GHL", "ai": "AI", "sms": "SMS", "dob": "Date of birth"}
COST_NAMES = {
    "transport": "Phone line",
    "transcriber": "Speech recognition",
    "model": "Language model",
    "voice": "Voice",
    "vapi": "Vapi platform",
    "analysis": "Call analysis",
    "voicemail-detection": "Voicemail detection",
    "knowledge-base": "Knowledge base",
    "chat": "Chat",
    "session": "Session",
    # The legacy flat `costBreakdown` object's keys.
    "stt": "Speech recognition",
    "llm": "Language model",
    "tts": "Voice",
}
LEGACY_COST_KEYS = ("transport", "stt", "llm", "tts", "vapi", "chat")
ANALYSIS_NAMES = {
    "summary": "summary",
    "structuredData": "structured data",
    "successEvaluation": "success evaluation",
    "structuredOutput": "structured output",
}
ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
YES = {"true", "yes", "pass", "passed", "success", "successful"}
NO = {"false", "no", "fail", "failed", "unsuccessful"}


def humanise_key(key) -> str:
    """'appointment_time' / 'appointmentTime' -> 'Appointment time'; known acronyms kept upper case."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(key)).replace("_", " ").replace("-", " ").split()
    words = [ACRONYMS.get(word.lower(), word.lower()) for word in words]
    text = " ".join(words)
    return text[:1].upper() + text[1:] if text else "—"


def readable(value, *, tz: tzinfo | None = None) -> str:
    """One JSON value in words; ISO moments as a date and time (in `tz` when they carry an offset)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, str) and ISO_MOMENT.match(value):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if moment.tzinfo is not None and tz is not None:
            moment = moment.astimezone(tz)
        return f"{moment:%a, %b} {moment.day}, {moment.year} {moment.hour % 12 or 12}:{moment:%M %p}"
    return str(value)


def key_value_rows(data, prefix: str = "", *, tz: tzinfo | None = None) -> list[tuple[str, str]]:
    """A nested JSON value as flat (label, text) rows: nested keys read 'Address › City', lists of plain
    values are joined with commas, lists of objects are numbered."""
    if isinstance(data, dict):
        if not data and prefix:
            return [(prefix, "—")]
        rows = []
        for key, value in data.items():
            label = f"{prefix} › {humanise_key(key)}" if prefix else humanise_key(key)
            rows += key_value_rows(value, label, tz=tz)
        return rows
    if isinstance(data, list):
        if all(not isinstance(item, dict | list) for item in data):
            return [(prefix or "Value", ", ".join(readable(item, tz=tz) for item in data) or "—")]
        rows = []
        for number, item in enumerate(data, start=1):
            rows += key_value_rows(item, f"{prefix or 'Item'} {number}", tz=tz)
        return rows
    return [(prefix or "Value", readable(data, tz=tz))]


@dataclass(frozen=True)
class Verdict:
    label: str
    tone: str  # a Bootstrap colour: success, danger, info


def success_verdict(value: str) -> Verdict | None:
    """Vapi's successEvaluation ('true', 'false', '8', 'Excellent', ...) as a badge; None when absent."""
    text = (value or "").strip()
    if not text:
        return None
    if text.lower() in YES:
        return Verdict("Successful", "success")
    if text.lower() in NO:
        return Verdict("Not successful", "danger")
    try:
        score = Decimal(text)
    except InvalidOperation:
        return Verdict(text, "info")
    if 0 <= score <= 10:
        return Verdict(f"Score {text}/10", "success" if score >= 7 else "warning" if score >= 4 else "danger")
    if 0 <= score <= 100:
        return Verdict(f"Score {text}%", "success" if score >= 70 else "warning" if score >= 40 else "danger")
    return Verdict(f"Score {text}", "info")


@dataclass(frozen=True)
class CostRow:
    label: str
    detail: str
    cost: Decimal | None


def _number(value) -> str:
    amount = decimal_or_none(value)
    if amount is None:
        return ""
    return f"{amount.normalize():,f}" if amount != amount.to_integral() else f"{int(amount):,}"


def _provider(value) -> str:
    if isinstance(value, dict):
        parts = [value.get("provider"), value.get("model") or value.get("voiceId")]
        return " ".join(str(part) for part in parts if part)
    return str(value or "")


def _cost_detail(entry: dict) -> str:
    details = []
    what = _provider(entry.get("model") or entry.get("transcriber") or entry.get("voice") or entry.get("provider"))
    if entry.get("type") == "analysis" and entry.get("analysisType"):
        what = " · ".join(filter(None, [ANALYSIS_NAMES.get(entry["analysisType"], entry["analysisType"]), what]))
    if entry.get("type") == "vapi" and entry.get("subType") == "overage":
        what = "overage"
    if what:
        details.append(what)
    if decimal_or_none(entry.get("minutes")) is not None:
        details.append(f"{_number(entry['minutes'])} min")
    if (
        decimal_or_none(entry.get("promptTokens")) is not None
        or decimal_or_none(entry.get("completionTokens")) is not None
    ):
        details.append(
            f"{_number(entry.get('promptTokens') or 0)} prompt + {_number(entry.get('completionTokens') or 0)}"
            " completion tokens"
        )
    if decimal_or_none(entry.get("characters")) is not None:
        details.append(f"{_number(entry['characters'])} characters")
    return " · ".join(details)


def cost_rows(breakdown) -> list[CostRow]:
    """Vapi's `costs` list (one entry per type), or the legacy flat `costBreakdown` object."""
    if isinstance(breakdown, dict):
        return [
            CostRow(COST_NAMES[key], "", decimal_or_none(breakdown[key]))
            for key in LEGACY_COST_KEYS
            if decimal_or_none(breakdown.get(key)) is not None
        ]
    rows = []
    for entry in breakdown if isinstance(breakdown, list) else []:
        if isinstance(entry, dict):
            kind = str(entry.get("type") or "")
            rows.append(
                CostRow(
                    COST_NAMES.get(kind, humanise_key(kind or "other")),
                    _cost_detail(entry),
                    decimal_or_none(entry.get("cost")),
                )
            )
    return rows


def cost_total(*, cost: Decimal | None, rows: list[CostRow]) -> Decimal | None:
    """Vapi's own total when it sent one, else the sum of the rows."""
    if cost is not None:
        return cost
    known = [row.cost for row in rows if row.cost is not None]
    return sum(known, Decimal(0)) if known else None
