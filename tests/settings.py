"""Settings for the in-process tests: plotserver's own, in production mode, with a throwaway key.

plotserver refuses to start without SECRET_KEY unless DEBUG is on; tests run with DEBUG off, as
users do, so they set a key of their own for this run (servers started by the tests inherit it).
"""

import os
import secrets

os.environ.setdefault("SECRET_KEY", f"plotserver-test-{secrets.token_urlsafe(48)}")
# Servers of one test process share a Redis key prefix of their own (they inherit it), and each
# pytest-xdist worker (`make test`) has its own: plot and token ids repeat between the workers'
# databases, and would otherwise meet in the same Redis groups.
os.environ.setdefault("REDIS_PREFIX", f"plotserver-test-{secrets.token_hex(4)}")
if (worker := os.environ.get("PYTEST_XDIST_WORKER")) and not os.environ["REDIS_PREFIX"].endswith(f"-{worker}"):
    os.environ["REDIS_PREFIX"] += f"-{worker}"

from plotserver.settings import *  # noqa: F403

# In-process tests call the server by example names (plots.example.com), as a deployment that
# listed them in ALLOWED_HOSTS would be called; the local-only default is tested on real servers.
ALLOWED_HOSTS = [*ALLOWED_HOSTS, ".example.com", "testserver"]  # noqa: F405

# The in-process tests' own database is named after this checkout, so two checkouts can run the
# suite at once against one PostgreSQL server without dropping each other's database. On SQLite
# it is a file, not Django's shared-cache memory database: the pipeline's database thread and a
# test's own writes then wait on the busy timeout, as in production, instead of failing at once
# with "database table is locked".
import hashlib  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

_checkout = hashlib.sha256(str(Path(__file__).resolve().parent.parent).encode()).hexdigest()[:8]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"plotserver-test-{_checkout}.sqlite3")}  # noqa: F405
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_plotserver_{_checkout}"}  # noqa: F405
