"""Parsing volcano-scheduler.conf: structure, switch defaults, arguments and errors."""

from __future__ import annotations

import pytest

from pyroclast.scheduler import conf as confmod
from pyroclast.scheduler.conf import (
    KNOWN_ACTIONS,
    KNOWN_PLUGINS,
    VOLCANO_DEFAULT_CONF,
    Arguments,
    ConfError,
    ExtensionPoint,
    default_conf,
    parse_conf,
)
from pyroclast.scheduler.framework import PLUGINS, load_builtins

ALL = {"plugins": KNOWN_PLUGINS, "actions": KNOWN_ACTIONS}


def test_volcano_default_conf_structure() -> None:
    c = parse_conf(VOLCANO_DEFAULT_CONF, **ALL)
    assert c.actions == ("enqueue", "allocate", "backfill")
    assert [[p.name for p in t.plugins] for t in c.tiers] == [
        ["priority", "gang", "conformance"],
        ["overcommit", "drf", "predicates", "proportion", "nodeorder"],
    ]


def test_switches_default_on_except_cluster_order_and_hierarchy() -> None:
    opt = parse_conf(VOLCANO_DEFAULT_CONF, **ALL).tiers[0].plugins[0]
    assert all(opt.enabled(p) for p in ExtensionPoint if p is not ExtensionPoint.CLUSTER_ORDER)
    assert not opt.enabled(ExtensionPoint.CLUSTER_ORDER)
    assert not opt.enable_hierarchy


def test_switches_and_arguments_are_read() -> None:
    text = """
actions: "allocate"
tiers:
- plugins:
  - name: gang
    enableJobOrder: false
    enabledOverused: false
    enabledClusterOrder: true
    arguments:
      weight: 3
      flag: "true"
configurations:
- name: allocate
  arguments:
    predicateErrorCacheEnable: false
"""
    c = parse_conf(text, **ALL)
    opt = c.tiers[0].plugins[0]
    assert not opt.enabled(ExtensionPoint.JOB_ORDER)
    assert not opt.enabled(ExtensionPoint.OVERUSED)
    assert opt.enabled(ExtensionPoint.CLUSTER_ORDER)
    assert opt.enabled(ExtensionPoint.JOB_READY)
    assert opt.arguments.get_int("weight", 1) == 3
    assert opt.arguments.get_bool("flag", False) is True
    assert c.action_arguments("allocate").get_bool("predicateErrorCacheEnable", True) is False
    assert c.action_arguments("backfill") == {}


def test_arguments_getters_keep_default_on_bad_values() -> None:
    a = Arguments({"i": "x", "f": 2, "b": "maybe", "s": 1})
    assert a.get_int("i", 7) == 7
    assert a.get_float("f", 0.5) == 2.0
    assert a.get_bool("b", True) is True
    assert a.get_str("s", "d") == "d"
    assert a.get_int("missing", 4) == 4


def test_registered_builtins_parse() -> None:
    c = parse_conf(
        'actions: "enqueue, allocate, backfill"\ntiers:\n- plugins:\n  - name: priority\n  - name: gang\n'
    )
    assert c.plugin_names() == ["priority", "gang"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'actions: "allocate"\ntiers:\n- plugins:\n  - name: gang\n- plugins:\n'
            "  - name: gang\n  - name: priority\n  - name: foo\n",
            'tiers[1].plugins[2].name: unknown plugin "foo"',
        ),
        (
            'actions: "allocate"\ntiers:\n- plugins:\n  - name: drf\n',
            'tiers[0].plugins[0].name: plugin "drf" is not available',
        ),
        ('actions: "allocate, dance"\n', 'actions[1]: unknown action "dance"'),
        ('actions: "enqueue, preempt"\n', 'actions[1]: action "preempt" is not available'),
        ("actions: [allocate]\n", "actions: expected a comma-separated string"),
        (
            'actions: "allocate"\ntiers:\n- plugins:\n  - name: gang\n    enableJobReady: 3\n',
            "tiers[0].plugins[0].enableJobReady",
        ),
        ('actions: "allocate"\ntiers: {}\n', "tiers: expected a list"),
        ('actions: "allocate"\ntiers:\n- plugins:\n  - enableJobReady: true\n', "tiers[0].plugins[0].name"),
        (
            'actions: "allocate"\ntiers:\n- plugins:\n  - name: gang\n    arguments: [1]\n',
            "tiers[0].plugins[0].arguments",
        ),
        ('actions: "allocate"\nconfigurations:\n- arguments: {}\n', "configurations[0].name"),
        ("actions: [\n", "invalid YAML"),
        ("- 1\n", "<root>: expected a mapping"),
    ],
)
def test_errors_name_the_field(text: str, message: str) -> None:
    with pytest.raises(ConfError) as exc:
        parse_conf(
            text, plugins=("priority", "gang", "conformance"), actions=("enqueue", "allocate", "backfill")
        )
    assert message in str(exc.value)


def test_drf_hierarchy_conflicts_with_proportion() -> None:
    text = (
        'actions: "allocate"\ntiers:\n- plugins:\n'
        "  - name: drf\n    enableHierarchy: true\n  - name: proportion\n"
    )
    with pytest.raises(ConfError, match="proportion and drf with hierarchy enabled conflicts"):
        parse_conf(text, **ALL)


def test_default_conf_needs_every_named_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    load_builtins()
    missing = [n for n in ("overcommit", "drf", "predicates", "proportion", "nodeorder") if n not in PLUGINS]
    if missing:
        with pytest.raises(ConfError, match=f'plugin "{missing[0]}" is not available'):
            default_conf()
    for name in missing:
        monkeypatch.setitem(PLUGINS, name, PLUGINS["gang"])
    assert default_conf().plugin_names()[:3] == ["priority", "gang", "conformance"]
    assert confmod.VOLCANO_DEFAULT_CONF == VOLCANO_DEFAULT_CONF
