"""Settings for the in-process tests: plotserver's own, in production mode, with a throwaway key.

plotserver refuses to start without SECRET_KEY unless DEBUG is on; tests run with DEBUG off, as
users do, so they set a key of their own for this run (servers started by the tests inherit it).
"""

import os
import secrets

os.environ.setdefault("SECRET_KEY", f"plotserver-test-{secrets.token_urlsafe(48)}")

from plotserver.settings import *  # noqa: F403
