"""The conf watcher: reload on change, keep the last good conf, fall back to the default."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from svc_support import TEST_CONF

from pyroclast.scheduler.conf import ConfError, SchedulerConf
from pyroclast.scheduler.service.confwatch import ConfWatcher

ALLOCATE_ONLY = TEST_CONF.replace('"enqueue, allocate, backfill"', '"allocate"')


def write(path: Path, text: str, bump: int = 0) -> None:
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump * 1_000_000_000))


def test_no_path_uses_the_default_conf() -> None:
    watcher = ConfWatcher(None, default_text=TEST_CONF)
    assert watcher.load().actions == ("enqueue", "allocate", "backfill")
    assert watcher.poll() is False


def test_reloads_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "volcano-scheduler.conf"
    write(path, TEST_CONF)
    changes: list[SchedulerConf] = []
    watcher = ConfWatcher(str(path), default_text=TEST_CONF)
    watcher.on_change = changes.append
    watcher.load()
    assert watcher.poll() is False
    write(path, ALLOCATE_ONLY, bump=1)
    assert watcher.poll() is True
    assert watcher.conf.actions == ("allocate",)
    assert len(changes) == 1
    assert watcher.reloads == 1


def test_invalid_conf_keeps_the_last_good_one_and_names_the_field(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "volcano-scheduler.conf"
    write(path, ALLOCATE_ONLY)
    watcher = ConfWatcher(str(path), default_text=TEST_CONF)
    good = watcher.load()
    write(path, TEST_CONF.replace("name: gang", "name: gnag"), bump=1)
    assert watcher.poll() is False
    assert watcher.conf is good
    assert watcher.errors == 1
    assert watcher.last_error == 'tiers[0].plugins[1].name: unknown plugin "gnag"'
    assert watcher.poll() is False  # the same bad file is reported once
    assert watcher.errors == 1
    write(path, "actions: [1, 2]\n", bump=2)
    assert watcher.poll() is False
    assert watcher.last_error.startswith("actions: expected a comma-separated string")
    write(path, TEST_CONF, bump=3)
    assert watcher.poll() is True
    assert watcher.conf.actions == ("enqueue", "allocate", "backfill")
    assert watcher.last_error == ""


def test_missing_file_keeps_the_last_good_conf(tmp_path: Path) -> None:
    path = tmp_path / "volcano-scheduler.conf"
    write(path, ALLOCATE_ONLY)
    watcher = ConfWatcher(str(path), default_text=TEST_CONF)
    good = watcher.load()
    path.unlink()
    assert watcher.poll() is False
    assert watcher.conf is good
    write(path, ALLOCATE_ONLY)
    assert watcher.poll() is False  # same text as the conf in force
    assert watcher.conf is good


def test_bad_file_at_start_falls_back_to_the_default(tmp_path: Path) -> None:
    path = tmp_path / "volcano-scheduler.conf"
    write(path, 'actions: "allocate, teleport"\n')
    watcher = ConfWatcher(str(path), default_text=TEST_CONF)
    assert watcher.load().actions == ("enqueue", "allocate", "backfill")
    assert watcher.last_error == 'actions[1]: unknown action "teleport"'


def test_no_usable_conf_at_all_raises(tmp_path: Path) -> None:
    path = tmp_path / "missing.conf"
    watcher = ConfWatcher(str(path), default_text="actions: allocate\ntiers: 3\n")
    with pytest.raises(ConfError, match=r"cannot read.*default conf: tiers: expected a list"):
        watcher.load()


def test_volcano_default_is_the_default() -> None:
    from pyroclast.scheduler.conf import VOLCANO_DEFAULT_CONF

    watcher = ConfWatcher(None)
    assert watcher._default_text == VOLCANO_DEFAULT_CONF
