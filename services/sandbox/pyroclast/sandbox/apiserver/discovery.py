"""Discovery documents: /version, /api, /apis, /apis/<g>/<v> and aggregated discovery (v2)."""

from __future__ import annotations

from typing import Any

from .resources import ResourceTable, ResourceType

Obj = dict[str, Any]

VERSION = {
    "major": "1",
    "minor": "37",
    "emulationMajor": "1",
    "emulationMinor": "37",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "36",
    "gitVersion": "v1.37.0-pyroclast",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.25",
    "compiler": "gc",
    "platform": "linux/amd64",
}

SERVER_ADDRESS = [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}]


def _sub_verbs(sub: str) -> list[str]:
    if sub in ("binding", "eviction"):
        return ["create"]
    if sub == "log":
        return ["get"]
    if sub == "finalize":
        return ["update"]
    return ["get", "patch", "update"]


def _sub_kind(rt: ResourceType, sub: str) -> tuple[str, str, str]:
    """(group, version, kind) a subresource answers with."""
    if sub == "scale":
        return ("autoscaling", "v1", "Scale")
    if sub == "binding":
        return ("", "", "Binding")
    if sub == "eviction":
        return ("policy", "v1", "Eviction")
    if sub == "log":
        return ("", "", "Pod")
    return (rt.group, rt.version, rt.kind)


def api_versions(server_address: str) -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def api_group_list(types: ResourceTable) -> Obj:
    groups = []
    for group, versions in types.groups():
        if not group:
            continue
        gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        groups.append({"name": group, "versions": gvs, "preferredVersion": gvs[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(types: ResourceTable, group: str) -> Obj | None:
    for g, versions in types.groups():
        if g == group and g:
            gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
            return {
                "kind": "APIGroup",
                "apiVersion": "v1",
                "name": group,
                "versions": gvs,
                "preferredVersion": gvs[0],
            }
    return None


def resource_list(types: ResourceTable, group: str, version: str) -> Obj | None:
    rts = types.in_group_version(group, version)
    if not rts:
        return None
    resources: list[Obj] = []
    for rt in sorted(rts, key=lambda r: r.plural):
        entry: Obj = {
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": sorted(rt.verbs),
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        resources.append(entry)
        for sub in rt.subresources:
            g, v, k = _sub_kind(rt, sub)
            sub_entry: Obj = {
                "name": f"{rt.plural}/{sub}",
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": k,
                "verbs": _sub_verbs(sub),
            }
            if g or v:
                sub_entry["group"], sub_entry["version"] = g, v
            resources.append(sub_entry)
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}


def aggregated(types: ResourceTable, legacy: bool) -> Obj:
    """apidiscovery.k8s.io/v2 APIGroupDiscoveryList for /api (legacy=True) or /apis."""
    items = []
    for group, versions in types.groups():
        if (group == "") != legacy:
            continue
        version_entries = []
        for version in versions:
            resources = []
            for rt in sorted(types.in_group_version(group, version), key=lambda r: r.plural):
                entry: Obj = {
                    "resource": rt.plural,
                    "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
                    "scope": "Namespaced" if rt.namespaced else "Cluster",
                    "singularResource": rt.singular,
                    "verbs": sorted(rt.verbs),
                }
                if rt.short_names:
                    entry["shortNames"] = list(rt.short_names)
                if rt.categories:
                    entry["categories"] = list(rt.categories)
                subs = []
                for sub in rt.subresources:
                    g, v, k = _sub_kind(rt, sub)
                    subs.append(
                        {
                            "subresource": sub,
                            "responseKind": {"group": g, "version": v or rt.version, "kind": k},
                            "verbs": _sub_verbs(sub),
                        }
                    )
                if subs:
                    entry["subresources"] = subs
                resources.append(entry)
            version_entries.append({"version": version, "resources": resources, "freshness": "Current"})
        items.append({"metadata": {"name": group, "creationTimestamp": None}, "versions": version_entries})
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }
