"""/api/plots/<id>/traces/: a trace's token and maxpoints change without resending the plot."""

import pytest

from core.models import Plot, StreamToken, Trace
from core.models.windows import traces_with_windows
from tests.writers import commit_lines, open_writer
from web.serializers import TraceSerializer

pytestmark = pytest.mark.django_db


@pytest.fixture
def plot(alice):
    plot = Plot.objects.create(owner=alice, title="p")
    Trace.objects.create(plot=plot, index=0, spec={"type": "scatter", "x": [1], "y": [2]})
    return plot


def test_it_lists_a_plots_traces(as_alice, plot):
    assert as_alice.get(f"/api/plots/{plot.pk}/traces/").json()["results"] == [
        {"index": 0, "spec": {"type": "scatter", "x": [1], "y": [2]}, "token": None, "maxpoints": 500}
    ]


def test_the_owner_binds_a_token_and_changes_maxpoints(as_alice, alice, plot):
    StreamToken.objects.create(owner=alice, token="trace-token-1")
    response = as_alice.patch(
        f"/api/plots/{plot.pk}/traces/0/", {"token": "trace-token-1", "maxpoints": 50}, format="json"
    )
    assert response.status_code == 200, response.json()
    trace = plot.traces.get()
    assert (trace.stream_token.token, trace.maxpoints) == ("trace-token-1", 50)


def test_the_owner_unbinds_a_token(as_alice, alice, plot):
    plot.traces.update(stream_token=StreamToken.objects.create(owner=alice, token="trace-token-2"))
    as_alice.patch(f"/api/plots/{plot.pk}/traces/0/", {"token": None}, format="json")
    assert plot.traces.get().stream_token is None


def test_binding_someone_elses_token_is_a_400(as_alice, bob, plot):
    StreamToken.objects.create(owner=bob, token="bobs-token-9")
    response = as_alice.patch(f"/api/plots/{plot.pk}/traces/0/", {"token": "bobs-token-9"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "token"


def test_maxpoints_above_10000_is_a_400(as_alice, plot):
    assert as_alice.patch(f"/api/plots/{plot.pk}/traces/0/", {"maxpoints": 10001}, format="json").status_code == 400


def test_the_owner_adds_and_removes_traces(as_alice, plot):
    response = as_alice.post(f"/api/plots/{plot.pk}/traces/", {"spec": {"type": "bar"}}, format="json")
    assert response.status_code == 201 and response.json()["index"] == 1
    assert as_alice.delete(f"/api/plots/{plot.pk}/traces/0/").status_code == 204
    assert [(t.index, t.spec["type"]) for t in plot.traces.all()] == [(0, "bar")]


def test_another_user_cannot_change_traces(as_bob, plot):
    assert as_bob.patch(f"/api/plots/{plot.pk}/traces/0/", {"maxpoints": 5}, format="json").status_code == 403
    plot.sharing = Plot.PRIVATE
    plot.save()
    assert as_bob.get(f"/api/plots/{plot.pk}/traces/").status_code == 404


def test_visitors_see_traces_without_their_tokens(as_alice, as_bob, anonymous, alice, plot):
    plot.traces.update(stream_token=StreamToken.objects.create(owner=alice, token="secret-token-1"))
    assert as_alice.get(f"/api/plots/{plot.pk}/traces/").json()["results"][0]["token"] == "secret-token-1"
    for visitor in (as_bob, anonymous):
        for body in (
            visitor.get(f"/api/plots/{plot.pk}/traces/").json()["results"][0],
            visitor.get(f"/api/plots/{plot.pk}/traces/0/").json(),
        ):
            assert "token" not in body
            assert "secret-token-1" not in str(body)


def test_changing_maxpoints_keeps_points_streamed_since_the_trace_was_read(plot):
    token = StreamToken.objects.create(owner=plot.owner, token="trace-token-3")
    plot.traces.update(stream_token=token)
    read_by_the_edit = plot.traces.get()
    commit_lines(open_writer(token), b'{"x": 9, "y": 9}')
    serializer = TraceSerializer(read_by_the_edit, data={"maxpoints": 50}, partial=True)
    assert serializer.is_valid(), serializer.errors
    serializer.save()
    (trace,) = traces_with_windows(plot.traces.all())
    assert (trace.maxpoints, trace.spec["x"]) == (50, [1, 9])
