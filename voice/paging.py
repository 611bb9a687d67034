from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import F, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.functional import cached_property

CALLS_PER_PAGE = 50
# `?before=last`: the last page, read backwards from the end of the order.
LAST = "last"


class CappedPaginator(Paginator):
    """Counts at most `cap` rows: on 100,000 calls an exact COUNT costs more than the page itself.

    `in_order` counts the first rows in the list's own order, so the planner reads them as the page does (down
    an index that follows that order, stopping at the cap), not in whatever order a filter's index gives."""

    def __init__(self, object_list, per_page, *, cap: int = 10_000, in_order: bool = False):
        super().__init__(object_list, per_page)
        self.cap = cap
        self.in_order = in_order

    @cached_property
    def count(self) -> int:
        rows = self.object_list.values("pk")
        return (rows if self.in_order else rows.order_by())[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap


@dataclass(frozen=True)
class SortKey:
    """A list's order: one column (nulls last), then the primary key in the same direction. The PostgreSQL
    indexes of migration 0004 follow these orders, so a page reads its 50 entries straight from an index."""

    field: str
    descending: bool
    # A NOT NULL column is ordered without NULLS FIRST/LAST: PostgreSQL matches an index only on the exact form.
    nullable: bool = True

    def ordering(self, *, backwards: bool = False) -> tuple:
        descending = self.descending != backwards
        column = F(self.field).desc if descending else F(self.field).asc
        pk = F("pk").desc() if descending else F("pk").asc()
        if not self.nullable:
            return (column(), pk)
        # Read backwards, the nulls that come last come first.
        return (column(nulls_first=True) if backwards else column(nulls_last=True), pk)


def keyset_token(value, pk: int) -> str:
    """A row's place in an order, for `?after=` and `?before=`: the sort value's ISO form, `~`, the key."""
    shown = "" if value is None else value.isoformat() if isinstance(value, datetime) else str(value)
    return f"{shown}~{pk}"


def _place(rows: QuerySet, sort: SortKey, token: str) -> tuple[object, int] | None:
    """(value, pk) of a token; None when it is not one (a hand-edited URL shows the first page)."""
    shown, _, pk = token.rpartition("~")
    try:
        return (None if shown == "" else rows.model._meta.get_field(sort.field).to_python(shown)), int(pk)
    except (ValidationError, ValueError):
        return None


def _parts(rows: QuerySet, sort: SortKey, value, pk: int, *, backwards: bool) -> list[QuerySet]:
    """The rows beyond (value, pk) in the order (before it when `backwards`), as parts read one after the
    other, each an index range: the rows with a value, and the rows without one (which sort last)."""
    beyond = TupleLessThan if sort.descending != backwards else TupleGreaterThan
    pk_beyond = "pk__lt" if beyond is TupleLessThan else "pk__gt"
    nulls = rows.filter(**{f"{sort.field}__isnull": True})
    if value is None:
        within_nulls = nulls.filter(**{pk_beyond: pk})
        return [within_nulls, rows.filter(**{f"{sort.field}__isnull": False})] if backwards else [within_nulls]
    with_values = rows.filter(beyond(Tuple(F(sort.field), F("pk")), (value, pk)))
    return [with_values] if backwards or not sort.nullable else [with_values, nulls]


@dataclass
class KeysetPage:
    """One page of a keyset-paginated list: every row reachable, and the last page as cheap as the first."""

    object_list: list
    sort: SortKey
    has_next: bool
    has_previous: bool

    def _token(self, row) -> str:
        return keyset_token(getattr(row, self.sort.field), row.pk)

    @property
    def next_token(self) -> str:
        return self._token(self.object_list[-1])

    @property
    def previous_token(self) -> str:
        return self._token(self.object_list[0])

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous


def keyset_page(rows: QuerySet, sort: SortKey, *, after: str = "", before: str = "", per_page: int) -> KeysetPage:
    """The page after the `after` token, before the `before` token (or the last page), else the first."""
    backwards = bool(before)
    place = None if before == LAST else _place(rows, sort, before or after) if (before or after) else None
    if place is None and before != LAST:
        backwards = False
    parts = [rows] if place is None else _parts(rows, sort, *place, backwards=backwards)
    found: list = []
    for part in parts:
        found += part.order_by(*sort.ordering(backwards=backwards))[: per_page + 1 - len(found)]
        if len(found) > per_page:
            break
    if not found and place is not None:
        # Nothing beyond the cursor (its rows went away): the first page, rather than an empty one.
        return keyset_page(rows, sort, per_page=per_page)
    more, found = len(found) > per_page, found[:per_page]
    if backwards:
        return KeysetPage(found[::-1], sort, has_next=place is not None, has_previous=more)
    return KeysetPage(found, sort, has_next=more, has_previous=place is not None)


def keyset_page_of(request, rows: QuerySet, sort: SortKey) -> KeysetPage:
    """The page a list's `?after=` / `?before=` asks for, CALLS_PER_PAGE rows."""
    after, before = request.GET.get("after", ""), request.GET.get("before", "")
    return keyset_page(rows, sort, after=after, before=before, per_page=CALLS_PER_PAGE)


def list_response(request, *, page_template: str, rows_template: str, context: dict):
    """The whole page, or only its results when htmx asks (a filter changed, a page link was followed)."""
    partial = request.htmx and not request.htmx.history_restore_request
    response = render(request, rows_template if partial else page_template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response
