"""Prometheus metrics in the text exposition format, kept in process (no client library needed).

Exposed at ``/metrics``::

    creditpolicy_decisions_total{kind,outcome}            counter
    creditpolicy_decisions_refused_total{kind,code}       counter (422/409 and the like)
    creditpolicy_decision_latency_seconds{kind}           histogram
    creditpolicy_policy_info{policy_id,version,sha256} 1  the versions that decided in this process

With several workers each process counts its own decisions (scrape each, or run one worker).
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Mapping

__all__ = ["LATENCY_BUCKETS", "Metrics"]

# Seconds; a decision takes about a millisecond, a slow database tens of them.
LATENCY_BUCKETS: tuple[float, ...] = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{_label(v)}"' for k, v in labels.items()) + "}"


def _number(value: float) -> str:
    return repr(float(value)) if value != int(value) else str(int(value))


_GROUP_COMMIT_HELP = {
    "groups": "Transactions that stored the decisions of two or more requests together.",
    "grouped_steps": "Decisions stored in those shared transactions.",
    "lone_steps": "Decisions stored in a transaction of their own (alone, or after their group failed).",
    "failed_groups": "Shared transactions rolled back and redone decision by decision.",
}


class _Histogram:
    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)  # the last slot is +Inf
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.total += seconds


class Metrics:
    """Counters and a latency histogram, safe to update from the worker threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._decisions: dict[tuple[str, str], int] = defaultdict(int)
        self._refused: dict[tuple[str, str], int] = defaultdict(int)
        self._latency: dict[str, _Histogram] = defaultdict(_Histogram)
        self._policies: set[tuple[str, str, str]] = set()

    def decided(self, kind: str, outcome: str, seconds: float, policy: tuple[str, str, str]) -> None:
        """Count one decision returned to a caller (replays of stored responses included)."""
        with self._lock:
            self._decisions[(kind, outcome)] += 1
            self._latency[kind].observe(seconds)
            self._policies.add(policy)

    def refused(self, kind: str, code: str) -> None:
        """Count a decision request answered with a problem."""
        with self._lock:
            self._refused[(kind, code)] += 1

    def render(self, group_commit: Mapping[str, int] | None = None) -> str:
        """The exposition text (format 0.0.4); ``group_commit``: the group committer's counters."""
        with self._lock:
            lines = [
                "# HELP creditpolicy_decisions_total Decisions returned, by kind and outcome.",
                "# TYPE creditpolicy_decisions_total counter",
            ]
            for (kind, outcome), n in sorted(self._decisions.items()):
                lines.append(f"creditpolicy_decisions_total{_labels(kind=kind, outcome=outcome)} {n}")
            lines += [
                "# HELP creditpolicy_decisions_refused_total Decision requests refused, by kind and problem code.",
                "# TYPE creditpolicy_decisions_refused_total counter",
            ]
            for (kind, code), n in sorted(self._refused.items()):
                lines.append(f"creditpolicy_decisions_refused_total{_labels(kind=kind, code=code)} {n}")
            lines += [
                "# HELP creditpolicy_decision_latency_seconds Time to decide and log one decision.",
                "# TYPE creditpolicy_decision_latency_seconds histogram",
            ]
            for kind, histogram in sorted(self._latency.items()):
                cumulative = 0
                for bound, count in zip((*LATENCY_BUCKETS, None), histogram.counts, strict=True):
                    cumulative += count
                    le = "+Inf" if bound is None else _number(bound)
                    bucket = _labels(kind=kind, le=le)
                    lines.append(f"creditpolicy_decision_latency_seconds_bucket{bucket} {cumulative}")
                lines.append(f"creditpolicy_decision_latency_seconds_sum{_labels(kind=kind)} {histogram.total!r}")
                lines.append(f"creditpolicy_decision_latency_seconds_count{_labels(kind=kind)} {cumulative}")
            lines += [
                "# HELP creditpolicy_policy_info The policy versions that decided in this process.",
                "# TYPE creditpolicy_policy_info gauge",
            ]
            for policy_id, version, sha256 in sorted(self._policies):
                info = _labels(policy_id=policy_id, version=version, sha256=sha256)
                lines.append(f"creditpolicy_policy_info{info} 1")
        for name, value in sorted((group_commit or {}).items()):
            metric = f"creditpolicy_group_commit_{name}_total"
            lines += [f"# HELP {metric} {_GROUP_COMMIT_HELP[name]}", f"# TYPE {metric} counter", f"{metric} {value}"]
        return "\n".join(lines) + "\n"

    def policy_in_use(self, policy: tuple[str, str, str]) -> None:
        """Name a version in force (readiness finds it) before any decision used it."""
        with self._lock:
            self._policies.add(policy)
