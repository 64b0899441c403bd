"""Per-user quotas: how many tokens and plots a user may hold, and how many traces a plot
or a token may have. Each is a setting (README, Configuration); past one, 429 with a message.

Every way of making a token, a plot or a trace (REST, Plotly's routes, the pages) goes
through the checks here. Two requests racing past the last free place may both get it:
the quotas keep one user from swamping the server, they are not an exact ledger.
"""

from __future__ import annotations

from collections import Counter

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException

from base import metrics


class QuotaExceeded(APIException):
    """A quota is reached: 429, with the limit and its setting in the message."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "A quota is reached."
    default_code = "quota_exceeded"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        metrics.LIMIT_HITS.labels("quota").inc()


def check_new_token(held: int) -> None:
    """A user who holds `held` unrevoked tokens makes another."""
    limit = settings.QUOTA_TOKENS_PER_USER
    if held >= limit:
        raise QuotaExceeded(
            f"You have {limit} stream tokens, the most one user may hold (QUOTA_TOKENS_PER_USER). "
            "Revoke tokens you no longer use."
        )


def check_new_plot(held: int) -> None:
    """A user who holds `held` plots makes another."""
    limit = settings.QUOTA_PLOTS_PER_USER
    if held >= limit:
        raise QuotaExceeded(
            f"You have {limit} plots, the most one user may hold (QUOTA_PLOTS_PER_USER). "
            "Delete plots you no longer use."
        )


def check_traces(trace_count: int, wanted: Counter[int], bound: Counter[int]) -> None:
    """A plot about to have `trace_count` traces, `wanted[token]` of them bound to each token that
    already drives `bound[token]` traces elsewhere: within the traces-per-plot and
    traces-per-token quotas? (Trace.check_quotas counts them.)"""
    per_plot = settings.QUOTA_TRACES_PER_PLOT
    if trace_count > per_plot:
        raise QuotaExceeded(
            f"A plot has at most {per_plot} traces (QUOTA_TRACES_PER_PLOT); this one would have {trace_count}."
        )
    per_token = settings.QUOTA_TRACES_PER_TOKEN
    for token_id, count in wanted.items():
        if bound[token_id] + count > per_token:
            raise QuotaExceeded(
                f"A stream token drives at most {per_token} traces (QUOTA_TRACES_PER_TOKEN); "
                f"this would bind one to {bound[token_id] + count}. Make another token for the rest."
            )
