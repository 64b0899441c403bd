"""`{% when value %}`: an instant in plotserver's one time format.

The page shows it relative ("5 min ago", kept current by web/static/plots/ui.js) with the
exact UTC time on hover; without JavaScript the exact time shows.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django import template
from django.utils.html import format_html

from core.models import isostring

register = template.Library()


def exact(value: datetime) -> str:
    """The exact form, as the hover shows it: 2026-11-28 18:37:35 UTC."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@register.simple_tag
def when(value: datetime | None, empty: str = "never", css: str = "") -> str:
    if value is None:
        return format_html('<time data-relative datetime="" data-empty="{}" class="{}">{}</time>', empty, css, empty)
    return format_html(
        '<time data-relative datetime="{}" title="{}" data-empty="{}" class="{}">{}</time>',
        isostring(value),
        exact(value),
        empty,
        css,
        exact(value),
    )
