"""`Authorization: Bearer API_KEY` (and `Token API_KEY`) signs in with the key alone, the way most
APIs take a key; HTTP Basic `username:api_key` stays Plotly's way. A wrong key is a 401 saying so."""

from __future__ import annotations

import json

from harness.live_server import fetch


def test_a_bearer_key_signs_its_user_in(server, producer):
    status, _, body = fetch(f"{server.url}/api/streams/", headers={"Authorization": f"Bearer {producer.key}"})
    assert status == 200, body
    status, _, body = fetch(f"{server.url}/v2/users/current", headers={"Authorization": f"Bearer {producer.key}"})
    assert (status, json.loads(body)["username"]) == (200, producer.username)


def test_token_is_a_synonym_of_bearer(server, producer):
    status, _, body = fetch(f"{server.url}/api/streams/", headers={"Authorization": f"Token {producer.key}"})
    assert status == 200, body


def test_a_plot_made_with_a_bearer_key_is_its_users(server, producer):
    status, _, body = fetch(
        f"{server.url}/api/plots/",
        data=json.dumps({"title": "bearer"}).encode(),
        headers={"Authorization": f"Bearer {producer.key}", "Content-Type": "application/json"},
    )
    assert status == 201, body
    assert json.loads(body)["owner"] == producer.username


def test_a_wrong_bearer_key_is_a_401_that_says_so(server):
    status, headers, body = fetch(f"{server.url}/api/plots/", headers={"Authorization": "Bearer not-a-key"})
    assert status == 401
    assert headers["www-authenticate"].startswith("Basic")
    assert json.loads(body)["message"].startswith("Invalid API key.")
