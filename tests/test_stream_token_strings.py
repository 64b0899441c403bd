"""A new stream token is safe on a command line: URL-safe, 32 characters, never a leading "-"
(`plotserver-stream --token TOKEN` would read one as an option and refuse to start)."""

import re

from core.models import new_token_string


def test_new_tokens_never_begin_with_a_dash_and_stay_32_url_safe_characters():
    tokens = [new_token_string() for _ in range(5000)]  # about 78 would begin with "-" by chance
    assert not [t for t in tokens if t.startswith("-")]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}", t) for t in tokens)
    assert len(set(tokens)) == len(tokens)
