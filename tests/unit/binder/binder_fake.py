"""An in-memory BinderApi for the binder's unit tests."""

from __future__ import annotations

import copy
from typing import Any

from pyroclast.controller.binder.api import ApiFailure

Obj = dict[str, Any]


def make_pod(
    name: str,
    *,
    ns: str = "ns",
    group: str = "pg",
    node: str = "",
    uid: str = "",
    labels: dict[str, str] | None = None,
) -> Obj:
    return {
        "metadata": {
            "namespace": ns,
            "name": name,
            "uid": uid or f"uid-{name}",
            "resourceVersion": "1",
            "annotations": {"scheduling.k8s.io/group-name": group} if group else {},
            "labels": labels or {},
        },
        "spec": {"nodeName": node} if node else {},
        "status": {"phase": "Pending"},
    }


class FakeApi:
    def __init__(self) -> None:
        self.pods: dict[tuple[str, str], Obj] = {}
        self.podgroups: dict[tuple[str, str], Obj] = {}
        self.events: list[Obj] = []
        self.event_patches: list[tuple[str, Obj]] = []
        self.calls: list[str] = []
        self.selectors: list[str] = []
        self.fail_next: dict[str, ApiFailure | Exception] = {}

    def add_pod(self, pod: Obj) -> None:
        meta = pod["metadata"]
        self.pods[(meta["namespace"], meta["name"])] = pod

    def add_podgroup(
        self, ns: str, name: str, *, uid: str = "", status: Obj | None = None, owner_job: str = ""
    ) -> None:
        meta: Obj = {"namespace": ns, "name": name, "uid": uid or f"pg-{name}", "resourceVersion": "7"}
        if owner_job:
            meta["ownerReferences"] = [
                {"apiVersion": "batch.volcano.sh/v1alpha1", "kind": "Job", "name": owner_job, "uid": "j"}
            ]
        self.podgroups[(ns, name)] = {
            "metadata": meta,
            "spec": {"minMember": 1},
            "status": status or {},
        }

    def _maybe_fail(self, call: str) -> None:
        self.calls.append(call)
        err = self.fail_next.pop(call, None)
        if err is not None:
            raise err

    async def get_pod(self, namespace: str, name: str) -> Obj | None:
        self._maybe_fail("get_pod")
        pod = self.pods.get((namespace, name))
        return copy.deepcopy(pod) if pod is not None else None

    async def bind_pod(self, namespace: str, name: str, uid: str, node: str) -> None:
        self._maybe_fail("bind_pod")
        pod = self.pods.get((namespace, name))
        if pod is None:
            raise ApiFailure(404, "NotFound", f'pods "{name}" not found')
        if uid and pod["metadata"]["uid"] != uid:
            raise ApiFailure(409, "Conflict", "Precondition failed: UID in precondition")
        if pod["metadata"].get("deletionTimestamp"):
            raise ApiFailure(409, "Conflict", f"pod {name} is being deleted")
        if pod["spec"].get("nodeName"):
            raise ApiFailure(409, "Conflict", f"pod {name} is already assigned")
        pod["spec"]["nodeName"] = node

    async def evict_pod(self, namespace: str, name: str, uid: str) -> None:
        self._maybe_fail("evict_pod")
        if self.pods.pop((namespace, name), None) is None:
            raise ApiFailure(404, "NotFound", "gone")

    async def list_pods(self, namespace: str, label_selector: str = "") -> list[Obj]:
        self._maybe_fail("list_pods")
        self.selectors.append(label_selector)
        wanted = dict(term.split("=", 1) for term in label_selector.split(",") if term)
        return [
            copy.deepcopy(p)
            for (ns, _), p in sorted(self.pods.items())
            if ns == namespace and all(p["metadata"].get("labels", {}).get(k) == v for k, v in wanted.items())
        ]

    async def replace_pod_status(self, pod: Obj) -> None:
        self._maybe_fail("replace_pod_status")
        meta = pod["metadata"]
        stored = self.pods[(meta["namespace"], meta["name"])]
        if meta.get("resourceVersion") != stored["metadata"]["resourceVersion"]:
            raise ApiFailure(409, "Conflict", "the object has been modified")
        stored["status"] = copy.deepcopy(pod["status"])
        stored["metadata"]["resourceVersion"] = str(int(stored["metadata"]["resourceVersion"]) + 1)

    async def get_podgroup(self, namespace: str, name: str) -> Obj | None:
        self._maybe_fail("get_podgroup")
        pg = self.podgroups.get((namespace, name))
        return copy.deepcopy(pg) if pg is not None else None

    async def patch_podgroup(self, namespace: str, name: str, patch: Obj) -> None:
        self._maybe_fail("patch_podgroup")
        pg = self.podgroups.get((namespace, name))
        if pg is None:
            raise ApiFailure(404, "NotFound", "gone")
        version = patch.get("metadata", {}).get("resourceVersion")
        if version is not None and version != pg["metadata"]["resourceVersion"]:
            raise ApiFailure(409, "Conflict", "the object has been modified")
        pg["status"] = {**pg["status"], **patch["status"]}
        pg["metadata"]["resourceVersion"] = str(int(pg["metadata"]["resourceVersion"]) + 1)

    async def create_event(self, namespace: str, event: Obj) -> None:
        self._maybe_fail("create_event")
        self.events.append(event)

    async def patch_event(self, namespace: str, name: str, patch: Obj) -> None:
        self._maybe_fail("patch_event")
        for event in self.events:
            if event["metadata"]["name"] == name:
                event.update(patch)
                self.event_patches.append((name, patch))
                return
        raise ApiFailure(404, "NotFound", f'events "{name}" not found')

    def reasons(self) -> list[tuple[str, str, str]]:
        return [(e["involvedObject"]["name"], e["reason"], e["message"]) for e in self.events]
