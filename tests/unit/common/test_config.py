"""Settings come from defaults, a file, the environment and flags, in that order."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from pyroclast.common.config import ConfigError, ServiceConfig, load_config


class SchedulerSettings(ServiceConfig, kw_only=True, forbid_unknown_fields=True):
    period_seconds: float = 1.0
    enabled: bool = True


def test_defaults_apply_when_nothing_is_given() -> None:
    cfg = load_config(SchedulerSettings, [], env={})
    assert cfg.period_seconds == 1.0
    assert cfg.nats_servers == ["nats://127.0.0.1:4222"]


def test_precedence_file_then_env_then_flags(tmp_path: Path) -> None:
    file = tmp_path / "conf.yaml"
    file.write_text("periodSeconds: 2.5\nlog-level: debug\nhealthPort: 9000\n")
    env = {"PYROCLAST_PERIOD_SECONDS": "3", "PYROCLAST_NATS_SERVERS": "nats://a:1, nats://b:2"}
    cfg = load_config(SchedulerSettings, ["--config", str(file), "--health-port", "9100"], env=env)
    assert cfg.period_seconds == 3.0  # env beats file
    assert cfg.log_level == "debug"  # file beats default
    assert cfg.health_port == 9100  # flag beats file
    assert cfg.nats_servers == ["nats://a:1", "nats://b:2"]


def test_bad_flag_value_names_the_setting_and_source() -> None:
    with pytest.raises(ConfigError, match=r"health_port \(from --health-port\): Expected `int`"):
        load_config(SchedulerSettings, ["--health-port", "lots"], env={})


def test_bad_env_bool_names_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"enabled \(from PYROCLAST_ENABLED\)"):
        load_config(SchedulerSettings, [], env={"PYROCLAST_ENABLED": "maybe"})


def test_unknown_flag_and_unknown_file_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown flag '--nope'"):
        load_config(SchedulerSettings, ["--nope", "1"], env={})
    file = tmp_path / "conf.yaml"
    file.write_text("colour: blue\n")
    with pytest.raises(ConfigError, match="colour: unknown setting"):
        load_config(SchedulerSettings, ["--config", str(file)], env={})


def test_unreadable_or_malformed_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(SchedulerSettings, ["--config", str(tmp_path / "missing.yaml")], env={})
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(SchedulerSettings, ["--config", str(bad)], env={})
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config(SchedulerSettings, ["--config", str(listy)], env={})


def test_result_is_a_plain_struct() -> None:
    cfg = load_config(SchedulerSettings, ["--enabled", "false"], env={})
    assert msgspec.to_builtins(cfg)["enabled"] is False
