"""Prometheus metrics of the scheduler service (one registry per service instance)."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["SchedulerMetrics"]

_DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_COUNT_BUCKETS = (0, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500)


class SchedulerMetrics:
    """Session timings, decisions, pending jobs and cache sizes."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.session_duration = Histogram(
            "pyroclast_scheduler_session_duration_seconds",
            "Duration of a scheduling session (snapshot to published decisions)",
            registry=r,
            buckets=_DURATION_BUCKETS,
        )
        self.sessions = Counter("pyroclast_scheduler_sessions", "Sessions run", ["result"], registry=r)
        self.decisions_per_session = Histogram(
            "pyroclast_scheduler_decisions_per_session",
            "Decisions published by one session",
            registry=r,
            buckets=_COUNT_BUCKETS,
        )
        self.decisions = Counter("pyroclast_scheduler_decisions", "Decisions published", ["type"], registry=r)
        self.publish_failures = Counter(
            "pyroclast_scheduler_publish_failures", "Decision batches not confirmed by JetStream", registry=r
        )
        self.pending_jobs = Gauge(
            "pyroclast_scheduler_pending_jobs", "Jobs left waiting by the last session", registry=r
        )
        self.cache_size = Gauge(
            "pyroclast_scheduler_cache_records", "Records in the scheduler cache", ["kind"], registry=r
        )
        self.decision_failures = Counter(
            "pyroclast_scheduler_decision_failures", "Decisions binders gave up on", registry=r
        )
        self.conf_errors = Counter("pyroclast_scheduler_conf_errors", "Scheduler confs rejected", registry=r)
        self.conf_reloads = Counter(
            "pyroclast_scheduler_conf_reloads", "Scheduler confs reloaded", registry=r
        )

    def set_cache_sizes(self, sizes: Mapping[str, int]) -> None:
        for kind, size in sizes.items():
            self.cache_size.labels(kind=kind).set(size)
