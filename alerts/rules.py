"""The rules of alerts, pure functions of their inputs: how a batch's values move a threshold
alert, when a stream is silent, how a webhook body is signed, and which webhook targets are
allowed. No I/O but name resolution (`check_webhook_target`, unless told not to); docs/alerts.md
is the reference.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

SILENCE = "silence"
ABOVE = "above"
BELOW = "below"
CONDITIONS = (SILENCE, ABOVE, BELOW)
OK = "ok"
FIRING = "firing"

SIGNATURE_HEADER = "X-Plotserver-Signature"

# Addresses a webhook never reaches unless ALERT_WEBHOOK_HOSTS lists them, named in the refusal:
# the cloud metadata services (any address that is not public is refused too).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class BatchValues:
    """What one accepted batch held for one trace: its smallest, largest and last number, and
    the newest x (None when the batch gave none)."""

    low: float
    high: float
    last: float
    x: object = None


def batch_values(values: list[object], x: object = None) -> BatchValues | None:
    """The numbers among `values` (a batch's y of one trace, in order) summed up once, for every
    alert of the trace to compare with; None when there is no finite number. `x`: the batch's
    newest x."""
    try:  # the common batch: numbers only
        numbers = cast("list[float]", values)
        low, high, last = min(numbers), max(numbers), numbers[-1]
        if _finite(low) and _finite(high) and _finite(last):
            return BatchValues(float(low), float(high), float(last), x)
    except TypeError:  # a None, a string among numbers
        pass
    numbers = [cast(float, v) for v in values if _finite(v)]
    if not numbers:
        return None
    return BatchValues(float(min(numbers)), float(max(numbers)), float(numbers[-1]), x)


def _finite(value: object) -> bool:
    return (type(value) is float and math.isfinite(value)) or type(value) is int


@dataclass(frozen=True, slots=True)
class Transition:
    """An alert changed state: to FIRING or back to OK, at `at` (seconds since the epoch),
    with the value that made it (for silence: the seconds without a line)."""

    alert_id: int
    state: str
    value: float
    at: float
    x: object = None


NOTHING: list[Transition] = []  # never appended to: what a batch that moves nothing returns


@dataclass(slots=True)
class ThresholdState:
    """A threshold alert as its evaluator holds it: the rule and where it stands."""

    alert_id: int
    condition: str
    threshold: float
    for_seconds: float
    state: str = OK
    # When the value went past the threshold and stayed there (for_seconds counts from it).
    held_since: float | None = None
    last: float | None = None
    last_x: object = None
    # The least time between two of its transitions (ALERT_MIN_INTERVAL): a crossing sooner is
    # folded, and once the time is up the alert takes the state its last value calls for.
    min_interval: float = 0.0
    moved_at: float = -math.inf
    folded: bool = False

    def past(self, value: float) -> bool:
        return value > self.threshold if self.condition == ABOVE else value < self.threshold

    def observe(self, batch: BatchValues, now: float) -> list[Transition]:
        """A batch of the trace's values arrived: the transitions it makes (at most a firing and
        a resolution: a batch that goes past the threshold and back fires once and resolves)."""
        self.last, self.last_x = batch.last, batch.x
        worst = batch.high if self.condition == ABOVE else batch.low
        if self.state == OK and self.held_since is None and not self.folded and not self.past(worst):
            return NOTHING  # the common batch: nothing near the threshold
        out: list[Transition] = []
        if self.state == OK:
            if self.for_seconds <= 0:
                if self.past(worst):
                    out.extend(self._move(FIRING, worst, now))
            elif self.past(batch.last):
                if self.held_since is None:
                    self.held_since = now
                out.extend(self.tick(now))
            else:
                self.held_since = None
        if self.state == FIRING and not self.past(batch.last):
            out.extend(self._move(OK, batch.last, now))
        return out

    def tick(self, now: float) -> list[Transition]:
        """Time passed without a batch: a value held past the threshold for for_seconds fires,
        and a folded crossing is settled once ALERT_MIN_INTERVAL is up."""
        if (
            self.state == OK
            and self.held_since is not None
            and self.last is not None
            and now - self.held_since >= self.for_seconds
        ):
            return self._move(FIRING, self.last, now)
        if self.folded and self.last is not None and now - self.moved_at >= self.min_interval:
            self.folded = False
            if self.state == FIRING and not self.past(self.last):
                return self._move(OK, self.last, now)
            if self.state == OK and self.for_seconds <= 0 and self.past(self.last):
                return self._move(FIRING, self.last, now)
        return []

    def _move(self, state: str, value: float, now: float) -> list[Transition]:
        if now - self.moved_at < self.min_interval:
            self.folded = True  # too soon after the last transition: settled by a later tick
            return []
        self.state = state
        self.held_since = None
        self.moved_at = now
        return [Transition(self.alert_id, state, value, now, self.last_x)]


def silence_transition(
    alert_id: int, state: str, seconds: float, last_line: float, now: float, fired_at: float | None = None
) -> Transition | None:
    """A silence alert whose stream last wrote at `last_line` (or was made then): FIRING once
    `seconds` passed without a line, OK again at the first line after that: one written since it
    fired at `fired_at` counts even when the stream has fallen silent again by the time the timer
    looks (it fires again at its next look)."""
    silent = now - last_line
    if state == OK and silent >= seconds:
        return Transition(alert_id, FIRING, round(silent, 3), now)
    if state == FIRING and (silent < seconds or (fired_at is not None and last_line > fired_at)):
        return Transition(alert_id, OK, round(silent, 3), now)
    return None


def transition_text(condition: str, state: str, value: float, threshold: float | None, since: str) -> str:
    """The annotation a transition leaves on the plot."""
    if condition == SILENCE:
        return f"silent since {since}" if state == FIRING else "streaming again"
    word = "above" if condition == ABOVE else "below"
    if state == FIRING:
        return f"{word} {threshold:g}: {value:g}"
    return f"back from {word} {threshold:g}: {value:g}"


def sign(body: bytes, secret: str) -> str:
    """The X-Plotserver-Signature header's value for a body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class TargetRefused(ValueError):
    """A webhook URL that may not be reached; the message says why."""


Resolver = Callable[[str, int], Iterable[str]]


def resolve(host: str, port: int) -> list[str]:
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def _literal(host: str, port: int) -> list[str]:
    return [host]


def parse_allowed(
    entries: Iterable[str],
) -> tuple[frozenset[str], tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]]:
    """ALERT_WEBHOOK_HOSTS: host names and networks (an address is a network of one)."""
    names, networks = set(), []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.lower().rstrip("."))
    return frozenset(names), tuple(networks)


def check_webhook_target(url: str, allowed: Iterable[str], resolver: Resolver | None = resolve) -> list[str]:
    """TargetRefused unless `url` is http(s) to a host whose every address may be reached:
    listed in `allowed` (ALERT_WEBHOOK_HOSTS: its name, or a network holding the address), or
    a public address (`is_global`; an IPv6 address that carries an IPv4 one is judged by it).
    The addresses checked, which are the ones to connect to (a second look-up could answer
    another: DNS rebinding); empty when the name itself is listed (trusted wherever it resolves).
    With no `resolver`, a name is not looked up (only an address written in the URL is checked):
    what a request thread checks, which must not wait on DNS; the delivery checks the name."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("a webhook is an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise TargetRefused("a webhook URL carries no user or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefused("the webhook URL's port is not a number from 1 to 65535") from None
    host = parts.hostname.lower().rstrip(".")
    names, networks = parse_allowed(allowed)
    if host in names:  # the operator vouched for the name, wherever it resolves
        return []
    if resolver is None:
        try:
            ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            return []  # a name: checked when it is delivered to
        resolver = _literal
    try:
        found = list(resolver(host, port))
        addresses = [ipaddress.ip_address(a.split("%")[0]) for a in found]
    except (OSError, UnicodeError) as exc:
        raise TargetRefused(f"the webhook's host {host} does not resolve ({exc})") from None
    if not addresses:
        raise TargetRefused(f"the webhook's host {host} has no address")
    for address in addresses:
        if any(address in network for network in networks):
            continue
        if reason := _refused(address):
            raise TargetRefused(
                f"the webhook's host {host} is at {address}, {reason}: refused unless ALERT_WEBHOOK_HOSTS lists it"
            )
    return found


# IPv6 prefixes that carry an IPv4 address (NAT64's, RFC 6052 and RFC 8215): such an address is
# judged by the IPv4 address it reaches.
NAT64_NETWORKS = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), if it stands for one."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in network for network in NAT64_NETWORKS):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _refused(address: Address) -> str:
    if (embedded := _embedded_ipv4(address)) is not None:
        reason = _refused(embedded)
        return f"which reaches {embedded}, {reason}" if reason else ""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata service"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if not address.is_global:  # private, shared (100.64/10), unique-local, reserved, documentation
        return "not a public address"
    return ""
