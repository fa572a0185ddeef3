"""``volcano-scheduler.conf``: actions, tiers of plugins with their switches, action configurations.

``parse_conf`` mirrors Volcano's ``UnmarshalSchedulerConf``: every ``enableXxx`` switch a
plugin leaves out defaults to true (``ApplyPluginConfDefaults``), ``enableHierarchy`` and
``enabledClusterOrder`` to false; unknown keys are ignored as YAML decoding does there.
Names are checked against Volcano's and against what this scheduler has registered.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import yaml

__all__ = [
    "EXTENSION_KEYS",
    "KNOWN_ACTIONS",
    "KNOWN_PLUGINS",
    "VOLCANO_DEFAULT_CONF",
    "ActionConfiguration",
    "Arguments",
    "ConfError",
    "ExtensionPoint",
    "PluginOption",
    "SchedulerConf",
    "Tier",
    "default_conf",
    "parse_conf",
]

VOLCANO_DEFAULT_CONF = """\
actions: "enqueue, allocate, backfill"
tiers:
- plugins:
  - name: priority
  - name: gang
  - name: conformance
- plugins:
  - name: overcommit
  - name: drf
  - name: predicates
  - name: proportion
  - name: nodeorder
"""

KNOWN_ACTIONS = frozenset(
    {"enqueue", "allocate", "backfill", "preempt", "reclaim", "shuffle", "gangpreempt", "gangreclaim"}
)
KNOWN_PLUGINS = frozenset(
    {
        "binpack", "capacity", "cdp", "conformance", "deviceshare", "drf", "extender", "gang",
        "network-topology-aware", "nodegroup", "nodeorder", "numaaware", "overcommit", "pdb",
        "predicates", "priority", "proportion", "rescheduling", "resource-strategy-fit",
        "resourcequota", "sla", "task-topology", "tdm", "usage",
    }
)  # fmt: skip


class ConfError(ValueError):
    """A configuration that cannot be used; the message names the field."""


class ExtensionPoint(StrEnum):
    """The switchable extension points of a plugin option."""

    JOB_ORDER = "jobOrder"
    JOB_READY = "jobReady"
    JOB_PIPELINED = "jobPipelined"
    JOB_ENQUEUED = "jobEnqueued"
    TASK_ORDER = "taskOrder"
    PREEMPTABLE = "preemptable"
    RECLAIMABLE = "reclaimable"
    PREEMPTIVE = "preemptive"
    QUEUE_ORDER = "queueOrder"
    CLUSTER_ORDER = "clusterOrder"
    PREDICATE = "predicate"
    BEST_NODE = "bestNode"
    NODE_ORDER = "nodeOrder"
    TARGET_JOB = "targetJob"
    RESERVED_NODES = "reservedNodes"
    VICTIM = "victim"
    JOB_STARVING = "jobStarving"
    OVERUSED = "overused"
    ALLOCATABLE = "allocatable"
    HYPER_NODE_ORDER = "hyperNodeOrder"
    SUB_JOB_READY = "subJobReady"
    SUB_JOB_PIPELINED = "subJobPipelined"
    SUB_JOB_ORDER = "subJobOrder"
    HYPER_NODE_GRADIENT = "hyperNodeGradient"


E = ExtensionPoint
#: YAML key of each switch, spelled as Volcano spells it (some ``enable``, some ``enabled``).
EXTENSION_KEYS: Mapping[ExtensionPoint, str] = MappingProxyType(
    {
        E.JOB_ORDER: "enableJobOrder",
        E.JOB_READY: "enableJobReady",
        E.JOB_PIPELINED: "enableJobPipelined",
        E.JOB_ENQUEUED: "enableJobEnqueued",
        E.TASK_ORDER: "enableTaskOrder",
        E.PREEMPTABLE: "enablePreemptable",
        E.RECLAIMABLE: "enableReclaimable",
        E.PREEMPTIVE: "enablePreemptive",
        E.QUEUE_ORDER: "enableQueueOrder",
        E.CLUSTER_ORDER: "enabledClusterOrder",
        E.PREDICATE: "enablePredicate",
        E.BEST_NODE: "enableBestNode",
        E.NODE_ORDER: "enableNodeOrder",
        E.TARGET_JOB: "enableTargetJob",
        E.RESERVED_NODES: "enableReservedNodes",
        E.VICTIM: "enabledVictim",
        E.JOB_STARVING: "enableJobStarving",
        E.OVERUSED: "enabledOverused",
        E.ALLOCATABLE: "enabledAllocatable",
        E.HYPER_NODE_ORDER: "enabledHyperNodeOrder",
        E.SUB_JOB_READY: "enabledSubJobReady",
        E.SUB_JOB_PIPELINED: "enabledSubJobPipelined",
        E.SUB_JOB_ORDER: "enabledSubJobOrder",
        E.HYPER_NODE_GRADIENT: "enabledHyperNodeGradient",
    }
)
# Not set by ApplyPluginConfDefaults: absent means off.
_DEFAULT_OFF = frozenset({E.CLUSTER_ORDER})


class Arguments(dict[str, Any]):
    """Plugin or action arguments with Volcano's lenient getters (a bad value keeps the default)."""

    def get_bool(self, key: str, default: bool) -> bool:
        v = self.get(key)
        if isinstance(v, bool):
            return v
        if isinstance(v, str):
            low = v.strip()
            if low in ("1", "t", "T", "true", "TRUE", "True"):
                return True
            if low in ("0", "f", "F", "false", "FALSE", "False"):
                return False
        return default

    def get_int(self, key: str, default: int) -> int:
        v = self.get(key)
        return v if isinstance(v, int) and not isinstance(v, bool) else default

    def get_float(self, key: str, default: float) -> float:
        v = self.get(key)
        if isinstance(v, bool):
            return default
        return float(v) if isinstance(v, int | float) else default

    def get_str(self, key: str, default: str) -> str:
        v = self.get(key)
        return v if isinstance(v, str) else default


@dataclass(frozen=True)
class PluginOption:
    """One plugin in a tier: its name, switches and arguments."""

    name: str
    switches: Mapping[ExtensionPoint, bool] = field(default_factory=dict)
    enable_hierarchy: bool = False
    arguments: Arguments = field(default_factory=Arguments)

    def enabled(self, point: ExtensionPoint) -> bool:
        return self.switches.get(point, point not in _DEFAULT_OFF)


@dataclass(frozen=True)
class Tier:
    plugins: tuple[PluginOption, ...]


@dataclass(frozen=True)
class ActionConfiguration:
    name: str
    arguments: Arguments = field(default_factory=Arguments)


@dataclass(frozen=True)
class SchedulerConf:
    """A parsed ``volcano-scheduler.conf``."""

    actions: tuple[str, ...]
    tiers: tuple[Tier, ...]
    configurations: tuple[ActionConfiguration, ...] = ()
    metrics: Mapping[str, str] = field(default_factory=dict)

    def action_arguments(self, action: str) -> Arguments:
        """The arguments configured for ``action`` (Volcano's ``GetArgOfActionFromConf``)."""
        for c in self.configurations:
            if c.name == action:
                return c.arguments
        return Arguments()

    def plugin_names(self) -> list[str]:
        return [p.name for t in self.tiers for p in t.plugins]


# -- parsing ------------------------------------------------------------------------------


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ConfError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _list(value: object, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _plugin(raw: object, where: str, available: Collection[str]) -> PluginOption:
    m = _mapping(raw, where)
    name = m.get("name")
    if not isinstance(name, str) or not name:
        raise ConfError(f"{where}.name: expected a plugin name")
    if name not in KNOWN_PLUGINS and name not in available:
        raise ConfError(f'{where}.name: unknown plugin "{name}"')
    if name not in available:
        raise ConfError(f'{where}.name: plugin "{name}" is not available')
    switches: dict[ExtensionPoint, bool] = {}
    for point, key in EXTENSION_KEYS.items():
        if key in m and m[key] is not None:
            if not isinstance(m[key], bool):
                raise ConfError(f"{where}.{key}: expected true or false, got {m[key]!r}")
            switches[point] = m[key]
    hierarchy = m.get("enableHierarchy")
    if hierarchy is not None and not isinstance(hierarchy, bool):
        raise ConfError(f"{where}.enableHierarchy: expected true or false, got {hierarchy!r}")
    args = Arguments(_mapping(m.get("arguments"), f"{where}.arguments"))
    return PluginOption(name=name, switches=switches, enable_hierarchy=bool(hierarchy), arguments=args)


def parse_conf(
    text: str, *, plugins: Collection[str] | None = None, actions: Collection[str] | None = None
) -> SchedulerConf:
    """Parse a ``volcano-scheduler.conf``; ``plugins``/``actions`` default to the registered ones."""
    if plugins is None or actions is None:
        from pyroclast.scheduler.framework.registry import ACTIONS, PLUGINS, load_builtins

        load_builtins()
        plugins = PLUGINS if plugins is None else plugins
        actions = ACTIONS if actions is None else actions
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfError(f"invalid YAML: {exc}") from exc
    root = _mapping(doc, "<root>")

    raw_actions = root.get("actions", "")
    if not isinstance(raw_actions, str):
        raise ConfError(f"actions: expected a comma-separated string, got {type(raw_actions).__name__}")
    names = [a.strip() for a in raw_actions.split(",")]
    for i, name in enumerate(names):
        if name not in KNOWN_ACTIONS and name not in actions:
            raise ConfError(f'actions[{i}]: unknown action "{name}"')
        if name not in actions:
            raise ConfError(f'actions[{i}]: action "{name}" is not available')

    tiers: list[Tier] = []
    for ti, raw_tier in enumerate(_list(root.get("tiers"), "tiers")):
        where = f"tiers[{ti}]"
        tier_map = _mapping(raw_tier, where)
        opts = tuple(
            _plugin(raw, f"{where}.plugins[{pi}]", plugins)
            for pi, raw in enumerate(_list(tier_map.get("plugins"), f"{where}.plugins"))
        )
        tier_names = {o.name for o in opts}
        if "proportion" in tier_names and any(o.name == "drf" and o.enable_hierarchy for o in opts):
            raise ConfError(f"{where}: proportion and drf with hierarchy enabled conflicts")
        tiers.append(Tier(plugins=opts))

    configurations: list[ActionConfiguration] = []
    for ci, raw in enumerate(_list(root.get("configurations"), "configurations")):
        m = _mapping(raw, f"configurations[{ci}]")
        cname = m.get("name")
        if not isinstance(cname, str):
            raise ConfError(f"configurations[{ci}].name: expected an action name")
        cargs = Arguments(_mapping(m.get("arguments"), f"configurations[{ci}].arguments"))
        configurations.append(ActionConfiguration(name=cname, arguments=cargs))

    metrics = _mapping(root.get("metrics"), "metrics")
    if not all(isinstance(v, str) for v in metrics.values()):
        raise ConfError("metrics: expected string values")
    return SchedulerConf(
        actions=tuple(names),
        tiers=tuple(tiers),
        configurations=tuple(configurations),
        metrics=dict(metrics),
    )


def default_conf() -> SchedulerConf:
    """Volcano's default configuration (needs every plugin it names to be registered)."""
    return parse_conf(VOLCANO_DEFAULT_CONF)
