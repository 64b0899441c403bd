"""`manage.py apikey`: the scripted way to provision an account."""

import io

import pytest
from django.core.management import CommandError, call_command

from core.models import ApiKey

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("apikey", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_it_creates_the_user_when_asked_and_prints_the_key_last(django_user_model):
    key = run("carol", "--create-user").strip().splitlines()[-1]
    user = django_user_model.objects.get(username="carol")
    assert ApiKey.user_for("carol", key) == user


def test_it_refuses_an_unknown_user_without_create_user():
    with pytest.raises(CommandError, match="--create-user"):
        run("nobody")


def test_it_replaces_an_existing_key(alice):
    first = run("alice").strip()
    second = run("alice").strip()
    assert first != second
    assert ApiKey.user_for("alice", first) is None
    assert ApiKey.user_for("alice", second) == alice


def test_it_brings_a_key_of_the_users_own_over_which_signs_in_beside_its_user_name_only(alice):
    assert run("alice", "--key", "plotly1234").strip() == "plotly1234"
    assert ApiKey.user_for("alice", "plotly1234") == alice
    assert ApiKey.user_for_key("plotly1234") is None  # never alone, as a bearer key
    assert ApiKey.objects.get(user=alice).prefix == "pl"  # 2 characters of a short key, not 6


@pytest.mark.parametrize("key", ["short", "has space1", "x" * 129, "dot.in.key1"])
def test_it_refuses_a_key_it_cannot_use_saying_what_a_key_is(alice, key):
    with pytest.raises(CommandError, match="10 to 128 letters"):
        run("alice", "--key", key)


def test_two_users_may_bring_the_same_key_each_signing_in_as_themselves(alice, bob):
    run("bob", "--key", "plotly1234")
    run("alice", "--key", "plotly1234")
    assert ApiKey.user_for("alice", "plotly1234") == alice
    assert ApiKey.user_for("bob", "plotly1234") == bob
