"""Prometheus metrics of the controller (default registry, served on ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

WORKQUEUE_DEPTH = Gauge("pyroclast_controller_workqueue_depth", "Keys waiting in a work queue", ["queue"])
RECONCILE_SECONDS = Histogram(
    "pyroclast_controller_reconcile_seconds",
    "Time to handle one job key",
    ["controller"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
RECONCILE_ERRORS = Counter(
    "pyroclast_controller_reconcile_errors_total", "Job keys whose handling failed", ["controller"]
)
PUBLISHER_LAG = Histogram(
    "pyroclast_controller_publisher_lag_seconds",
    "Time from receiving an API event to its KV put or delete",
    ["bucket"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
PUBLISHER_WRITES = Counter(
    "pyroclast_controller_publisher_writes_total", "KV writes by the cache publisher", ["bucket", "op"]
)
PUBLISHER_ERRORS = Counter(
    "pyroclast_controller_publisher_errors_total", "KV writes that failed and were retried", ["bucket"]
)
IS_LEADER = Gauge("pyroclast_controller_is_leader", "1 while this replica holds the leader lease")
