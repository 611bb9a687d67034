from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def minutes_seconds(seconds) -> str:
    """125 -> "2:05"; an unknown duration is a dash."""
    if seconds is None or seconds == "":
        return "—"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"


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
