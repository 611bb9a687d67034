"""What a row of a 50-row list shows, formatted once in Python.

Rendering the calls and bookings lists went mostly to the template engine: per row, a `{% with %}`, two or three
`timezone|date` chains, `naturaltime`, a `{% url %}` and a badge `{% include %}`, about 1,500 variable lookups a
page (~60% of the page's server time). The rows' values are formatted here in one pass instead, with the same
output as those filters (tests/voice/test_rows.py compares them), and the row templates only print them.
"""

import uuid
import zoneinfo
from datetime import datetime

from django.contrib.humanize.templatetags.humanize import naturaltime
from django.template.defaultfilters import truncatechars
from django.template.loader import get_template
from django.urls import reverse
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR
from django.utils.translation import gettext

# Stands for a row's public id in a URL reversed once per page (reversing per row cost ~60 us a row).
_PLACEHOLDER = str(uuid.UUID(int=0))


def zone_or_none(name: str):
    """The zone named `name` (as the `timezone` filter reads it), None when unknown: the filter then shows ""."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return None


class Formatter:
    """Local times, "x ago" and pre-rendered badges for one page of rows: zones and badges looked up once."""

    def __init__(self):
        self._zones: dict[str, object] = {}
        self._badges: dict[tuple, str] = {}
        self._am, self._pm = gettext("AM"), gettext("PM")

    def zone(self, name: str):
        if name not in self._zones:
            self._zones[name] = zone_or_none(name)
        return self._zones[name]

    def local(self, moment: datetime | None, zone_name: str) -> datetime | None:
        """`moment|timezone:zone_name`, None when either is missing or the zone is unknown."""
        zone = self.zone(zone_name)
        if moment is None or zone is None:
            return None
        return moment.astimezone(zone)

    def clock(self, local: datetime | None, *, weekday: bool = False, zone: bool = True) -> str:
        """`date:"M j, g:i A T"` (with "D " first when `weekday`, without " T" unless `zone`); "" for None."""
        if local is None:
            return ""
        hour = local.hour % 12 or 12
        text = f"{MONTHS_3[local.month].title()} {local.day}, {hour}:{local.minute:02d} "
        text += self._am if local.hour < 12 else self._pm
        if zone:
            # As Django's "T": nothing in the hour a zone repeats (or skips), where the name would be a guess.
            ambiguous = local.tzinfo.utcoffset(local.replace(fold=not local.fold)) != local.utcoffset()
            text += " " if ambiguous else f" {local.tzname()}"
        return f"{WEEKDAYS_ABBR[local.weekday()]} {text}" if weekday else text

    @staticmethod
    def iso(local: datetime | None) -> str:
        """`date:'c'`."""
        return "" if local is None else local.isoformat()

    @staticmethod
    def ago(moment: datetime | None) -> str:
        """`naturaltime`, as the list showed it ("3 hours ago")."""
        return "" if moment is None else str(naturaltime(moment))

    def badge(self, template_name: str, key, **context) -> str:
        """The badge template rendered once per distinct `key` (what it shows) on the page: a list has few."""
        if (template_name, key) not in self._badges:
            self._badges[template_name, key] = get_template(template_name).render(context)
        return self._badges[template_name, key]

    @staticmethod
    def url_for_each(name: str, *args):
        """`public_id -> reverse(name, args=[*args, public_id])`, reversing once: only the id differs by row."""
        head, _, tail = reverse(name, args=[*args, _PLACEHOLDER]).rpartition(_PLACEHOLDER)
        return lambda public_id: f"{head}{public_id}{tail}"

    @classmethod
    def call_url_for_each(cls, request, *, portal: bool):
        """The call page of each row's call: the client's own portal page, or the agency's."""
        if portal:
            return cls.url_for_each("client_call_detail", request.client.public_id)
        return cls.url_for_each("call_detail", request.agency.slug)

    @staticmethod
    def truncated(text: str, length: int) -> str:
        """`truncatechars:length`; a short ASCII text (nearly every one) is returned as it is without the filter's
        per-character walk."""
        return text if len(text) <= length and text.isascii() else truncatechars(text, length)
