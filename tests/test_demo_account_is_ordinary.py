"""The demo account of `make run` is an ordinary user whose plot streams from random tokens:
nobody can guess a token to write into the demo plot, and the demo password printed on a
terminal opens no admin. A database set up by an earlier release (an administrator, fixed
tokens) is mended by the next `demo --setup`, and the demo producer follows the new tokens."""

from __future__ import annotations

import json

from harness.live_server import manage
from tests.demo import demo_producer_running, set_up_demo, wait_for_demo_points

GUESSABLE = {"demo-sine-wave", "demo-random-walk"}

DEMO_STATE = (
    "import json; from django.contrib.auth import get_user_model; from core.models import Trace; "
    "u = get_user_model().objects.get(username='demo'); "
    "traces = Trace.objects.filter(plot__owner=u, plot__title='Live demo').order_by('index'); "
    "t = [tr.stream_token.token for tr in traces]; "
    "print(json.dumps({'staff': u.is_staff, 'superuser': u.is_superuser, 'tokens': t}))"
)

AS_AN_EARLIER_RELEASE_LEFT_IT = (
    "from django.contrib.auth import get_user_model; from core.models import Trace; "
    "u = get_user_model().objects.get(username='demo'); u.is_staff = u.is_superuser = True; u.save(); "
    "traces = Trace.objects.filter(plot__owner=u, plot__title='Live demo').order_by('index'); "
    "[(setattr(tr.stream_token, 'token', fixed), tr.stream_token.save()) "
    "for tr, fixed in zip(traces, ['demo-sine-wave', 'demo-random-walk'])]"
)


def demo_state(env) -> dict:
    return json.loads(manage("shell", "-c", DEMO_STATE, env=env).strip().splitlines()[-1])


def test_the_demo_account_is_no_administrator_and_its_tokens_are_random(server, integration_db):
    manage("demo", "--setup", "--url", server.url, env=integration_db.env)
    state = demo_state(integration_db.env)
    assert state["staff"] is False and state["superuser"] is False
    assert len(state["tokens"]) == 2 and not GUESSABLE & set(state["tokens"])
    assert all(len(token) >= 20 for token in state["tokens"]) and len(set(state["tokens"])) == 2


def test_an_earlier_releases_demo_is_mended_and_the_producer_follows_its_new_tokens(server, integration_db):
    _, plot_id = set_up_demo(integration_db.env, "--url", server.url)
    manage("shell", "-c", AS_AN_EARLIER_RELEASE_LEFT_IT, env=integration_db.env)
    assert demo_state(integration_db.env)["superuser"] is True

    again = manage("demo", "--setup", "--url", server.url, env=integration_db.env)
    assert "no longer an administrator" in again
    state = demo_state(integration_db.env)
    assert state["staff"] is False and state["superuser"] is False
    assert not GUESSABLE & set(state["tokens"])

    with demo_producer_running(server.url, integration_db.env):
        wait_for_demo_points(server.url, plot_id, 5)
