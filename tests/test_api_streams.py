"""/api/streams/: making, listing, reading and revoking stream tokens (addressed by id)."""

import pytest

from core.models import StreamToken

pytestmark = pytest.mark.django_db


def test_it_makes_a_random_url_safe_token_of_at_least_128_bits(as_alice):
    response = as_alice.post("/api/streams/", {"name": "rig 1"}, format="json")
    assert response.status_code == 201
    token = response.json()["token"]
    assert len(token) >= 22 and all(c.isalnum() or c in "-_" for c in token)
    assert response.json()["name"] == "rig 1"
    assert StreamToken.objects.get(token=token).owner.username == "alice"


def test_it_keeps_a_given_token_so_old_scripts_keep_working(as_alice):
    response = as_alice.post("/api/streams/", {"token": "k1x2c3v4b5"}, format="json")
    assert response.status_code == 201
    assert response.json()["token"] == "k1x2c3v4b5"


@pytest.mark.parametrize("token", ["short", "has space here", "x" * 65, "semi;colon12"])
def test_it_refuses_a_given_token_that_is_not_10_to_64_safe_characters(as_alice, token):
    response = as_alice.post("/api/streams/", {"token": token}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "token"


def test_a_token_is_unique_across_the_server(as_alice, as_bob):
    as_alice.post("/api/streams/", {"token": "shared-token-1"}, format="json")
    response = as_bob.post("/api/streams/", {"token": "shared-token-1"}, format="json")
    assert response.status_code == 400
    assert "taken" in response.json()["message"]


def test_the_list_holds_only_your_tokens(as_alice, as_bob):
    as_alice.post("/api/streams/", {"token": "alice-token-1"}, format="json")
    as_bob.post("/api/streams/", {"token": "bobs-token-01"}, format="json")
    assert [t["token"] for t in as_alice.get("/api/streams/").json()["results"]] == ["alice-token-1"]


def test_a_token_shows_its_status(as_alice):
    made = as_alice.post("/api/streams/", {"token": "status-token"}, format="json").json()
    body = as_alice.get(f"/api/streams/{made['id']}/").json()
    assert body["token"] == "status-token"
    for field in ("connected", "last_write_at", "remote_addr", "accepted", "rejected", "last_error", "takeovers"):
        assert field in body
    assert body["connected"] is False and body["accepted"] == 0


def test_another_user_cannot_see_your_token(as_alice, as_bob):
    made = as_alice.post("/api/streams/", {"token": "alice-token-2"}, format="json").json()
    assert as_bob.get(f"/api/streams/{made['id']}/").status_code == 404
    assert as_bob.delete(f"/api/streams/{made['id']}/").status_code == 404
    assert not StreamToken.objects.get(token="alice-token-2").is_revoked


def test_delete_revokes_the_token(as_alice):
    made = as_alice.post("/api/streams/", {"token": "revoke-me-01"}, format="json").json()
    assert as_alice.delete(f"/api/streams/{made['id']}/").status_code == 204
    assert StreamToken.objects.get(token="revoke-me-01").is_revoked
    assert as_alice.get(f"/api/streams/{made['id']}/").json()["revoked"] is not None


@pytest.mark.parametrize("method", ["get", "delete"])
def test_the_old_token_address_answers_410_pointing_to_the_id(as_alice, method):
    as_alice.post("/api/streams/", {"token": "old-address-1"}, format="json")
    response = getattr(as_alice, method)("/api/streams/old-address-1/")
    assert response.status_code == 410
    assert "/api/streams/<id>/" in response.json()["message"]
    assert "old-address-1" not in response.content.decode()
    assert not StreamToken.objects.get(token="old-address-1").is_revoked


def test_an_anonymous_visitor_gets_401(anonymous):
    response = anonymous.get("/api/streams/")
    assert response.status_code == 401
    assert response.json()["message"]
