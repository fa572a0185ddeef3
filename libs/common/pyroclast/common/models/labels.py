"""Well-known label and annotation keys used by Volcano objects and the pods they own."""

from __future__ import annotations

from typing import Final

# Labels and annotations the job controller puts on pods and podgroups.
JOB_NAME_KEY: Final = "volcano.sh/job-name"
JOB_NAMESPACE_KEY: Final = "volcano.sh/job-namespace"
JOB_VERSION_KEY: Final = "volcano.sh/job-version"
JOB_TYPE_KEY: Final = "volcano.sh/job-type"
JOB_RETRY_COUNT_KEY: Final = "volcano.sh/job-retry-count"
TASK_SPEC_KEY: Final = "volcano.sh/task-spec"
TASK_INDEX_KEY: Final = "volcano.sh/task-index"
TASK_PARTITION_ID_KEY: Final = "volcano.sh/partition-id"
QUEUE_NAME_KEY: Final = "volcano.sh/queue-name"
POD_TEMPLATE_KEY: Final = "volcano.sh/template-uid"
JOB_FORWARDING_KEY: Final = "volcano.sh/job-forwarding"
FORWARD_CLUSTER_KEY: Final = "volcano.sh/forward-cluster"
ORIGINAL_NAME_KEY: Final = "volcano.sh/burst-name"
BURST_TO_SILO_CLUSTER_ANNOTATION: Final = "volcano.sh/silo-resource"
CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION: Final = "volcano.sh/cronjob-scheduled-timestamp"

DEFAULT_TASK_SPEC: Final = "default"
"""Task name used when a pod carries no task-spec label."""
PODGROUP_NAME_PREFIX: Final = "podgroup-"
"""Prefix of the podgroup a job's pods join when not named explicitly."""

# Scheduling annotations (scheduling.volcano.sh/v1beta1).
ANNOTATION_PREFIX: Final = "volcano.sh/"
KUBE_GROUP_NAME_ANNOTATION_KEY: Final = "scheduling.k8s.io/group-name"
VOLCANO_GROUP_NAME_ANNOTATION_KEY: Final = "scheduling.volcano.sh/group-name"
VOLCANO_GROUP_MIN_MEMBER_ANNOTATION_KEY: Final = "scheduling.volcano.sh/group-min-member"
VOLCANO_GROUP_MIN_RESOURCES_ANNOTATION_KEY: Final = "scheduling.volcano.sh/group-min-resources"
QUEUE_NAME_ANNOTATION_KEY: Final = "scheduling.volcano.sh/queue-name"
QUEUE_ALLOCATION_GATE_KEY: Final = "scheduling.volcano.sh/queue-allocation-gate"
NODE_GROUP_NAME_KEY: Final = "volcano.sh/nodegroup-name"
NODE_GROUP_RESOURCE_LIMITS_ANNOTATION_KEY: Final = "volcano.sh/nodegroup-resource-limits"
JOB_WAITING_TIME: Final = "volcano.sh/sla-waiting-time"
KUBE_HIERARCHY_ANNOTATION_KEY: Final = "volcano.sh/hierarchy"
KUBE_HIERARCHY_WEIGHT_ANNOTATION_KEY: Final = "volcano.sh/hierarchy-weights"
POD_PREEMPTABLE: Final = "volcano.sh/preemptable"
COOLDOWN_TIME: Final = "volcano.sh/cooldown-time"
REVOCABLE_ZONE: Final = "volcano.sh/revocable-zone"
JDB_MIN_AVAILABLE: Final = "volcano.sh/jdb-min-available"
JDB_MAX_UNAVAILABLE: Final = "volcano.sh/jdb-max-unavailable"
NUMA_POLICY_KEY: Final = "volcano.sh/numa-topology-policy"
TOPOLOGY_DECISION_ANNOTATION: Final = "volcano.sh/topology-decision"
POD_QOS_LEVEL: Final = "volcano.sh/qos-level"

DEFAULT_QUEUE: Final = "default"
"""Queue a job or podgroup lands in when it names none."""

# Network-topology annotations a plain pod or deployment may carry.
NETWORK_TOPOLOGY_MODE_ANNOTATION_KEY: Final = "volcano.sh/network-topology-mode"
NETWORK_TOPOLOGY_HIGHEST_TIER_ANNOTATION_KEY: Final = "volcano.sh/network-topology-highest-tier"
