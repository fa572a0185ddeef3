"""Configuration for services: defaults < config file < environment < command-line flags.

A service describes its settings as a msgspec Struct. ``load_config`` builds the command-line
flags from the Struct's fields (``--health-port``), reads an optional YAML or JSON file
(``--config FILE``, keys in camelCase, snake_case or kebab-case), the environment
(``PYROCLAST_HEALTH_PORT``), and converts the merged result to the Struct. Any bad value gives
a ``ConfigError`` that names the setting, where it came from and the rule it broke.
"""

from __future__ import annotations

import argparse
import os
import re
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import yaml

T = TypeVar("T", bound=msgspec.Struct)

ENV_PREFIX = "PYROCLAST_"


class ConfigError(ValueError):
    """A setting is missing, unknown or has a value that breaks its rule."""


class ServiceConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Settings every service shares."""

    nats_servers: list[str] = msgspec.field(default_factory=lambda: ["nats://127.0.0.1:4222"])
    cluster_prefix: str = "pyroclast"
    log_level: str = "info"
    health_host: str = "127.0.0.1"
    health_port: int = 0


def _snake(name: str) -> str:
    name = name.replace("-", "_")
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _flag(field: str) -> str:
    return "--" + field.replace("_", "-")


def _unwrap_optional(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _is_list(tp: Any) -> bool:
    return typing.get_origin(_unwrap_optional(tp)) in (list, tuple)


def _from_text(tp: Any, text: str) -> Any:
    """Turn a flag or environment string into the JSON-ish value msgspec converts."""
    tp = _unwrap_optional(tp)
    if _is_list(tp):
        return [part.strip() for part in text.split(",") if part.strip()]
    if tp is bool:
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        return text
    if tp in (int, float):
        try:
            return tp(text)
        except ValueError:
            return text
    return text


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"--config: cannot read {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"--config: {path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"--config: {path} must hold a mapping of settings, not {type(data).__name__}")
    return {_snake(str(k)): v for k, v in data.items()}


def load_config(
    cls: type[T],
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    prog: str | None = None,
    env_prefix: str = ENV_PREFIX,
) -> T:
    """Build ``cls`` from its defaults, ``--config FILE``, the environment and ``argv``."""
    hints = typing.get_type_hints(cls)
    fields = [f.name for f in msgspec.structs.fields(cls)]
    parser = argparse.ArgumentParser(prog=prog, exit_on_error=False, allow_abbrev=False)
    parser.add_argument("--config", type=Path, default=None, help="YAML or JSON file of settings")
    for field in fields:
        parser.add_argument(_flag(field), dest=field, default=None, metavar=field.upper())
    try:
        parsed, unknown = parser.parse_known_args(list(argv or []))
    except argparse.ArgumentError as exc:
        raise ConfigError(str(exc)) from None
    if unknown:
        raise ConfigError(f"unknown flag {unknown[0]!r}")

    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    if parsed.config is not None:
        for key, value in _read_file(parsed.config).items():
            if key not in fields:
                raise ConfigError(f"{key}: unknown setting in {parsed.config}")
            merged[key], origin[key] = value, str(parsed.config)
    environ = os.environ if env is None else env
    for field in fields:
        name = env_prefix + field.upper()
        if name in environ:
            merged[field], origin[field] = _from_text(hints[field], environ[name]), name
    for field in fields:
        value = getattr(parsed, field)
        if value is not None:
            merged[field], origin[field] = _from_text(hints[field], value), _flag(field)
    try:
        return msgspec.convert(merged, cls, str_keys=True)
    except msgspec.ValidationError as exc:
        raise ConfigError(_explain(str(exc), origin)) from None


def _explain(message: str, origin: Mapping[str, str]) -> str:
    """Rewrite msgspec's ``... - at `$.field`` into ``field (from SOURCE): ...``."""
    match = re.search(r"^(?P<rule>.*?) - at `\$\.(?P<path>[^`]+)`$", message)
    if not match:
        return message
    path = match["path"]
    top = re.split(r"[.\[]", path, maxsplit=1)[0]
    source = f" (from {origin[top]})" if top in origin else ""
    return f"{path}{source}: {match['rule']}"
