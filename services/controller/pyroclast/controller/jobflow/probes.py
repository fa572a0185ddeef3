"""Probes of ``dependsOn.probe``: requests the runtime runs and whose results it passes back.

Volcano's controller declares but does not evaluate probes; `reconcile_jobflow` only
consults them when `FlowOptions.enforce_probes` is set.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyroclast.common.models.flow import Flow


@dataclass(frozen=True)
class ProbeRequest:
    """One probe of one flow step; ``key`` indexes `JobFlowWorld.probe_results`."""

    flow: str
    kind: str
    """``httpGet``, ``tcpSocket`` or ``taskStatus``."""
    index: int
    task_name: str = ""
    path: str = ""
    port: int | None = None
    phase: str = ""

    @property
    def key(self) -> str:
        return f"{self.flow}/{self.kind}/{self.index}"


def probe_requests(flow: Flow) -> list[ProbeRequest]:
    """Every probe declared by ``flow``, in declaration order."""
    probe = flow.depends_on.probe if flow.depends_on else None
    if probe is None:
        return []
    out: list[ProbeRequest] = []
    for i, http in enumerate(probe.http_get_list or []):
        out.append(ProbeRequest(flow.name, "httpGet", i, http.task_name or "", http.path or "", http.port))
    for i, tcp in enumerate(probe.tcp_socket_list or []):
        out.append(ProbeRequest(flow.name, "tcpSocket", i, tcp.task_name or "", port=tcp.port))
    for i, task in enumerate(probe.task_status_list or []):
        out.append(ProbeRequest(flow.name, "taskStatus", i, task.task_name or "", phase=task.phase or ""))
    return out
