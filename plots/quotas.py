"""Per-user quotas: how many tokens and plots a user may hold, and how many traces a plot
or a token may have. Each is a setting (README, Configuration); past one, 429 with a message.

Every way of making a token, a plot or a trace (REST, Plotly's routes, the pages) goes
through the checks here. Two requests racing past the last free place may both get it:
the quotas keep one user from swamping the server, they are not an exact ledger.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException

from operations import metrics


class QuotaExceeded(APIException):
    """A quota is reached: 429, with the limit and its setting in the message."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "A quota is reached."
    default_code = "quota_exceeded"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        metrics.LIMIT_HITS.labels("quota").inc()


def check_new_token(owner) -> None:
    from plots.models import StreamToken

    limit = settings.QUOTA_TOKENS_PER_USER
    if StreamToken.objects.filter(owner=owner, revoked__isnull=True).count() >= limit:
        raise QuotaExceeded(
            f"You have {limit} stream tokens, the most one user may hold (QUOTA_TOKENS_PER_USER). "
            "Revoke tokens you no longer use."
        )


def check_new_plot(owner) -> None:
    from plots.models import Plot

    limit = settings.QUOTA_PLOTS_PER_USER
    if Plot.objects.filter(owner=owner).count() >= limit:
        raise QuotaExceeded(
            f"You have {limit} plots, the most one user may hold (QUOTA_PLOTS_PER_USER). "
            "Delete plots you no longer use."
        )


def check_traces(plot_id: int | None, trace_count: int, token_ids: Iterable[int | None]) -> None:
    """A plot about to have `trace_count` traces, bound to `token_ids` (one per trace, None
    for unbound): within the traces-per-plot and traces-per-token quotas?

    `plot_id` is the plot whose traces these replace (their old bindings do not count).
    """
    from plots.models import Trace

    per_plot = settings.QUOTA_TRACES_PER_PLOT
    if trace_count > per_plot:
        raise QuotaExceeded(
            f"A plot has at most {per_plot} traces (QUOTA_TRACES_PER_PLOT); this one would have {trace_count}."
        )
    wanted = Counter(token_id for token_id in token_ids if token_id is not None)
    if not wanted:
        return
    per_token = settings.QUOTA_TRACES_PER_TOKEN
    elsewhere = Trace.objects.filter(stream_token_id__in=wanted)
    if plot_id is not None:
        elsewhere = elsewhere.exclude(plot_id=plot_id)
    bound = Counter(elsewhere.values_list("stream_token_id", flat=True))
    for token_id, count in wanted.items():
        if bound[token_id] + count > per_token:
            raise QuotaExceeded(
                f"A stream token drives at most {per_token} traces (QUOTA_TRACES_PER_TOKEN); "
                f"this would bind one to {bound[token_id] + count}. Make another token for the rest."
            )
