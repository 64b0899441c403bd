"""The core's one way to delete plots (`Plot.remove`, `PlotQuerySet.remove`), to keep trace
indexes dense (`Plot.renumber_traces`), and to name the token strings an owner has
(`StreamToken.objects.strings_of`)."""

import pytest

from core.models import Plot, StreamToken, Trace

pytestmark = pytest.mark.django_db


def test_removing_a_plot_deletes_it_and_tells_its_viewers_on_commit(alice, django_capture_on_commit_callbacks):
    plot = Plot.objects.create(owner=alice)
    Trace.objects.create(plot=plot, index=0)
    with django_capture_on_commit_callbacks(execute=False) as on_commit:
        plot.remove()
    assert not Plot.objects.filter(pk=plot.pk).exists()
    assert not Trace.objects.filter(plot_id=plot.pk).exists()
    assert len(on_commit) == 1


def test_removing_a_queryset_of_plots_tells_each_plots_viewers(alice, django_capture_on_commit_callbacks):
    plots = [Plot.objects.create(owner=alice) for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=False) as on_commit:
        Plot.objects.filter(pk__in=[p.pk for p in plots[:2]]).remove()
    assert list(Plot.objects.values_list("pk", flat=True)) == [plots[2].pk]
    assert len(on_commit) == 2


def test_renumbering_closes_the_gap_a_deleted_trace_left(alice):
    plot = Plot.objects.create(owner=alice)
    traces = [Trace.objects.create(plot=plot, index=i, spec={"name": str(i)}) for i in range(4)]
    traces[1].delete()
    plot.renumber_traces()
    assert [(t.index, t.spec["name"]) for t in plot.traces.all()] == [(0, "0"), (1, "2"), (2, "3")]


def test_renumbering_in_a_new_order_writes_only_indexes_and_numbers_new_traces(alice):
    plot = Plot.objects.create(owner=alice)
    first, second = (Trace.objects.create(plot=plot, index=i, spec={"name": str(i)}) for i in range(2))
    second.spec = {"name": "not saved by renumbering"}
    new = Trace(plot=plot, index=0, spec={"name": "new"})
    plot.renumber_traces([second, new, first])
    assert (second.index, new.index, first.index) == (0, 1, 2)
    assert [(t.index, t.spec["name"]) for t in plot.traces.all()] == [(0, "1"), (2, "0")]
    new.save()
    assert [t.spec["name"] for t in plot.traces.all()] == ["1", "new", "0"]


def test_an_owners_token_strings_are_all_of_theirs_revoked_ones_too(alice, bob):
    kept = StreamToken.objects.create(owner=alice)
    revoked = StreamToken.objects.create(owner=alice)
    revoked.revoke()
    StreamToken.objects.create(owner=bob)
    assert StreamToken.objects.strings_of(alice.pk) == {kept.token, revoked.token}
    assert StreamToken.objects.strings_of(None) == set()
