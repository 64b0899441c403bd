"""What the apps above the core add to an owner's view of their plots (the cards of My plots
and Home): alerts say how many a plot has and whether one fires.

Each app registers a function here in AppConfig.ready(); web asks them all for a page of plots
and imports no such app. A function answers for many plots at once (one query for a page),
and only for plots of the user it is given.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

# (user, ids of that user's plots) -> {plot id: what the card shows}; a plot it says nothing of
# is left out.
OwnerSummary = Callable[[Any, list[int]], dict[int, dict[str, Any]]]
_summaries: dict[str, OwnerSummary] = {}


def register_owner_summary(name: str, summary: OwnerSummary) -> None:
    """Add `name` to the owner's cards: `summary` answers for a page of plots."""
    _summaries[name] = summary


def owner_summaries(user: Any, plot_ids: list[int]) -> dict[int, dict[str, Any]]:
    """{plot id: {name: summary}} for `user`'s plots among `plot_ids`, from every registered app."""
    found: dict[int, dict[str, Any]] = defaultdict(dict)
    for name, summary in _summaries.items():
        for plot_id, value in summary(user, plot_ids).items():
            found[plot_id][name] = value
    return found
