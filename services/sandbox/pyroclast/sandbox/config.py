"""The sandbox's configuration: where it keeps its data, its ports, and its simulated nodes.

It comes from an optional YAML file and from command-line flags (flags win). A file looks
like this; every key is optional::

    dataDir: ./.sandbox
    host: 127.0.0.1
    apiPort: 0            # 0: pick a free port at start
    natsPort: 0
    natsMonitorPort: 0
    crdsDir: deploy/crds
    schedulerConf: ./volcano-scheduler.conf   # the scheduler's conf (default: Volcano's)
    nodes:                # one pool (a mapping) or several (a list of mappings)
      - name: cpu         # nodes are named cpu-0, cpu-1, ...
        count: 2
        cpu: "8"
        memory: 32Gi
        gpus: 0
        pods: 110
        ephemeralStorage: 100Gi
        instanceType: sandbox.large
        labels: {zone: a}
        taints: [{key: dedicated, value: batch, effect: NoSchedule}]
    kubelet:
      leaseDurationSeconds: 20
      renewIntervalSeconds: 2
      statusIntervalSeconds: 10
    controllers:
      nodeMonitorGracePeriodSeconds: 20

Every problem is reported as a :class:`ConfigError` whose text starts with the field
(``nodes[0].cpu: invalid quantity 'lots'``), so a user sees one line that says what to fix.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from pyroclast.sandbox.resources import CPU, EPHEMERAL_STORAGE, MEMORY, QuantityError, to_amount

DEFAULT_DATA_DIR = ".sandbox"
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_LABEL_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


class ConfigError(ValueError):
    """A configuration value that cannot be used; ``str()`` is ``"<field>: <problem>"``."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Taint:
    key: str
    effect: str
    value: str = ""

    def to_api(self) -> dict[str, str]:
        out = {"key": self.key, "effect": self.effect}
        if self.value:
            out["value"] = self.value
        return out


@dataclass(frozen=True)
class NodePool:
    """A group of identical nodes."""

    name: str = "node"
    count: int = 3
    cpu: str = "8"
    memory: str = "32Gi"
    gpus: int = 0
    pods: int = 110
    ephemeral_storage: str = "100Gi"
    instance_type: str = "sandbox.standard"
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()


@dataclass(frozen=True)
class NodeSpec:
    """One simulated node: its name, its position among all nodes, and its pool's shape."""

    name: str
    index: int
    pool: NodePool


@dataclass(frozen=True)
class Timing:
    """Heartbeat periods, in seconds. Shorter than a real cluster's so the sandbox reacts fast."""

    lease_duration_seconds: int = 20
    renew_interval_seconds: float = 2.0
    status_interval_seconds: float = 10.0
    node_monitor_grace_period_seconds: float = 20.0


@dataclass(frozen=True)
class SandboxConfig:
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    host: str = "127.0.0.1"
    api_port: int = 0
    nats_port: int = 0
    nats_monitor_port: int = 0
    crds_dir: Path | None = None
    scheduler_conf: Path | None = None
    """The scheduler's ``volcano-scheduler.conf``; ``None``: Volcano's default conf. The
    scheduler reloads it when the file changes."""
    pools: tuple[NodePool, ...] = (NodePool(),)
    timing: Timing = Timing()

    @property
    def node_count(self) -> int:
        return sum(pool.count for pool in self.pools)

    def nodes(self) -> list[NodeSpec]:
        out: list[NodeSpec] = []
        for pool in self.pools:
            for i in range(pool.count):
                out.append(NodeSpec(name=f"{pool.name}-{i}", index=len(out), pool=pool))
        return out

    def to_document(self) -> dict[str, Any]:
        """The YAML/JSON form, readable back by :func:`parse_document`."""
        return {
            "dataDir": str(self.data_dir),
            "host": self.host,
            "apiPort": self.api_port,
            "natsPort": self.nats_port,
            "natsMonitorPort": self.nats_monitor_port,
            **({"crdsDir": str(self.crds_dir)} if self.crds_dir else {}),
            **({"schedulerConf": str(self.scheduler_conf)} if self.scheduler_conf else {}),
            "nodes": [
                {
                    "name": pool.name,
                    "count": pool.count,
                    "cpu": pool.cpu,
                    "memory": pool.memory,
                    "gpus": pool.gpus,
                    "pods": pool.pods,
                    "ephemeralStorage": pool.ephemeral_storage,
                    "instanceType": pool.instance_type,
                    "labels": dict(pool.labels),
                    "taints": [t.to_api() for t in pool.taints],
                }
                for pool in self.pools
            ],
            "kubelet": {
                "leaseDurationSeconds": self.timing.lease_duration_seconds,
                "renewIntervalSeconds": self.timing.renew_interval_seconds,
                "statusIntervalSeconds": self.timing.status_interval_seconds,
            },
            "controllers": {
                "nodeMonitorGracePeriodSeconds": self.timing.node_monitor_grace_period_seconds,
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.to_document(), indent=2, sort_keys=True)


@dataclass(frozen=True)
class Flags:
    """Command-line overrides; ``None`` means the flag was not given."""

    data_dir: str | None = None
    nodes: int | None = None
    node_cpu: str | None = None
    node_memory: str | None = None
    node_gpus: int | None = None
    node_pods: int | None = None
    api_port: int | None = None
    nats_port: int | None = None
    crds_dir: str | None = None
    scheduler_conf: str | None = None


# --- reading ---------------------------------------------------------------------------------

_TOP_KEYS = {
    "dataDir",
    "host",
    "apiPort",
    "natsPort",
    "natsMonitorPort",
    "crdsDir",
    "schedulerConf",
    "nodes",
    "kubelet",
    "controllers",
}
_POOL_KEYS = {
    "name",
    "count",
    "cpu",
    "memory",
    "gpus",
    "pods",
    "ephemeralStorage",
    "instanceType",
    "labels",
    "taints",
}
_KUBELET_KEYS = {"leaseDurationSeconds", "renewIntervalSeconds", "statusIntervalSeconds"}
_CONTROLLER_KEYS = {"nodeMonitorGracePeriodSeconds"}


def load_file(path: Path) -> dict[str, Any]:
    """Read a YAML (or JSON) config file into a document; errors name the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("--config", f"cannot read {str(path)!r}: {exc.strerror or exc}") from exc
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError("--config", f"{str(path)!r} is not valid YAML{where}") from exc
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError("--config", f"{str(path)!r} must hold a mapping, not {type(document).__name__}")
    return document


def parse_document(document: dict[str, Any]) -> SandboxConfig:
    """A :class:`SandboxConfig` from a document; every error names the field."""
    _reject_unknown(document, _TOP_KEYS, "")
    base = SandboxConfig()
    data_dir = Path(_string(document, "dataDir", str(base.data_dir), ""))
    host = _string(document, "host", base.host, "")
    api_port = _port(document, "apiPort", "")
    nats_port = _port(document, "natsPort", "")
    nats_monitor_port = _port(document, "natsMonitorPort", "")
    crds = document.get("crdsDir")
    if crds is not None and not isinstance(crds, str):
        raise ConfigError("crdsDir", "must be a path")
    scheduler_conf = document.get("schedulerConf")
    if scheduler_conf is not None and not isinstance(scheduler_conf, str):
        raise ConfigError("schedulerConf", "must be a path")
    pools = _pools(document.get("nodes"))
    timing = _timing(document.get("kubelet"), document.get("controllers"))
    config = SandboxConfig(
        data_dir=data_dir,
        host=host,
        api_port=api_port,
        nats_port=nats_port,
        nats_monitor_port=nats_monitor_port,
        crds_dir=Path(crds) if crds else None,
        scheduler_conf=Path(scheduler_conf) if scheduler_conf else None,
        pools=pools,
        timing=timing,
    )
    _check_ports(config)
    return config


def build_config(config_file: Path | None, flags: Flags) -> SandboxConfig:
    """The effective configuration: defaults, then the file, then the flags."""
    config = parse_document(load_file(config_file)) if config_file else SandboxConfig()
    if flags.data_dir is not None:
        if not flags.data_dir.strip():
            raise ConfigError("--data-dir", "must not be empty")
        config = replace(config, data_dir=Path(flags.data_dir))
    if flags.crds_dir is not None:
        config = replace(config, crds_dir=Path(flags.crds_dir))
    if flags.scheduler_conf is not None:
        if not flags.scheduler_conf.strip():
            raise ConfigError("--scheduler-conf", "must not be empty")
        config = replace(config, scheduler_conf=Path(flags.scheduler_conf))
    if flags.api_port is not None:
        config = replace(config, api_port=_check_port_value(flags.api_port, "--api-port"))
    if flags.nats_port is not None:
        config = replace(config, nats_port=_check_port_value(flags.nats_port, "--nats-port"))
    config = replace(config, pools=_apply_node_flags(config.pools, flags))
    _check_ports(config)
    return config


def _apply_node_flags(pools: tuple[NodePool, ...], flags: Flags) -> tuple[NodePool, ...]:
    changes: dict[str, Any] = {}
    if flags.nodes is not None:
        if len(pools) > 1:
            raise ConfigError("--nodes", "cannot be used when the config file defines several node pools")
        changes["count"] = _count(flags.nodes, "--nodes", minimum=1)
    if flags.node_cpu is not None:
        changes["cpu"] = _quantity(flags.node_cpu, CPU, "--node-cpu", positive=True)
    if flags.node_memory is not None:
        changes["memory"] = _quantity(flags.node_memory, MEMORY, "--node-memory", positive=True)
    if flags.node_gpus is not None:
        changes["gpus"] = _count(flags.node_gpus, "--node-gpus", minimum=0)
    if flags.node_pods is not None:
        changes["pods"] = _count(flags.node_pods, "--node-pods", minimum=1)
    return tuple(replace(pool, **changes) for pool in pools)


def _pools(value: Any) -> tuple[NodePool, ...]:
    if value is None:
        return (NodePool(),)
    if isinstance(value, dict):
        return (_pool(value, "nodes"),)
    if not isinstance(value, list) or not value:
        raise ConfigError("nodes", "must be a mapping or a non-empty list of mappings")
    pools = tuple(_pool(item, f"nodes[{i}]") for i, item in enumerate(value))
    seen: set[str] = set()
    for i, pool in enumerate(pools):
        if pool.name in seen:
            raise ConfigError(f"nodes[{i}].name", f"duplicate pool name {pool.name!r}")
        seen.add(pool.name)
    return pools


def _pool(value: Any, where: str) -> NodePool:
    if not isinstance(value, dict):
        raise ConfigError(where, "must be a mapping")
    _reject_unknown(value, _POOL_KEYS, where)
    base = NodePool()
    name = _string(value, "name", base.name, where)
    if not _DNS_LABEL.match(name) or len(name) > 50:
        raise ConfigError(f"{where}.name", f"{name!r} is not a valid name (lowercase letters, digits, '-')")
    return NodePool(
        name=name,
        count=_count(value.get("count", base.count), f"{where}.count", minimum=0),
        cpu=_quantity(value.get("cpu", base.cpu), CPU, f"{where}.cpu", positive=True),
        memory=_quantity(value.get("memory", base.memory), MEMORY, f"{where}.memory", positive=True),
        gpus=_count(value.get("gpus", base.gpus), f"{where}.gpus", minimum=0),
        pods=_count(value.get("pods", base.pods), f"{where}.pods", minimum=1),
        ephemeral_storage=_quantity(
            value.get("ephemeralStorage", base.ephemeral_storage),
            EPHEMERAL_STORAGE,
            f"{where}.ephemeralStorage",
            positive=True,
        ),
        instance_type=_string(value, "instanceType", base.instance_type, where),
        labels=_labels(value.get("labels"), f"{where}.labels"),
        taints=_taints(value.get("taints"), f"{where}.taints"),
    )


def _timing(kubelet: Any, controllers: Any) -> Timing:
    base = Timing()
    for value, name, keys in (
        (kubelet, "kubelet", _KUBELET_KEYS),
        (controllers, "controllers", _CONTROLLER_KEYS),
    ):
        if value is not None and not isinstance(value, dict):
            raise ConfigError(name, "must be a mapping")
        _reject_unknown(value or {}, keys, name)
    k = kubelet or {}
    c = controllers or {}
    timing = Timing(
        lease_duration_seconds=int(
            _seconds(
                k.get("leaseDurationSeconds", base.lease_duration_seconds), "kubelet.leaseDurationSeconds"
            )
        ),
        renew_interval_seconds=_seconds(
            k.get("renewIntervalSeconds", base.renew_interval_seconds), "kubelet.renewIntervalSeconds"
        ),
        status_interval_seconds=_seconds(
            k.get("statusIntervalSeconds", base.status_interval_seconds), "kubelet.statusIntervalSeconds"
        ),
        node_monitor_grace_period_seconds=_seconds(
            c.get("nodeMonitorGracePeriodSeconds", base.node_monitor_grace_period_seconds),
            "controllers.nodeMonitorGracePeriodSeconds",
        ),
    )
    if timing.renew_interval_seconds >= timing.node_monitor_grace_period_seconds:
        raise ConfigError(
            "kubelet.renewIntervalSeconds", "must be shorter than controllers.nodeMonitorGracePeriodSeconds"
        )
    return timing


def _labels(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(where, "must be a mapping of label names to values")
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not _valid_label_key(key):
            raise ConfigError(f"{where}.{key}", "is not a valid label name")
        text = "" if item is None else str(item) if isinstance(item, int | float | bool) else item
        if not isinstance(text, str) or len(text) > 63 or not _LABEL_NAME.match(text):
            raise ConfigError(f"{where}.{key}", f"{item!r} is not a valid label value")
        out[key] = text
    return out


def _valid_label_key(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _LABEL_PREFIX.match(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(_LABEL_NAME.match(name))


def _taints(value: Any, where: str) -> tuple[Taint, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(where, "must be a list of {key, value, effect}")
    out: list[Taint] = []
    for i, item in enumerate(value):
        here = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(here, "must be a mapping with key, value and effect")
        _reject_unknown(item, {"key", "value", "effect"}, here)
        key = item.get("key")
        if not isinstance(key, str) or not _valid_label_key(key):
            raise ConfigError(f"{here}.key", f"{key!r} is not a valid taint key")
        effect = item.get("effect")
        if effect not in TAINT_EFFECTS:
            raise ConfigError(f"{here}.effect", f"must be one of {', '.join(TAINT_EFFECTS)}, got {effect!r}")
        raw = item.get("value", "")
        text = "" if raw is None else str(raw)
        if len(text) > 63 or not _LABEL_NAME.match(text):
            raise ConfigError(f"{here}.value", f"{raw!r} is not a valid taint value")
        out.append(Taint(key=key, value=text, effect=effect))
    return tuple(out)


def _reject_unknown(value: dict[str, Any], known: set[str], where: str) -> None:
    for key in value:
        if key not in known:
            name = f"{where}.{key}" if where else str(key)
            raise ConfigError(name, f"unknown field (known: {', '.join(sorted(known))})")


def _string(value: dict[str, Any], key: str, default: str, where: str) -> str:
    item = value.get(key, default)
    if not isinstance(item, str) or not item.strip():
        raise ConfigError(f"{where}.{key}" if where else key, "must be a non-empty string")
    return item


def _count(value: Any, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(where, f"must be a whole number, got {value!r}")
    if value < minimum:
        raise ConfigError(where, f"must be at least {minimum}, got {value}")
    return value


def _quantity(value: Any, resource: str, where: str, positive: bool) -> str:
    text = str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
    try:
        amount = to_amount(resource, text)
    except QuantityError:
        raise ConfigError(where, f"invalid quantity {value!r} (examples: 8, 500m, 32Gi)") from None
    if positive and amount <= 0:
        raise ConfigError(where, f"must be more than zero, got {value!r}")
    assert isinstance(text, str)
    return text


def _seconds(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(where, f"must be a positive number of seconds, got {value!r}")
    return float(value)


def _port(value: dict[str, Any], key: str, where: str) -> int:
    item = value.get(key, 0)
    return _check_port_value(item, f"{where}.{key}" if where else key)


def _check_port_value(item: Any, where: str) -> int:
    if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item <= 65535:
        raise ConfigError(where, f"must be a port number 0-65535 (0 picks a free one), got {item!r}")
    return item


def _check_ports(config: SandboxConfig) -> None:
    named = [
        ("apiPort", config.api_port),
        ("natsPort", config.nats_port),
        ("natsMonitorPort", config.nats_monitor_port),
    ]
    seen: dict[int, str] = {}
    for name, port in named:
        if port and port in seen:
            raise ConfigError(name, f"port {port} is already used by {seen[port]}")
        if port:
            seen[port] = name
    if config.node_count == 0:
        raise ConfigError("nodes", "the sandbox needs at least one node")
    names = [node.name for node in config.nodes()]
    if len(set(names)) != len(names):
        raise ConfigError("nodes", "two pools produce the same node name")
