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
