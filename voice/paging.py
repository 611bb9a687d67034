from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.functional import cached_property

CALLS_PER_PAGE = 50


class CappedPaginator(Paginator):
    """Counts at most `cap` rows: on 100,000 calls an exact COUNT costs more than the page itself."""

    def __init__(self, object_list, per_page, *, cap: int = 10_000):
        super().__init__(object_list, per_page)
        self.cap = cap

    @cached_property
    def count(self) -> int:
        return self.object_list.values("pk").order_by()[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap


def list_response(request, *, page_template: str, rows_template: str, context: dict):
    """The whole page, or only its results when htmx asks (a filter changed, a page link was followed)."""
    partial = request.htmx and not request.htmx.history_restore_request
    response = render(request, rows_template if partial else page_template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response
