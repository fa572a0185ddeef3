"""The Volcano PodGroup controller's decisions: podgroups for pods not created by a Job.

- `build`: which pods get a podgroup, its name and fields, and the pod's annotation patch
- `reconcile`: `reconcile_pod`, `reconcile_replicaset`, `reconcile_statefulset` as `Plan`\\ s

Volcano's controller never writes podgroup status; the scheduler does.
"""

from pyroclast.controller.podgroup.build import (
    DEFAULT_SCHEDULER_NAME,
    build_podgroup,
    owner_references,
    pod_annotation_patch,
    podgroup_for_pod,
    podgroup_name,
    wants_podgroup,
)
from pyroclast.controller.podgroup.reconcile import (
    CreatePodGroup,
    DeletePodGroup,
    PatchPod,
    Plan,
    PodGroupWorld,
    UpdatePodGroup,
    reconcile_pod,
    reconcile_replicaset,
    reconcile_statefulset,
)

__all__ = [
    "DEFAULT_SCHEDULER_NAME",
    "CreatePodGroup",
    "DeletePodGroup",
    "PatchPod",
    "Plan",
    "PodGroupWorld",
    "UpdatePodGroup",
    "build_podgroup",
    "owner_references",
    "pod_annotation_patch",
    "podgroup_for_pod",
    "podgroup_name",
    "reconcile_pod",
    "reconcile_replicaset",
    "reconcile_statefulset",
    "wants_podgroup",
]
