"""Settings for the in-process tests: plotserver's own, in production mode, with a throwaway key.

plotserver refuses to start without SECRET_KEY unless DEBUG is on; tests run with DEBUG off, as
users do, so they set a key of their own for this run (servers started by the tests inherit it).
"""

import os
import secrets

os.environ.setdefault("SECRET_KEY", f"plotserver-test-{secrets.token_urlsafe(48)}")

from plotserver.settings import *  # noqa: F403

# In-process tests call the server by example names (plots.example.com), as a deployment that
# listed them in ALLOWED_HOSTS would be called; the local-only default is tested on real servers.
ALLOWED_HOSTS = [*ALLOWED_HOSTS, ".example.com", "testserver"]  # noqa: F405

# The in-process tests' own PostgreSQL database is named after this checkout, so two checkouts can
# run the suite at once against one server without dropping each other's database.
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":  # noqa: F405
    import hashlib
    from pathlib import Path

    _checkout = hashlib.sha256(str(Path(__file__).resolve().parent.parent).encode()).hexdigest()[:8]
    DATABASES["default"]["TEST"] = {"NAME": f"test_plotserver_{_checkout}"}  # noqa: F405
