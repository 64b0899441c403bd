"""Every table of plotserver, one module a topic; each model's methods are the one way to do its
actions (a transaction, the revision bump, the notification on commit included).

The app's label is still "plots" (core/apps.py): the tables and the migration history keep the
names they had before the core was its own package.
"""

from core.models.annotations import Annotation
from core.models.history import HistoryBlock, HistoryFold, Run
from core.models.plots import MAXPOINTS_DEFAULT, MAXPOINTS_LIMIT, Grid, Plot, PlotQuerySet, Trace, new_share_key
from core.models.process_leases import ProcessLease
from core.models.streams import StreamChunk, TraceCheckpoint
from core.models.tokens import (
    TOKEN_PATTERN,
    ApiKey,
    BadKey,
    LastError,
    StreamToken,
    TokenStatus,
    isostring,
    new_token_string,
)

__all__ = [
    "MAXPOINTS_DEFAULT",
    "MAXPOINTS_LIMIT",
    "TOKEN_PATTERN",
    "Annotation",
    "ApiKey",
    "BadKey",
    "Grid",
    "HistoryBlock",
    "HistoryFold",
    "LastError",
    "Plot",
    "PlotQuerySet",
    "ProcessLease",
    "Run",
    "StreamChunk",
    "StreamToken",
    "TokenStatus",
    "Trace",
    "TraceCheckpoint",
    "isostring",
    "new_share_key",
    "new_token_string",
]
