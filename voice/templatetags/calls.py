from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from voice.calls.ended_reasons import ended_reason_text
from voice.calls.transcripts import clock
from voice.live.explanations import explanation_rows

register = template.Library()


@register.filter
def minutes_seconds(seconds) -> str:
    """125 -> "2:05" (the one duration format of every page, as the call page's clock); unknown is a dash."""
    if seconds is None or seconds == "":
        return "—"
    return clock(int(seconds))


@register.filter
def ended_reason_words(reason) -> str:
    """Vapi's endedReason code in the plain words the call page uses."""
    return ended_reason_text(str(reason or ""))


@register.filter
def web_url(url) -> str:
    """The URL when it is http(s), else "": recording URLs come from payloads and may reach a src."""
    url = str(url or "")
    return url if url.startswith(("https://", "http://")) else ""


@register.simple_tag
def choice_options(field) -> str:
    """A bound ChoiceField's <option>s, built in one pass (Django's per-option widget templates are slow)."""
    current = str(field.value() or "")
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (value, mark_safe(" selected") if str(value) == current else "", label)
            for value, label in field.field.choices
        ),
    )


@register.simple_tag
def choice_select(field) -> str:
    """A bound ChoiceField as a <select>."""
    css = "form-select is-invalid" if field.errors else "form-select"
    options = choice_options(field)
    return format_html('<select name="{}" id="{}" class="{}">{}</select>', field.html_name, field.auto_id, css, options)


@register.filter
def why_not_offered(details) -> dict:
    """A tool call's recorded explanation as rows: slots per day grouped by why they were (not) offered."""
    return explanation_rows(details)
