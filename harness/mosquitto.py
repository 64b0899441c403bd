"""A real mosquitto broker for integration tests: on a free port of its own, stopped and started
again on the same port (a broker restart), with a user and password (MQTT_URL carries them)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import paho.mqtt.client

from harness.live_server import free_port, wait_for

MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None)
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd")


class Mosquitto:
    """`mosquitto -c <its config>` in a subprocess, on 127.0.0.1:<port>, anonymous clients refused."""

    def __init__(
        self,
        work_dir: Path,
        username: str = "plotserver",
        password: str = "s3cret:pass",
        queued: int | None = None,
        tls: dict[str, str] | None = None,
    ) -> None:
        """`queued`: the broker's max_queued_messages, the QoS 1 messages it keeps for a subscriber
        that has not taken them yet (mosquitto's default 1,000 when None; 0 for no bound). `tls`:
        the listener speaks TLS with this certificate ({"ca", "cert", "key"}: PEM files)."""
        assert MOSQUITTO is not None and MOSQUITTO_PASSWD is not None
        self.binary = MOSQUITTO
        self.port = free_port()
        self.username, self.password = username, password
        self.work_dir = work_dir
        self.log_path = work_dir / f"mosquitto-{self.port}.log"
        passwords = work_dir / "passwords"
        passwords.touch(mode=0o600)
        subprocess.run([MOSQUITTO_PASSWD, "-b", str(passwords), username, password], check=True, timeout=30)
        self.config = work_dir / "mosquitto.conf"
        self.tls = tls
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            + (f"certfile {tls['cert']}\nkeyfile {tls['key']}\n" if tls else "")
            + "allow_anonymous false\n"
            f"password_file {passwords}\n"
            "persistence false\n"
            f"log_dest file {self.log_path}\n"
            + (f"max_queued_messages {queued}\n" if queued is not None else "")
            # Started as root (a CI container), mosquitto would become the user "mosquitto",
            # who cannot read the test's own files.
            + ("user root\n" if os.geteuid() == 0 else "")
        )
        self.process: subprocess.Popen | None = None

    def url(self) -> str:
        """MQTT_URL for this broker, the password's `:` escaped as a URL needs."""
        scheme = "mqtts" if self.tls else "mqtt"
        return f"{scheme}://{self.username}:{self.password.replace(':', '%3A')}@127.0.0.1:{self.port}"

    def start(self) -> Mosquitto:
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for(self._listening, timeout=30, message=f"mosquitto on port {self.port}")
        return self

    def _listening(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"mosquitto exited with {self.process.returncode}: {self.log_text()}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def client(self, inflight: int = 20) -> paho.mqtt.client.Client:
        """A connected client of this broker (its network loop on a thread of its own), with at
        most `inflight` QoS 1 messages unacknowledged."""
        client = paho.mqtt.client.Client(paho.mqtt.client.CallbackAPIVersion.VERSION2)
        client.username_pw_set(self.username, self.password)
        client.max_inflight_messages_set(inflight)
        if self.tls:
            client.tls_set(ca_certs=self.tls["ca"])
        client.connect("127.0.0.1", self.port)
        client.loop_start()
        return client

    def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> None:
        """One message at QoS 1, as a device publishes it (returns once the broker has it)."""
        client = self.client()
        try:
            client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(30)
        finally:
            client.disconnect()
            client.loop_stop()
