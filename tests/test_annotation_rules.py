"""Annotations, in process: what their fields may hold, the per-plot bound, the actions telling
viewers once they commit, the figure viewers read, retention, and a stream line's annotation
placed at the stream's x and stored with its points (docs/annotations.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.annotation_fields import AnnotationInvalid, check_stream_form
from core.models import Annotation, Plot, StreamToken, Trace
from core.protocol import LineRejected, parse_line
from core.signals import annotation_changed
from streaming.store import commit_chunks
from tests.writers import commit_lines, open_writer

pytestmark = pytest.mark.django_db


@pytest.fixture
def told():
    """What annotation_changed said, as (plot_id, annotations stored or None, ids deleted or None)."""
    heard: list[tuple] = []

    def listen(sender, plot_id, annotations=None, deleted=None, **kwargs):
        heard.append((plot_id, annotations, deleted))

    annotation_changed.connect(listen, dispatch_uid="test-annotation-rules")
    yield heard
    annotation_changed.disconnect(dispatch_uid="test-annotation-rules")


def refused_field(fields: dict, plot: Plot) -> str:
    with pytest.raises(AnnotationInvalid) as refused:
        Annotation.add(plot.pk, fields)
    return refused.value.field


# -- the fields --------------------------------------------------------------------------------


def test_an_event_and_a_span_are_stored_with_their_fields(alices_plot):
    event = Annotation.add(alices_plot.pk, {"x": 3, "text": "valve open"})
    span = Annotation.add(alices_plot.pk, {"x": 4, "x_end": 7.5, "text": "run", "trace": 0, "color": "#00aa00"})
    assert (event.x, event.x_end, event.trace, event.color) == (3, None, None, "")
    assert span.as_dict() | {"created": "", "updated": ""} == {
        "id": span.pk,
        "x": 4,
        "x_end": 7.5,
        "text": "run",
        "trace": 0,
        "color": "#00aa00",
        "stream": None,
        "created": "",
        "updated": "",
    }


def test_a_date_with_an_offset_is_read_as_its_instant_in_utc(alices_plot):
    annotation = Annotation.add(alices_plot.pk, {"x": "2026-12-07T10:00:00+02:00", "text": "deploy"})
    assert annotation.x == "2026-12-07T08:00:00"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"text": "no x"}, "x"),
        ({"x": True, "text": "a boolean x"}, "x"),
        ({"x": 1}, "text"),
        ({"x": 1, "text": "   "}, "text"),
        ({"x": 1, "text": "x" * 501}, "text"),
        ({"x": 5, "x_end": 4, "text": "backwards"}, "x_end"),
        ({"x": "2026-12-07 10:00", "x_end": "2026-12-07 09:00", "text": "backwards"}, "x_end"),
        ({"x": 5, "x_end": "2026-12-07", "text": "mixed kinds"}, "x_end"),
        ({"x": 1, "text": "t", "color": "not-a-colour"}, "color"),
        ({"x": 1, "text": "t", "trace": 1}, "trace"),
        ({"x": 1, "text": "t", "trace": -1}, "trace"),
    ],
)
def test_a_field_the_rules_refuse_is_named(alices_plot, fields, field):
    assert refused_field(fields, alices_plot) == field
    assert not Annotation.objects.exists()


def test_a_plot_holds_at_most_annotations_per_plot(alices_plot, settings):
    settings.ANNOTATIONS_PER_PLOT = 2
    Annotation.add(alices_plot.pk, {"x": 1, "text": "a"})
    Annotation.add(alices_plot.pk, {"x": 2, "text": "b"})
    with pytest.raises(AnnotationInvalid, match="ANNOTATIONS_PER_PLOT"):
        Annotation.add(alices_plot.pk, {"x": 3, "text": "c"})
    assert Annotation.objects.count() == 2


def test_the_text_bound_is_a_setting(alices_plot, settings):
    settings.ANNOTATION_TEXT_MAX_CHARS = 5
    with pytest.raises(AnnotationInvalid, match="ANNOTATION_TEXT_MAX_CHARS"):
        Annotation.add(alices_plot.pk, {"x": 1, "text": "longer"})


# -- the actions tell viewers once they commit -------------------------------------------------


def test_adding_editing_and_removing_are_told_once_committed(alices_plot, told, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        annotation = Annotation.add(alices_plot.pk, {"x": 1, "text": "a"})
    with django_capture_on_commit_callbacks(execute=True):
        annotation.edit({"text": "b"})
    pk = annotation.pk
    with django_capture_on_commit_callbacks(execute=True):
        annotation.remove()
    assert [(plot, a and [one["text"] for one in a], deleted) for plot, a, deleted in told] == [
        (alices_plot.pk, ["a"], None),
        (alices_plot.pk, ["b"], None),
        (alices_plot.pk, None, [pk]),
    ]


def test_an_edit_is_checked_as_a_whole(alices_plot):
    annotation = Annotation.add(alices_plot.pk, {"x": 5, "text": "a"})
    with pytest.raises(AnnotationInvalid):
        annotation.edit({"x_end": 1})
    annotation.refresh_from_db()
    assert annotation.x_end is None


def test_an_edit_racing_a_deletion_never_brings_the_annotation_back(alices_plot):
    annotation = Annotation.add(alices_plot.pk, {"x": 5, "text": "a"})
    stale = Annotation.objects.get(pk=annotation.pk)  # what a PATCH read before the DELETE
    annotation.remove()
    with pytest.raises(Annotation.DoesNotExist):
        stale.edit({"text": "b"})
    assert not Annotation.objects.exists()


def test_an_edit_or_an_addition_racing_the_plots_deletion_is_told_as_gone(alices_plot):
    annotation = Annotation.add(alices_plot.pk, {"x": 5, "text": "a"})
    plot_id = alices_plot.pk
    Plot.objects.filter(pk=plot_id).delete()
    with pytest.raises(Annotation.DoesNotExist):
        annotation.edit({"text": "b"})
    with pytest.raises(Plot.DoesNotExist):
        Annotation.add(plot_id, {"x": 1, "text": "c"})
    assert not Annotation.objects.exists()


def test_an_edit_changes_only_its_fields_over_the_stored_row(alices_plot):
    annotation = Annotation.add(alices_plot.pk, {"x": 5, "text": "a"})
    Annotation.objects.filter(pk=annotation.pk).update(color="red")  # another edit, committed first
    annotation.edit({"text": "b"})
    annotation.refresh_from_db()
    assert (annotation.text, annotation.color) == ("b", "red")


# -- the figure viewers read -------------------------------------------------------------------


def test_the_viewer_figure_draws_them_but_the_stored_layout_keeps_none(alices_plot):
    alices_plot.layout = {"shapes": [{"type": "line", "x0": 0, "x1": 1, "y0": 0, "y1": 1}]}
    alices_plot.save()
    Annotation.add(alices_plot.pk, {"x": 3, "text": "<b>valve</b> open"})
    Annotation.add(alices_plot.pk, {"x": 4, "x_end": 6, "text": "run", "color": "blue"})
    layout = alices_plot.viewer_figure()["layout"]
    assert [s["type"] for s in layout["shapes"]] == ["line", "line", "rect"]
    assert layout["shapes"][2]["fillcolor"] == "blue"
    assert [a["text"] for a in layout["annotations"]] == ["&lt;b&gt;valve&lt;/b&gt; open", "run"]
    alices_plot.refresh_from_db()
    assert len(alices_plot.layout["shapes"]) == 1 and "annotations" not in alices_plot.layout


def test_a_figure_a_viewer_read_saved_back_as_the_layout_keeps_no_drawn_annotation(alices_plot):
    from core.figure_schema import upgrade_layout

    own = {"shapes": [{"type": "line", "x0": 0, "x1": 1, "y0": 0, "y1": 1}], "annotations": [{"text": "mine"}]}
    alices_plot.layout = own
    alices_plot.save()
    Annotation.add(alices_plot.pk, {"x": 3, "text": "valve open"})
    read = alices_plot.viewer_figure()["layout"]
    assert len(read["shapes"]) == 2
    # Every way a layout is saved (the API, the pages, the admin, a stream's layout line) upgrades it.
    assert upgrade_layout(read) == own
    alices_plot.layout = read  # stored so before the rule: drawn once, never twice
    alices_plot.save()
    assert len(alices_plot.viewer_figure()["layout"]["shapes"]) == 2


def test_an_annotation_about_a_trace_is_drawn_on_its_x_axis(alices_plot):
    Trace.objects.create(plot=alices_plot, index=1, spec={"x": [1], "y": [1], "xaxis": "x2"})
    Annotation.add(alices_plot.pk, {"x": 1, "text": "on x2", "trace": 1})
    assert alices_plot.viewer_figure()["layout"]["shapes"][0]["xref"] == "x2"


def test_an_annotation_holding_the_owners_token_is_refused_and_one_stored_before_is_never_shown(alices_plot):
    token = alices_plot.token.token
    for fields, field in (({"x": 1, "text": token}, "text"), ({"x": token, "text": "t"}, "x")):
        with pytest.raises(AnnotationInvalid, match="stream tokens") as refused:
            Annotation.add(alices_plot.pk, fields)
        assert refused.value.field == field
    shown = Annotation.add(alices_plot.pk, {"x": 1, "text": "fine"})
    later = Annotation.add(alices_plot.pk, {"x": 2, "text": "a-string-named-a-token-later-01"})
    StreamToken.objects.create(owner=alices_plot.owner, token=later.text)
    assert [a["id"] for a in alices_plot.annotation_list()] == [shown.pk]
    assert later.text not in str(alices_plot.viewer_figure())


def test_a_streamed_annotation_holding_the_owners_token_is_not_stored(stream):
    plot, token = stream
    writer = open_writer(token)
    line = b'{"x": 1, "y": 1, "annotation": {"text": "%s"}}' % token.token.encode()
    commit_lines(writer, line, b'{"x": 2, "y": 2, "annotation": {"text": "fine"}}')
    assert list(Annotation.objects.values_list("text", flat=True)) == ["fine"]
    assert plot.viewer_figure()["data"][0]["x"] == [1, 2]


def test_the_api_shows_no_annotation_holding_a_token_named_after_it(alices_plot):
    from rest_framework.test import APIClient

    shown = Annotation.add(alices_plot.pk, {"x": 1, "text": "fine"})
    later = Annotation.add(alices_plot.pk, {"x": 2, "text": "a-string-named-a-token-later-01"})
    StreamToken.objects.create(owner=alices_plot.owner, token=later.text)
    path = f"/api/plots/{alices_plot.pk}/annotations/"
    assert [a["id"] for a in APIClient().get(path).json()] == [shown.pk]
    assert APIClient().get(f"{path}{later.pk}/").status_code == 404
    assert APIClient().get(f"{path}{shown.pk}/").json()["text"] == "fine"


# -- retention ---------------------------------------------------------------------------------


def test_a_duration_plot_lets_old_annotations_go_and_a_window_plot_keeps_those_made_by_hand(alice, alices_plot):
    from history.pruning import prune_history

    week = Plot.objects.create(owner=alice, retention="7d")
    old = timezone.now() - timedelta(days=8)
    kept = Annotation.add(week.pk, {"x": 2, "text": "recent"})
    gone = Annotation.add(week.pk, {"x": 1, "text": "old"})
    Annotation.objects.filter(pk=gone.pk).update(created=old)
    window = Annotation.add(alices_plot.pk, {"x": 1, "text": "window plot"})
    Annotation.objects.filter(pk=window.pk).update(created=old)
    assert list(Annotation.objects.expired_on(week.pk, week.retention, timezone.now())) == [gone]
    assert not Annotation.objects.expired_on(alices_plot.pk, alices_plot.retention, timezone.now()).exists()
    prune_history()
    assert set(Annotation.objects.values_list("pk", flat=True)) == {kept.pk, window.pk}


def test_a_point_count_plot_lets_go_of_stream_annotations_older_than_its_points(alice):
    token = StreamToken.objects.create(owner=alice, last_seq=1000)
    plot = Plot.objects.create(owner=alice, retention="100 points")
    old = Annotation.record_from_streams([(plot.pk, token.pk, 800, {"x": 1, "text": "old"})], timezone.now())[0]
    Annotation.record_from_streams([(plot.pk, token.pk, 950, {"x": 2, "text": "new"})], timezone.now())
    Annotation.add(plot.pk, {"x": 0, "text": "made by hand"})
    assert list(Annotation.objects.expired_on(plot.pk, plot.retention, timezone.now())) == [old]


def test_a_window_plot_lets_go_of_stream_annotations_on_lines_past_its_window(alices_plot):
    token = alices_plot.token  # its trace keeps 100 points
    StreamToken.objects.filter(pk=token.pk).update(last_seq=1000)
    now = timezone.now()
    old = Annotation.record_from_streams([(alices_plot.pk, token.pk, 900, {"x": 1, "text": "old"})], now)[0]
    Annotation.record_from_streams([(alices_plot.pk, token.pk, 901, {"x": 2, "text": "in the window"})], now)
    Annotation.add(alices_plot.pk, {"x": 0, "text": "made by hand"})
    assert list(Annotation.objects.expired_on(alices_plot.pk, alices_plot.retention, now)) == [old]


def test_the_history_job_lets_go_of_more_than_a_thousand_annotations_and_tells_viewers_per_plot(
    alice, told, django_capture_on_commit_callbacks
):
    from history.pruning import prune_history

    weeks = [Plot.objects.create(owner=alice, retention="7d") for _ in range(3)]
    kept = Annotation.add(weeks[0].pk, {"x": 1, "text": "recent"})
    old = timezone.now() - timedelta(days=8)
    Annotation.objects.bulk_create(
        Annotation(plot=week, x=i, text=f"old {i}", created=old, updated=old) for week in weeks for i in range(400)
    )
    with django_capture_on_commit_callbacks(execute=True):
        prune_history(limit=300)
    assert list(Annotation.objects.all()) == [kept]
    told_plots = [plot for plot, _, _ in told]
    assert sorted(set(told_plots)) == [week.pk for week in weeks]
    assert len(told_plots) == 6  # a message per batch of each plot, never per annotation
    assert sum(len(deleted) for _, _, deleted in told) == 1200
    assert max(len(deleted) for _, _, deleted in told) <= 300


# -- the stream line form ----------------------------------------------------------------------


def test_a_line_carries_an_annotation_beside_its_points():
    update = parse_line(b'{"x": 5, "y": 1, "annotation": {"text": "valve open", "color": "red"}}')
    assert update.annotation == {"text": "valve open", "color": "red"}
    assert update.trace == {"x": 5, "y": 1}


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (b'{"annotation": "valve open"}', "annotation: expected an object"),
        (b'{"annotation": {}}', "annotation.text: a text is required"),
        (b'{"annotation": {"text": "t", "trace": 0}}', "annotation.trace: not a field"),
        (b'{"annotation": {"text": "t", "color": "nope"}}', "annotation.color:"),
        (b'{"annotation": {"text": "t", "x_end": 3}}', "annotation.x_end: a span in a stream line gives its x"),
    ],
)
def test_a_bad_annotation_rejects_its_line_with_the_reason(line, says):
    with pytest.raises(LineRejected, match=says.replace(".", r"\.")):
        parse_line(line)


def test_the_stream_form_keeps_an_x_it_is_given():
    assert check_stream_form({"text": "t", "x": 2, "x_end": 4}) == {"text": "t", "color": "", "x": 2, "x_end": 4}


def test_a_streamed_annotation_stands_at_the_lines_x_and_is_stored_with_its_points(stream):
    plot, token = stream
    writer = open_writer(token)
    commit_lines(writer, b'{"x": 1, "y": 1}', b'{"x": 2, "y": 5, "annotation": {"text": "valve open"}}')
    annotation = Annotation.objects.get()
    assert (annotation.plot_id, annotation.x, annotation.text) == (plot.pk, 2, "valve open")
    assert (annotation.stream_id, annotation.seq) == (token.pk, 2)


def test_a_streamed_annotation_without_points_stands_at_the_streams_newest_x(stream):
    _plot, token = stream
    writer = open_writer(token)
    commit_lines(writer, b'{"x": "2026-12-07 10:00:00", "y": 1}')
    commit_lines(writer, b'{"annotation": {"text": "deploy"}}')
    assert Annotation.objects.get().x == "2026-12-07 10:00:00"


def test_the_commit_hands_on_what_it_stored(stream):
    _plot, token = stream
    writer = open_writer(token)
    writer.accept(parse_line(b'{"x": 3, "y": 1, "annotation": {"text": "t"}}'))
    now = timezone.now()
    chunk = writer.take_chunk(now)
    commit_chunks([chunk], now)
    [made] = chunk.annotations
    assert made.stored == Annotation.objects.get().as_dict()


def test_a_stream_with_no_x_yet_rejects_the_line_and_nothing_else(stream):
    _plot, token = stream
    writer = open_writer(token)
    with pytest.raises(LineRejected, match="no x yet"):
        writer.accept(parse_line(b'{"annotation": {"text": "too early"}}'))
    assert writer.seq == 0
    commit_lines(writer, b'{"annotation": {"text": "placed", "x": 7}}')
    assert Annotation.objects.get().x == 7


def test_a_stream_line_past_the_per_plot_bound_keeps_its_points_and_the_token_says_why(stream, settings):
    settings.ANNOTATIONS_PER_PLOT = 1
    plot, token = stream
    writer = open_writer(token)
    commit_lines(writer, b'{"x": 1, "y": 1, "annotation": {"text": "first"}}')
    commit_lines(writer, b'{"x": 2, "y": 2, "annotation": {"text": "second"}}')
    assert list(Annotation.objects.values_list("text", flat=True)) == ["first"]
    assert plot.viewer_figure()["data"][0]["x"] == [1, 2]
    token.refresh_from_db()
    assert (token.accepted, token.rejected) == (2, 0)
    assert "annotation of the update numbered 2 left out" in token.last_error
    assert "ANNOTATIONS_PER_PLOT" in token.last_error


def test_a_full_plot_leaves_out_its_own_annotation_only(stream, alice, settings):
    settings.ANNOTATIONS_PER_PLOT = 1
    full, token = stream
    other = Plot.objects.create(owner=alice)
    Trace.objects.create(plot=other, index=0, spec={"x": [], "y": []}, stream_token=token)
    Annotation.add(full.pk, {"x": 0, "text": "by hand"})
    writer = open_writer(token)
    commit_lines(writer, b'{"x": 1, "y": 1, "annotation": {"text": "streamed"}}')
    assert sorted(Annotation.objects.values_list("plot_id", "text")) == [(full.pk, "by hand"), (other.pk, "streamed")]


def test_annotations_deleted_meanwhile_free_their_places_at_the_streams_next_checkpoint(stream, settings):
    settings.ANNOTATIONS_PER_PLOT = 1
    _plot, token = stream
    writer = open_writer(token)
    commit_lines(writer, b'{"x": 1, "y": 1, "annotation": {"text": "first"}}')
    Annotation.objects.all().remove()
    commit_lines(writer, b'{"x": 2, "y": 2}', checkpoint=True)
    commit_lines(writer, b'{"x": 3, "y": 3, "annotation": {"text": "after the checkpoint"}}')
    assert list(Annotation.objects.values_list("text", flat=True)) == ["after the checkpoint"]


def test_a_plot_deleted_before_the_commit_takes_no_annotation_and_the_batch_is_stored(stream, alice):
    gone, token = stream
    kept = Plot.objects.create(owner=alice)
    Trace.objects.create(plot=kept, index=0, spec={"x": [], "y": []}, stream_token=token)
    writer = open_writer(token)
    writer.accept(parse_line(b'{"x": 1, "y": 1, "annotation": {"text": "valve open"}}'))
    gone.remove()
    now = timezone.now()
    chunk = writer.take_chunk(now)
    commit_chunks([chunk], now)
    assert list(Annotation.objects.values_list("plot_id", "text")) == [(kept.pk, "valve open")]
    assert [made.stored is not None for made in chunk.annotations] == [False, True]
    token.refresh_from_db()
    assert token.last_seq == 1


def test_the_history_job_deletes_what_retention_lets_go(alice):
    from history.pruning import prune_history

    week = Plot.objects.create(owner=alice, retention="7d")
    gone = Annotation.add(week.pk, {"x": 1, "text": "old"})
    Annotation.objects.filter(pk=gone.pk).update(created=timezone.now() - timedelta(days=8))
    kept = Annotation.add(week.pk, {"x": 2, "text": "recent"})
    prune_history()
    assert list(Annotation.objects.all()) == [kept]


def test_the_admin_saves_and_deletes_through_the_rules(
    admin_client, alices_plot, told, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/plots/annotation/add/", {"plot": alices_plot.pk, "x": "5", "text": "from the admin", "color": ""}
        )
    assert response.status_code == 302, response.content
    annotation = Annotation.objects.get()
    assert (annotation.x, annotation.text) == (5, "from the admin")
    refused = admin_client.post(
        "/admin/plots/annotation/add/", {"plot": alices_plot.pk, "x": "5", "text": "t", "color": "nope"}
    )
    assert refused.status_code == 200 and Annotation.objects.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/admin/plots/annotation/{annotation.pk}/delete/", {"post": "yes"})
    assert not Annotation.objects.exists()
    assert [(a and a[0]["text"], deleted) for _, a, deleted in told] == [
        ("from the admin", None),
        (None, [annotation.pk]),
    ]


def test_the_admin_keeps_an_annotation_on_its_plot_and_deletes_many_in_one_message_per_plot(
    admin_client, alice, alices_plot, told, django_capture_on_commit_callbacks
):
    other = Plot.objects.create(owner=alice)
    annotation = Annotation.add(alices_plot.pk, {"x": 1, "text": "here"})
    more = Annotation.add(alices_plot.pk, {"x": 2, "text": "here too"})
    elsewhere = Annotation.add(other.pk, {"x": 1, "text": "there"})
    response = admin_client.post(
        f"/admin/plots/annotation/{annotation.pk}/change/", {"plot": other.pk, "x": "3", "text": "moved?"}
    )
    assert response.status_code == 302, response.content
    annotation.refresh_from_db()
    assert (annotation.plot_id, annotation.x, annotation.text) == (alices_plot.pk, 3, "moved?")
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/plots/annotation/",
            {"action": "delete_selected", "_selected_action": [annotation.pk, more.pk, elsewhere.pk], "post": "yes"},
        )
    assert not Annotation.objects.exists()
    assert sorted((plot, deleted) for plot, _, deleted in told) == sorted(
        [(alices_plot.pk, [annotation.pk, more.pk]), (other.pk, [elsewhere.pk])]
    )
