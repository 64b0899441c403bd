"""What the admin does to streamed windows, for plots and for stream tokens alike: clear them,
and read one as viewers see it now."""

from django.db import transaction

from core.models import Plot, Trace
from core.models.windows import traces_with_windows
from core.window import clear_window
from streaming.store import rebase_window


def clear_windows(traces) -> set[int]:
    """Empty the streamed windows of these traces (their styles stay); return the plots touched.

    The traces are locked as an ingest batch locks them, so a batch in flight lands after the
    clear, never under it. The plots' viewers then take a fresh snapshot.
    """
    trace_ids = [t.pk for t in traces]
    with transaction.atomic():
        plots = Plot.objects.filter(traces__in=trace_ids).distinct()
        plots.changed()
        plot_ids = set()
        for trace in Trace.objects.select_for_update().filter(pk__in=trace_ids):
            clear_window(trace.spec)
            trace.save(update_fields=["spec"])
            rebase_window(trace)
            plot_ids.add(trace.plot_id)
    return plot_ids


def current_window(trace: Trace) -> dict:
    """The trace's spec as viewers see it now (its checkpoint plus the rows stored after it)."""
    (window,) = traces_with_windows(Trace.objects.filter(pk=trace.pk))
    return window.spec
