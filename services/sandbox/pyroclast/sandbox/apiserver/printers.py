"""Row printers of the built-in kinds: the columns ``kubectl get`` shows (kube's printers)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]
Col = tuple[str, str, int]  # name, type, priority
Row = list[Any]


def human_duration(seconds: float) -> str:
    """kube's duration.HumanDuration."""
    if seconds < -1:
        return "<invalid>"
    s = int(max(seconds, 0))
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        years, days = hours // 24 // 365, (hours // 24) % 365
        return f"{years}y{days}d" if days else f"{years}y"
    return f"{hours // 24 // 365}y"


def parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def age(value: Any) -> str:
    t = parse_time(value)
    if t is None:
        return "<unknown>"
    return human_duration((dt.datetime.now(dt.UTC) - t).total_seconds())


def metadata_of(o: Obj) -> Obj:
    meta = o.get("metadata")
    return meta if isinstance(meta, dict) else {}


_meta = metadata_of


def _spec(o: Obj) -> Obj:
    v = o.get("spec")
    return v if isinstance(v, dict) else {}


def _status(o: Obj) -> Obj:
    v = o.get("status")
    return v if isinstance(v, dict) else {}


def _created(o: Obj) -> str:
    return age(_meta(o).get("creationTimestamp"))


def _or_none(v: Any) -> Any:
    return v if v not in (None, "", []) else "<none>"


def _pod_row(o: Obj) -> Row:
    spec, st = _spec(o), _status(o)
    containers = spec.get("containers") or []
    restarts = ready = 0
    reason = st.get("reason") or st.get("phase") or ""
    initializing = False
    init_statuses = st.get("initContainerStatuses") or []
    for i, cs in enumerate(init_statuses):
        restarts += int(cs.get("restartCount", 0) or 0)
        state = cs.get("state") or {}
        term = state.get("terminated")
        if term and term.get("exitCode") == 0:
            continue
        if term:
            reason = "Init:" + (term.get("reason") or f"ExitCode:{term.get('exitCode')}")
        elif (state.get("waiting") or {}).get("reason") not in (None, "", "PodInitializing"):
            reason = "Init:" + state["waiting"]["reason"]
        else:
            reason = f"Init:{i}/{len(spec.get('initContainers') or [])}"
        initializing = True
        break
    if not initializing:
        has_running = False
        for cs in reversed(st.get("containerStatuses") or []):
            restarts += int(cs.get("restartCount", 0) or 0)
            state = cs.get("state") or {}
            waiting, term = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif term and term.get("reason"):
                reason = term["reason"]
            elif term:
                reason = (
                    f"Signal:{term['signal']}" if term.get("signal") else f"ExitCode:{term.get('exitCode')}"
                )
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            conds = {c.get("type"): c.get("status") for c in st.get("conditions") or ()}
            reason = "Running" if conds.get("Ready") == "True" else "NotReady"
    if _meta(o).get("deletionTimestamp"):
        reason = "Unknown" if st.get("reason") == "NodeLost" else "Terminating"
    gates = spec.get("readinessGates") or []
    gate_text = "<none>"
    if gates:
        conds = {c.get("type"): c.get("status") for c in st.get("conditions") or ()}
        ok = sum(1 for g in gates if conds.get(g.get("conditionType")) == "True")
        gate_text = f"{ok}/{len(gates)}"
    return [
        _meta(o).get("name", ""),
        f"{ready}/{len(containers)}",
        reason,
        restarts,
        _created(o),
        _or_none(st.get("podIP")),
        _or_none(spec.get("nodeName")),
        _or_none(st.get("nominatedNodeName")),
        gate_text,
    ]


def _node_row(o: Obj) -> Row:
    spec, st = _spec(o), _status(o)
    conds = {c.get("type"): c.get("status") for c in st.get("conditions") or ()}
    state = {"True": "Ready", "False": "NotReady"}.get(conds.get("Ready", ""), "Unknown")
    if spec.get("unschedulable"):
        state += ",SchedulingDisabled"
    roles = sorted(
        k.split("/", 1)[1] for k in (_meta(o).get("labels") or {}) if k.startswith("node-role.kubernetes.io/")
    )
    role_label = (_meta(o).get("labels") or {}).get("kubernetes.io/role")
    if role_label:
        roles.append(role_label)
    addresses = {a.get("type"): a.get("address") for a in st.get("addresses") or ()}
    info = st.get("nodeInfo") or {}
    return [
        _meta(o).get("name", ""),
        state,
        ",".join(roles) or "<none>",
        _created(o),
        info.get("kubeletVersion", ""),
        _or_none(addresses.get("InternalIP")),
        _or_none(addresses.get("ExternalIP")),
        _or_none(info.get("osImage")),
        _or_none(info.get("kernelVersion")),
        _or_none(info.get("containerRuntimeVersion")),
    ]


def _ports(ports: list[Any]) -> str:
    parts = []
    for p in ports or []:
        text = f"{p.get('port')}"
        if p.get("nodePort"):
            text += f":{p['nodePort']}"
        parts.append(f"{text}/{p.get('protocol', 'TCP')}")
    return ",".join(parts) or "<none>"


def _selector_text(sel: Any) -> str:
    if not isinstance(sel, dict):
        return "<none>"
    labels = sel.get("matchLabels") if "matchLabels" in sel or "matchExpressions" in sel else sel
    parts = [f"{k}={v}" for k, v in sorted((labels or {}).items())]
    for e in sel.get("matchExpressions") or () if "matchExpressions" in sel else ():
        op = e.get("operator", "")
        if op in ("In", "NotIn"):
            parts.append(f"{e.get('key')} {op.lower()} ({','.join(e.get('values') or [])})")
        elif op == "Exists":
            parts.append(str(e.get("key")))
        else:
            parts.append(f"!{e.get('key')}")
    return ",".join(parts) or "<none>"


def _template_containers(o: Obj) -> tuple[str, str]:
    cs = (((_spec(o).get("template") or {}).get("spec")) or {}).get("containers") or []
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)


def _deployment_row(o: Obj) -> Row:
    spec, st = _spec(o), _status(o)
    names, images = _template_containers(o)
    return [
        _meta(o).get("name", ""),
        f"{st.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
        st.get("updatedReplicas", 0),
        st.get("availableReplicas", 0),
        _created(o),
        names,
        images,
        _selector_text(spec.get("selector")),
    ]


def _replicaset_row(o: Obj) -> Row:
    spec, st = _spec(o), _status(o)
    names, images = _template_containers(o)
    return [
        _meta(o).get("name", ""),
        spec.get("replicas", 0),
        st.get("replicas", 0),
        st.get("readyReplicas", 0),
        _created(o),
        names,
        images,
        _selector_text(spec.get("selector")),
    ]


def _event_row(o: Obj) -> Row:
    if o.get("apiVersion") == "events.k8s.io/v1":
        from .conversion import v1_event_to_core

        o = {**v1_event_to_core(o), "metadata": _meta(o)}
    inv = o.get("involvedObject") or {}
    last = o.get("lastTimestamp") or o.get("eventTime") or (o.get("series") or {}).get("lastObservedTime")
    first = o.get("firstTimestamp") or o.get("eventTime")
    source = (o.get("source") or {}).get("component") or o.get("reportingComponent") or ""
    return [
        age(last) if last else "<unknown>",
        o.get("type", ""),
        o.get("reason", ""),
        f"{str(inv.get('kind', '')).lower()}/{inv.get('name', '')}",
        inv.get("fieldPath", ""),
        source,
        o.get("message", ""),
        age(first) if first else "<unknown>",
        o.get("count", 1) or 1,
        _meta(o).get("name", ""),
    ]


def _job_row(o: Obj) -> Row:
    spec, st = _spec(o), _status(o)
    conds = {c.get("type"): c.get("status") for c in st.get("conditions") or ()}
    state = "Running"
    if conds.get("Complete") == "True":
        state = "Complete"
    elif conds.get("Failed") == "True":
        state = "Failed"
    elif spec.get("suspend"):
        state = "Suspended"
    start, end = parse_time(st.get("startTime")), parse_time(st.get("completionTime"))
    duration = ""
    if start:
        duration = human_duration(((end or dt.datetime.now(dt.UTC)) - start).total_seconds())
    names, images = _template_containers(o)
    return [
        _meta(o).get("name", ""),
        state,
        f"{st.get('succeeded', 0)}/{spec.get('completions', 1)}",
        duration,
        _created(o),
        names,
        images,
        _selector_text(spec.get("selector")),
    ]


def _controller_of(o: Obj) -> str:
    """``daemonset.apps/name``: the controlling owner as kubectl prints it."""
    for ref in _meta(o).get("ownerReferences") or ():
        if isinstance(ref, dict) and ref.get("controller"):
            api_version = str(ref.get("apiVersion", ""))
            group = api_version.split("/")[0] if "/" in api_version else ""
            kind = str(ref.get("kind", "")).lower()
            return f"{kind}.{group}/{ref.get('name', '')}" if group else f"{kind}/{ref.get('name', '')}"
    return "<none>"


def _named(*cols: Col) -> list[Col]:
    return [("Name", "string", 0), *cols]


AGE: Col = ("Age", "string", 0)

BUILTIN: dict[str, tuple[list[Col], Callable[[Obj], Row]]] = {
    "Pod": (
        _named(
            ("Ready", "string", 0),
            ("Status", "string", 0),
            ("Restarts", "string", 0),
            AGE,
            ("IP", "string", 1),
            ("Node", "string", 1),
            ("Nominated Node", "string", 1),
            ("Readiness Gates", "string", 1),
        ),
        _pod_row,
    ),
    "Node": (
        _named(
            ("Status", "string", 0),
            ("Roles", "string", 0),
            AGE,
            ("Version", "string", 0),
            ("Internal-IP", "string", 1),
            ("External-IP", "string", 1),
            ("OS-Image", "string", 1),
            ("Kernel-Version", "string", 1),
            ("Container-Runtime", "string", 1),
        ),
        _node_row,
    ),
    "Namespace": (
        _named(("Status", "string", 0), AGE),
        lambda o: [_meta(o).get("name", ""), _status(o).get("phase", ""), _created(o)],
    ),
    "Service": (
        _named(
            ("Type", "string", 0),
            ("Cluster-IP", "string", 0),
            ("External-IP", "string", 0),
            ("Port(s)", "string", 0),
            AGE,
            ("Selector", "string", 1),
        ),
        lambda o: [
            _meta(o).get("name", ""),
            _spec(o).get("type", "ClusterIP"),
            _or_none(_spec(o).get("clusterIP")),
            ",".join(
                i.get("ip") or i.get("hostname", "")
                for i in (_status(o).get("loadBalancer") or {}).get("ingress") or ()
            )
            or ",".join(_spec(o).get("externalIPs") or ())
            or "<none>",
            _ports(_spec(o).get("ports") or []),
            _created(o),
            _selector_text(_spec(o).get("selector")),
        ],
    ),
    "Endpoints": (
        _named(("Endpoints", "string", 0), AGE),
        lambda o: [
            _meta(o).get("name", ""),
            ",".join(
                f"{a.get('ip')}:{p.get('port')}"
                for s in o.get("subsets") or ()
                for a in s.get("addresses") or ()
                for p in s.get("ports") or [{}]
            )
            or "<none>",
            _created(o),
        ],
    ),
    "ConfigMap": (
        _named(("Data", "integer", 0), AGE),
        lambda o: [
            _meta(o).get("name", ""),
            len(o.get("data") or {}) + len(o.get("binaryData") or {}),
            _created(o),
        ],
    ),
    "Secret": (
        _named(("Type", "string", 0), ("Data", "string", 0), AGE),
        lambda o: [
            _meta(o).get("name", ""),
            o.get("type", ""),
            len(o.get("data") or {}) + len(o.get("stringData") or {}),
            _created(o),
        ],
    ),
    "ServiceAccount": (
        _named(("Secrets", "string", 0), AGE),
        lambda o: [_meta(o).get("name", ""), len(o.get("secrets") or ()), _created(o)],
    ),
    "Event": (
        [
            ("Last Seen", "string", 0),
            ("Type", "string", 0),
            ("Reason", "string", 0),
            ("Object", "string", 0),
            ("Subobject", "string", 1),
            ("Source", "string", 1),
            ("Message", "string", 0),
            ("First Seen", "string", 1),
            ("Count", "string", 1),
            ("Name", "string", 1),
        ],
        _event_row,
    ),
    "PersistentVolumeClaim": (
        _named(
            ("Status", "string", 0),
            ("Volume", "string", 0),
            ("Capacity", "string", 0),
            ("Access Modes", "string", 0),
            ("StorageClass", "string", 0),
            ("VolumeAttributesClass", "string", 0),
            AGE,
            ("VolumeMode", "string", 1),
        ),
        lambda o: [
            _meta(o).get("name", ""),
            _status(o).get("phase", ""),
            _spec(o).get("volumeName", ""),
            (_status(o).get("capacity") or {}).get("storage", ""),
            ",".join(
                {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX"}.get(m, m)
                for m in _spec(o).get("accessModes") or ()
            ),
            _or_none(_spec(o).get("storageClassName")),
            _or_none(_spec(o).get("volumeAttributesClassName")),
            _created(o),
            _spec(o).get("volumeMode", ""),
        ],
    ),
    "Deployment": (
        _named(
            ("Ready", "string", 0),
            ("Up-to-date", "string", 0),
            ("Available", "string", 0),
            AGE,
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ),
        _deployment_row,
    ),
    "ReplicaSet": (
        _named(
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            AGE,
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ),
        _replicaset_row,
    ),
    "StatefulSet": (
        _named(("Ready", "string", 0), AGE, ("Containers", "string", 1), ("Images", "string", 1)),
        lambda o: [
            _meta(o).get("name", ""),
            f"{_status(o).get('readyReplicas', 0)}/{_spec(o).get('replicas', 0)}",
            _created(o),
            *_template_containers(o),
        ],
    ),
    "Job": (
        _named(
            ("Status", "string", 0),
            ("Completions", "string", 0),
            ("Duration", "string", 0),
            AGE,
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ),
        _job_row,
    ),
    "Lease": (
        _named(("Holder", "string", 0), AGE),
        lambda o: [_meta(o).get("name", ""), _spec(o).get("holderIdentity", ""), _created(o)],
    ),
    "PriorityClass": (
        _named(
            ("Value", "integer", 0), ("Global-Default", "boolean", 0), AGE, ("PreemptionPolicy", "string", 0)
        ),
        lambda o: [
            _meta(o).get("name", ""),
            o.get("value", 0),
            bool(o.get("globalDefault", False)),
            _created(o),
            o.get("preemptionPolicy", ""),
        ],
    ),
    "NetworkPolicy": (
        _named(("Pod-Selector", "string", 0), AGE),
        lambda o: [_meta(o).get("name", ""), _selector_text(_spec(o).get("podSelector")), _created(o)],
    ),
    "PodDisruptionBudget": (
        _named(
            ("Min Available", "string", 0),
            ("Max Unavailable", "string", 0),
            ("Allowed Disruptions", "integer", 0),
            AGE,
        ),
        lambda o: [
            _meta(o).get("name", ""),
            _spec(o).get("minAvailable", "N/A"),
            _spec(o).get("maxUnavailable", "N/A"),
            _status(o).get("disruptionsAllowed", 0),
            _created(o),
        ],
    ),
    "DaemonSet": (
        _named(
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            ("Node Selector", "string", 0),
            AGE,
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ),
        lambda o: [
            _meta(o).get("name", ""),
            _status(o).get("desiredNumberScheduled", 0),
            _status(o).get("currentNumberScheduled", 0),
            _status(o).get("numberReady", 0),
            _status(o).get("updatedNumberScheduled", 0),
            _status(o).get("numberAvailable", 0),
            ",".join(
                f"{k}={v}"
                for k, v in sorted(
                    (((_spec(o).get("template") or {}).get("spec") or {}).get("nodeSelector") or {}).items()
                )
            )
            or "<none>",
            _created(o),
            *_template_containers(o),
            _selector_text(_spec(o).get("selector")),
        ],
    ),
    "CronJob": (
        _named(
            ("Schedule", "string", 0),
            ("Timezone", "string", 0),
            ("Suspend", "boolean", 0),
            ("Active", "integer", 0),
            ("Last Schedule", "string", 0),
            AGE,
        ),
        lambda o: [
            _meta(o).get("name", ""),
            _spec(o).get("schedule", ""),
            _spec(o).get("timeZone") or "<none>",
            bool(_spec(o).get("suspend", False)),
            len(_status(o).get("active") or ()),
            age(_status(o).get("lastScheduleTime")) if _status(o).get("lastScheduleTime") else "<none>",
            _created(o),
        ],
    ),
    "PersistentVolume": (
        _named(
            ("Capacity", "string", 0),
            ("Access Modes", "string", 0),
            ("Reclaim Policy", "string", 0),
            ("Status", "string", 0),
            ("Claim", "string", 0),
            ("StorageClass", "string", 0),
            ("VolumeAttributesClass", "string", 0),
            ("Reason", "string", 0),
            AGE,
        ),
        lambda o: [
            _meta(o).get("name", ""),
            (_spec(o).get("capacity") or {}).get("storage", ""),
            ",".join(
                {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX"}.get(m, m)
                for m in _spec(o).get("accessModes") or ()
            ),
            _spec(o).get("persistentVolumeReclaimPolicy", ""),
            _status(o).get("phase", ""),
            "/".join(
                x for x in ((_spec(o).get("claimRef") or {}).get(k, "") for k in ("namespace", "name")) if x
            ),
            _spec(o).get("storageClassName", ""),
            _or_none(_spec(o).get("volumeAttributesClassName")),
            _status(o).get("reason", ""),
            _created(o),
        ],
    ),
    "ControllerRevision": (
        _named(("Controller", "string", 0), ("Revision", "integer", 0), AGE),
        lambda o: [
            _meta(o).get("name", ""),
            _controller_of(o),
            o.get("revision", 0),
            _created(o),
        ],
    ),
    "ResourceQuota": (
        _named(AGE, ("Request", "string", 0), ("Limit", "string", 0)),
        lambda o: [
            _meta(o).get("name", ""),
            _created(o),
            ", ".join(
                f"{k}: {(_status(o).get('used') or {}).get(k, '0')}/{v}"
                for k, v in sorted((_spec(o).get("hard") or {}).items())
                if not k.startswith("limits.")
            ),
            ", ".join(
                f"{k}: {(_status(o).get('used') or {}).get(k, '0')}/{v}"
                for k, v in sorted((_spec(o).get("hard") or {}).items())
                if k.startswith("limits.")
            ),
        ],
    ),
    "MutatingWebhookConfiguration": (
        _named(("Webhooks", "integer", 0), AGE),
        lambda o: [_meta(o).get("name", ""), len(o.get("webhooks") or ()), _created(o)],
    ),
    "ValidatingWebhookConfiguration": (
        _named(("Webhooks", "integer", 0), AGE),
        lambda o: [_meta(o).get("name", ""), len(o.get("webhooks") or ()), _created(o)],
    ),
}
