"""Prometheus metrics, kept by ``prometheus_client``, exposed at ``/metrics``::

    creditpolicy_decisions_total{kind,outcome}            counter
    creditpolicy_decisions_refused_total{kind,code}       counter (422/409 and the like)
    creditpolicy_decision_latency_seconds{kind}           histogram
    creditpolicy_policy_info{policy_id,version,sha256} 1  gauge: the versions that decided
    creditpolicy_group_commit_{groups,grouped_steps,lone_steps,failed_groups}_total  counters
    creditpolicy_shadow_decisions_total{kind,result}      counter: a challenger decided it too
                                                          (agree, differ, error)
    creditpolicy_shadow_errors_total{kind,code}           counter: the challenger failed, by code

**Several workers.** ``creditpolicy serve --workers N`` (N > 1) gives every start a fresh
``PROMETHEUS_MULTIPROC_DIR``: each worker writes its values to files there and ``/metrics``, from
whichever worker answers, adds up every worker's (prometheus_client's multiprocess mode; the
policy gauge takes the largest value, 1). With one worker the values live in the process.

**Cost.** A decision updates a counter and a histogram: the labelled children are looked up once
per (kind, outcome) and kept, so the hot path is two ``inc``/``observe`` calls (measured in the
README's figures).
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ["CONTENT_TYPE", "GROUP_COMMIT_COUNTERS", "LATENCY_BUCKETS", "Metrics"]

# The text format every Prometheus reads; prometheus_client writes it (its "latest" type names 1.0.0).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Seconds; a decision takes about a millisecond, a slow database tens of them.
LATENCY_BUCKETS: tuple[float, ...] = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

# The group committer's counters (api.adapters.group_commit), by the name it counts them under.
GROUP_COMMIT_COUNTERS = {
    "groups": "Transactions that stored the decisions of two or more requests together.",
    "grouped_steps": "Decisions stored in those shared transactions.",
    "lone_steps": "Decisions stored in a transaction of their own (alone, or after their group failed).",
    "failed_groups": "Shared transactions rolled back and redone decision by decision.",
}

# No `*_created` series: the exposition keeps the series it had before prometheus_client (and the
# multiprocess mode writes none anyway). A process-wide switch of the library.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus_client


class Metrics:
    """The service's counters, histogram and gauge, safe to update from any thread.

    ``multiprocess_dir``: prometheus_client's multiprocess directory when the service runs several
    worker processes (``PROMETHEUS_MULTIPROC_DIR``, read by :mod:`api.settings`); ``/metrics``
    then aggregates the files of every worker.
    """

    def __init__(self, multiprocess_dir: Path | None = None) -> None:
        registry = CollectorRegistry(auto_describe=True)
        self._decisions = Counter(
            "creditpolicy_decisions", "Decisions returned, by kind and outcome.", ("kind", "outcome"), registry=registry
        )
        self._refused = Counter(
            "creditpolicy_decisions_refused",
            "Decision requests refused, by kind and problem code.",
            ("kind", "code"),
            registry=registry,
        )
        self._latency = Histogram(
            "creditpolicy_decision_latency_seconds",
            "Time to decide and log one decision.",
            ("kind",),
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._policies = Gauge(
            "creditpolicy_policy_info",
            "The policy versions that decided in this service.",
            ("policy_id", "version", "sha256"),
            multiprocess_mode="max",
            registry=registry,
        )
        self._group_commit = {
            name: Counter(f"creditpolicy_group_commit_{name}", text, registry=registry)
            for name, text in GROUP_COMMIT_COUNTERS.items()
        }
        self._shadow = Counter(
            "creditpolicy_shadow_decisions",
            "Live decisions a challenger decided in shadow, by kind and result (agree, differ, error).",
            ("kind", "result"),
            registry=registry,
        )
        self._shadow_errors = Counter(
            "creditpolicy_shadow_errors",
            "Shadow evaluations that failed (the live decision stood), by kind and error code.",
            ("kind", "code"),
            registry=registry,
        )
        if multiprocess_dir is None:
            self._exposed = registry
        else:
            self._exposed = CollectorRegistry()
            # Registering is what it is called for (it collects for the registry it is given).
            MultiProcessCollector(self._exposed, path=str(multiprocess_dir))  # type: ignore[no-untyped-call]
        # Labelled children by labels, looked up once: labels() takes a lock and builds a tuple.
        self._decided: dict[tuple[str, str], tuple[Counter, Histogram]] = {}
        self._refusals: dict[tuple[str, str], Counter] = {}
        self._policies_seen: set[tuple[str, str, str]] = set()
        self._shadowed: dict[tuple[str, str], list[Counter]] = {}

    def decided(self, kind: str, outcome: str, seconds: float, policy: tuple[str, str, str]) -> None:
        """Count one decision returned to a caller (replays of stored responses included)."""
        children = self._decided.get((kind, outcome))
        if children is None:
            children = (self._decisions.labels(kind, outcome), self._latency.labels(kind))
            self._decided[(kind, outcome)] = children
        children[0].inc()
        children[1].observe(seconds)
        if policy not in self._policies_seen:
            self.policy_in_use(policy)

    def shadowed(self, kind: str, result: str) -> None:
        """Count a challenger's shadow decision: ``agree``, ``differ`` or ``error:<code>``."""
        children = self._shadowed.get((kind, result))
        if children is None:
            outcome, _, code = result.partition(":")
            children = [self._shadow.labels(kind, outcome)]
            if code:
                children.append(self._shadow_errors.labels(kind, code))
            self._shadowed[(kind, result)] = children
        for child in children:
            child.inc()

    def refused(self, kind: str, code: str) -> None:
        """Count a decision request answered with a problem."""
        child = self._refusals.get((kind, code))
        if child is None:
            child = self._refusals[(kind, code)] = self._refused.labels(kind, code)
        child.inc()

    def policy_in_use(self, policy: tuple[str, str, str]) -> None:
        """Name a version in force (readiness finds it) or one that decided."""
        self._policies.labels(*policy).set(1)
        self._policies_seen.add(policy)

    def group_commit_counted(self, name: str, amount: int) -> None:
        """Add to one of the group committer's counters (:data:`GROUP_COMMIT_COUNTERS`); called by its writer thread."""
        self._group_commit[name].inc(amount)

    def render(self) -> bytes:
        """The exposition text (format 0.0.4), of every worker in multiprocess mode."""
        return generate_latest(self._exposed)
