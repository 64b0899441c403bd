"""Who may see a shared thing (a plot, a dashboard): public, private or secret with a share key.

The one sharing rule: Plot.objects.visible_to() and Dashboard.objects.visible_to() both ask it.
"""

from __future__ import annotations

import secrets

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q

PUBLIC, PRIVATE, SECRET = "public", "private", "secret"


def new_share_key() -> str:
    # The share_key fields' default, secrets.token_urlsafe(): 32 random bytes, 43 characters.
    return secrets.token_urlsafe()


def visible_rule(user: AbstractBaseUser | AnonymousUser, share_key: str | None = None) -> Q:
    """The rows this visitor may see: their own, the public ones, and a secret one when
    `share_key` is its key. The database compares the key, not in constant time; a share key is
    256 random bits."""
    rule = Q(sharing=PUBLIC)
    if user.is_authenticated:
        rule |= Q(owner_id=user.pk)
    if share_key:
        rule |= Q(sharing=SECRET, share_key=share_key)
    return rule


def key_after_save(sharing: str, stored_sharing: str | None, share_key: str) -> str:
    """The share key a row keeps when saved with `sharing` (it was `stored_sharing`; None for a
    new row): a fresh one whenever it becomes secret, so that a link handed out before (secret,
    then private, then secret again) stops working."""
    if sharing == SECRET and stored_sharing is not None and stored_sharing != SECRET:
        return new_share_key()
    return share_key
