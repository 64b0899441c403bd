"""Plotly's own client libraries, installed once per pinned version under .cache/clients/.

chart_studio gets a virtual environment of its own (it needs plotly 5, the project runs
plotly 7), and the Node client an npm prefix of its own. Both are built on first use, by
whichever test session gets there first, and kept: the folder name carries the pins, so a
change of pin builds afresh beside the old one.
"""

from __future__ import annotations

import fcntl
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

from harness.live_server import ROOT, TEST_TLS

CLIENTS = ROOT / ".cache" / "clients"
CHART_STUDIO_PINS = ("chart_studio==1.1.0", "plotly==5.24.1")
NODE_PLOTLY_PIN = "plotly@1.0.6"


@contextmanager
def _locked(folder: Path):
    """One builder at a time per folder (two pytest sessions may start together)."""
    CLIENTS.mkdir(parents=True, exist_ok=True)
    with open(CLIENTS / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _build(folder: Path, steps: list[list[str]]) -> None:
    """Run the steps in a scratch folder, then move it into place: no half-built cache."""
    scratch = folder.with_name(folder.name + ".partial")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    for step in steps:
        command = [part.replace("{dir}", str(scratch)) for part in step]
        result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=scratch)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    shutil.rmtree(folder, ignore_errors=True)
    scratch.rename(folder)


def chart_studio_python() -> Path:
    """The python of a virtual environment holding exactly CHART_STUDIO_PINS."""
    folder = CLIENTS / ("python-" + "-".join(pin.replace("==", "-") for pin in CHART_STUDIO_PINS))
    python = folder / "bin" / "python"
    complete = folder / ".installed"  # written last: a build cut short (a killed run) is redone
    with _locked(folder):
        if not complete.exists():
            # The venv is made in place (its scripts hold absolute paths), so no scratch move.
            shutil.rmtree(folder, ignore_errors=True)
            base = getattr(sys, "_base_executable", sys.executable)
            for command in (
                [base, "-m", "venv", str(folder)],
                [str(folder / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", *CHART_STUDIO_PINS],
            ):
                result = subprocess.run(command, capture_output=True, text=True, timeout=600)
                if result.returncode != 0:
                    shutil.rmtree(folder, ignore_errors=True)
                    raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
            complete.touch()
    return python


def node_plotly() -> Path:
    """An npm prefix whose node_modules holds NODE_PLOTLY_PIN; run node scripts from it."""
    folder = CLIENTS / ("node-" + NODE_PLOTLY_PIN.replace("@", "-"))
    with _locked(folder):
        if not (folder / "node_modules" / "plotly" / "package.json").exists():
            _build(
                folder,
                [
                    [
                        "npm",
                        "install",
                        "--no-audit",
                        "--no-fund",
                        "--no-save",
                        "--loglevel=error",
                        "--prefix",
                        "{dir}",
                        NODE_PLOTLY_PIN,
                    ]
                ],
            )
    return folder


def client_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a client process: its own HOME (so ~/.plotly is the test's), no proxies."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.pop("PYTHONPATH", None)
    env.update({"HOME": str(home), "PYTHONUNBUFFERED": "1"}, **extra)
    return env


class ClientProcess:
    """A client script in a subprocess that reports `RESULT <json>` lines and may wait for `go`.

    The test reads each result as it comes (so it can, say, open a viewer on the plot the
    script just made) and tells the script to go on with `go()`.
    """

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
        self.process = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self.output: list[str] = []
        self._results: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            if line.startswith("RESULT "):
                self._results.put(json.loads(line[len("RESULT ") :]))
        self._results.put(None)

    def result(self, timeout: float = 60) -> dict:
        """The script's next result; fails with its output if it ends or stalls first."""
        try:
            result = self._results.get(timeout=timeout)
        except queue.Empty:
            self.process.kill()
            raise AssertionError(f"no result within {timeout}s; output so far:\n{''.join(self.output)}") from None
        if result is None:
            self.process.wait()
            raise AssertionError(f"client exited with {self.process.returncode}:\n{''.join(self.output)}")
        return result

    def go(self) -> None:
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def finish(self, timeout: float = 60) -> None:
        """Wait for a clean exit."""
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"client did not exit within {timeout}s:\n{''.join(self.output)}") from None
        assert code == 0, f"client exited with {code}:\n{''.join(self.output)}"


class Viewer:
    """A WebSocket viewer of one plot that applies every update it gets, as the page does."""

    def __init__(self, ws_url: str) -> None:
        from websockets.sync.client import connect

        tls = TEST_TLS if ws_url.startswith("wss:") else None
        self.socket = connect(ws_url, open_timeout=10, legacy=True, ssl=tls)
        self._lock = threading.Lock()
        self.messages: list[dict] = []
        self.error: BaseException | None = None
        self._take(json.loads(self.socket.recv(timeout=10)))
        assert self.messages[0]["type"] == "snapshot", self.messages[0]
        threading.Thread(target=self._receive, daemon=True).start()

    def _take(self, message: dict) -> None:
        with self._lock:
            self.messages.append(message)
            if message["type"] == "snapshot":
                self.data = message["figure"]["data"]
                self.layout = message["figure"]["layout"]
                self.maxpoints = {str(t["index"]): t["maxpoints"] for t in message["traces"]}
            elif message["type"] == "updates":
                for update in message["updates"]:
                    self._apply(update)

    def _receive(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            for raw in self.socket:
                self._take(json.loads(raw))
        except ConnectionClosed:  # the test is over
            return
        except Exception as exc:
            self.error = exc
            raise

    def _apply(self, update: dict) -> None:
        for index, delta in update["traces"].items():
            trace = self.data[int(index)]
            for path, values in delta.get("extend", {}).items():
                current = _get(trace, path) or []
                _set(trace, path, (current + values)[-self.maxpoints[index] :] if self.maxpoints[index] else [])
            for path, value in delta.get("set", {}).items():
                _set(trace, path, value)
        for path, value in update.get("layout", {}).items():
            _set(self.layout, path, value)

    def trace(self, index: int) -> dict:
        assert self.error is None, f"the viewer failed: {self.error!r}; messages: {self.messages}"
        with self._lock:
            return json.loads(json.dumps(self.data[index]))

    def close(self) -> None:
        self.socket.close()


def _get(container: dict, path: str):
    for key in path.split("."):
        container = container.get(key) if isinstance(container, dict) else None
    return container


def _set(container: dict, path: str, value) -> None:
    *parents, last = path.split(".")
    for key in parents:
        container = container.setdefault(key, {})
    container[last] = value
