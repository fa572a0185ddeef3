"""The sandbox configuration: defaults, file, flags, and errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyroclast.sandbox.config import ConfigError, Flags, build_config, parse_document


def test_defaults() -> None:
    config = build_config(None, Flags())
    assert config.data_dir == Path(".sandbox")
    assert config.node_count == 3
    assert [n.name for n in config.nodes()] == ["node-0", "node-1", "node-2"]


def test_flags_override_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.yaml"
    path.write_text("nodes: {name: gpu, count: 1, cpu: '4', gpus: 1, labels: {zone: a}}\n")
    config = build_config(path, Flags(nodes=2, node_memory="8Gi", node_gpus=4, data_dir=str(tmp_path)))
    [pool] = config.pools
    assert (pool.name, pool.count, pool.cpu, pool.memory, pool.gpus) == ("gpu", 2, "4", "8Gi", 4)
    assert pool.labels == {"zone": "a"}
    assert config.data_dir == tmp_path


def test_several_pools_and_taints() -> None:
    config = parse_document(
        {
            "nodes": [
                {"name": "cpu", "count": 2},
                {"name": "gpu", "count": 1, "gpus": 8, "taints": [{"key": "gpu", "effect": "NoSchedule"}]},
            ]
        }
    )
    assert [n.name for n in config.nodes()] == ["cpu-0", "cpu-1", "gpu-0"]
    assert config.pools[1].taints[0].to_api() == {"key": "gpu", "effect": "NoSchedule"}


def test_round_trip_through_the_document() -> None:
    config = build_config(None, Flags(nodes=5, node_cpu="500m"))
    assert parse_document(config.to_document()) == config


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"nodes": {"cpu": "lots"}}, "nodes.cpu"),
        ({"nodes": [{"name": "a"}, {"name": "b", "memory": "-1Gi"}]}, "nodes[1].memory"),
        ({"nodes": {"count": "three"}}, "nodes.count"),
        ({"nodes": {"taints": [{"key": "k", "effect": "Sometimes"}]}}, "nodes.taints[0].effect"),
        ({"nodes": {"labels": {"bad key!": "x"}}}, "nodes.labels.bad key!"),
        ({"nodes": {"name": "Upper"}}, "nodes.name"),
        ({"nodes": {"gpu": 1}}, "nodes.gpu"),
        ({"apiPort": 70000}, "apiPort"),
        ({"apiPort": 7000, "natsPort": 7000}, "natsPort"),
        ({"kubelet": {"renewIntervalSeconds": 0}}, "kubelet.renewIntervalSeconds"),
        ({"colour": "red"}, "colour"),
        ({"nodes": {"count": 0}}, "nodes"),
    ],
)
def test_errors_name_the_field(document: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_document(document)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("flags", "field"),
    [
        (Flags(nodes=0), "--nodes"),
        (Flags(node_cpu="abc"), "--node-cpu"),
        (Flags(node_memory="0"), "--node-memory"),
        (Flags(node_gpus=-1), "--node-gpus"),
        (Flags(node_pods=0), "--node-pods"),
        (Flags(data_dir=" "), "--data-dir"),
    ],
)
def test_flag_errors_name_the_flag(flags: Flags, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_config(None, flags)
    assert info.value.field == field


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--config: cannot read"):
        build_config(tmp_path / "missing.yaml", Flags())
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodes: [\n")
    with pytest.raises(ConfigError, match=r"^--config: .* is not valid YAML at line"):
        build_config(bad, Flags())
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n")
    with pytest.raises(ConfigError, match=r"must hold a mapping"):
        build_config(listy, Flags())


def test_the_scheduler_conf_comes_from_the_file_or_the_flag(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.yaml"
    path.write_text("schedulerConf: /etc/volcano/scheduler.conf\n")
    assert build_config(path, Flags()).scheduler_conf == Path("/etc/volcano/scheduler.conf")
    flagged = build_config(path, Flags(scheduler_conf="mine.conf"))
    assert flagged.scheduler_conf == Path("mine.conf")
    assert parse_document(flagged.to_document()) == flagged
    assert "schedulerConf" not in build_config(None, Flags()).to_document()
    with pytest.raises(ConfigError, match=r"^schedulerConf: must be a path$"):
        parse_document({"schedulerConf": 3})
    with pytest.raises(ConfigError, match=r"^--scheduler-conf: must not be empty$"):
        build_config(None, Flags(scheduler_conf=" "))
