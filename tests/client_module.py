"""The producer client as users get it: the one file client/plotserver_client.py, imported or run."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from harness.live_server import ROOT

CLIENT_FILE = ROOT / "client" / "plotserver_client.py"

_spec = importlib.util.spec_from_file_location("plotserver_client", CLIENT_FILE)
plotserver_client = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("plotserver_client", plotserver_client)
_spec.loader.exec_module(plotserver_client)


def start_cli(*args: str, **popen) -> subprocess.Popen:
    """`plotserver-stream ARGS` as a copied single file runs it, reading lines from a pipe."""
    options = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **popen}
    return subprocess.Popen([sys.executable, str(CLIENT_FILE), *args], **options)
