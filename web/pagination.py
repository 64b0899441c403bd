"""Pages of the REST API's lists: `?page=2`, API_PAGE_SIZE items each (docs/api.md)."""

from __future__ import annotations

from django.conf import settings
from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """`{"count", "next", "previous", "results"}`; `?page_size=` may ask for fewer (or up to the setting)."""

    page_size_query_param = "page_size"

    # Properties, so that the setting is read per request (the stubs declare plain attributes).
    @property
    def page_size(self) -> int:  # type: ignore[override]
        return settings.API_PAGE_SIZE

    @property
    def max_page_size(self) -> int:  # type: ignore[override]
        return settings.API_PAGE_SIZE
