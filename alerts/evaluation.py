"""Threshold alerts evaluated where the data already is: on the process that holds the stream,
once per committed batch (streaming/batch_watchers.py), never once per point per alert.

For each plot of a batch that has alerts, each watched trace's new y values are summed up once
(smallest, largest, last: rules.batch_values), and each of the trace's alerts compares those
three numbers with its threshold. A plot without alerts costs one dictionary look-up a batch.
The rules are loaded from the database by the alerts' timer (alerts/timer.py), which records the
transitions this finds.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings

from alerts.rules import ABOVE, BELOW, BatchValues, ThresholdState, Transition, batch_values
from streaming.stream_state import Chunk

# Transitions waiting for the timer to record them; past it, the evaluator keeps only the alert
# states (a transition not recorded is found again by the next batch that shows it).
MAX_PENDING = 10_000


@dataclass(frozen=True, slots=True)
class Rule:
    """A threshold alert as the database holds it."""

    alert_id: int
    plot_id: int
    trace: int
    condition: str
    threshold: float
    for_seconds: float
    state: str


class ThresholdEvaluator:
    """This process's threshold alerts, by plot and trace, and the transitions they made."""

    def __init__(self) -> None:
        # plot id -> trace key ("0", "1", ... as in a batch's deltas) -> its alerts' states
        self.by_plot: dict[int, dict[str, list[ThresholdState]]] = {}
        self.states: dict[int, ThresholdState] = {}
        self.changed_at: dict[int, float] = {}
        self.pending: list[Transition] = []
        self.values: dict[int, float] = {}  # the last value of each alert, not stored yet
        self.stale = True  # an alert was made or deleted here: load the rules again

    def load(self, rules: Iterable[Rule], read_at: float) -> None:
        """Take the rules as the database held them at `read_at` (time.monotonic()): an alert
        this process moved since keeps its own state, which is being stored."""
        by_plot: dict[int, dict[str, list[ThresholdState]]] = {}
        states: dict[int, ThresholdState] = {}
        for rule in rules:
            held = self.states.get(rule.alert_id)
            state = ThresholdState(
                rule.alert_id,
                rule.condition,
                rule.threshold,
                rule.for_seconds,
                rule.state,
                min_interval=settings.ALERT_MIN_INTERVAL,
            )
            if held is not None:
                state.held_since, state.last, state.last_x = held.held_since, held.last, held.last_x
                state.moved_at, state.folded = held.moved_at, held.folded
                if self.changed_at.get(rule.alert_id, 0.0) > read_at:
                    state.state = held.state
            states[rule.alert_id] = state
            by_plot.setdefault(rule.plot_id, {}).setdefault(str(rule.trace), []).append(state)
        self.by_plot, self.states = by_plot, states
        self.changed_at = {k: v for k, v in self.changed_at.items() if v > read_at}

    def observe(self, chunks: list[Chunk], now: datetime) -> None:
        """A batch was committed (the batch watcher): compare its values with the alerts."""
        by_plot = self.by_plot
        if not by_plot:
            return
        at = now.timestamp()
        for chunk in chunks:
            for plot_id, entry in chunk.plots.items():
                traces = by_plot.get(plot_id)
                if traces is None:
                    continue
                # Only the traces this stream feeds: a plot fed by many streams (line protocol's
                # series) is not scanned once for each of its watched traces by every chunk.
                for key in entry["traces"]:
                    states = traces.get(key)
                    if states is None:
                        continue
                    values = trace_values(entry["updates"], key)
                    if values is not None:
                        last = values.last
                        for state in states:
                            if moved := state.observe(values, at):
                                self._add(moved)
                            self.values[state.alert_id] = last

    def tick(self, at: float) -> None:
        """Time passed: values held past a threshold for for_seconds fire, folded crossings
        are settled."""
        for state in self.states.values():
            if state.held_since is not None or state.folded:
                self._add(state.tick(at))

    def take_transitions(self) -> list[Transition]:
        """The transitions to record, handed over once."""
        pending, self.pending = self.pending, []
        return pending

    def put_back(self, transitions: list[Transition]) -> None:
        """Transitions taken but not recorded (the database was away): first in line again."""
        self.pending = (transitions + self.pending)[:MAX_PENDING]

    def take_values(self) -> dict[int, float]:
        """The alerts' last values to store, handed over once."""
        values, self.values = self.values, {}
        return values

    def _add(self, transitions: list[Transition]) -> None:
        for transition in transitions:
            self.changed_at[transition.alert_id] = time.monotonic()
            if len(self.pending) < MAX_PENDING:
                self.pending.append(transition)


def trace_values(updates: list[dict[str, Any]], key: str) -> BatchValues | None:
    """The y values (and newest x) a batch's updates gave one trace, summed up."""
    ys: list[object] = []
    newest: dict[str, Any] = {}
    for update in updates:
        delta = update["traces"].get(key)
        if delta is None:
            continue
        part = delta.get("extend") or delta.get("set")
        if part is not None:
            y = part.get("y")
            if y:
                ys += y
                newest = part
    if not ys:
        return None
    xs = newest.get("x")
    return batch_values(ys, xs[-1] if isinstance(xs, list) and xs else None)


THRESHOLD_CONDITIONS = (ABOVE, BELOW)

# The process's evaluator: the batch watcher and the timer share it.
EVALUATOR = ThresholdEvaluator()
