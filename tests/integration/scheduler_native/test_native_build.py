"""The compiled scheduler core (``pyroclast.common.native``): used only while it matches
the sources, and deciding exactly what the sources decide.

The comparison runs the same sessions in two processes, one with the build of this
environment (``make install`` makes it) and one from the sources, on synthetic clusters
of several kinds, and compares every decision.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pyroclast.common import native
from pyroclast.scheduler.conf import VOLCANO_DEFAULT_CONF

pytestmark = [pytest.mark.integration]

_SESSION = """
import json, sys
from datetime import UTC, datetime
from pyroclast.common import native
from pyroclast.scheduler.api import snapshot
from pyroclast.scheduler.conf import parse_conf
from pyroclast.scheduler.framework import NodeSearch, load_builtins, run_session
from pyroclast.scheduler.testing.synthetic import ClusterShape, synthetic_cluster
import pyroclast.common.resources as resources_module
import pyroclast.scheduler.framework.session as session_module

load_builtins()
conf = parse_conf(sys.argv[1])
files = [session_module.__file__, resources_module.__file__]
out = {"active": native.ACTIVE, "files": files, "runs": []}
for spec in json.loads(sys.argv[2]):
    seed = spec.pop("seed")
    snap = snapshot(synthetic_cluster(ClusterShape(**spec), seed=seed))
    now = datetime(2026, 1, 2, tzinfo=UTC)
    result = run_session(snap, conf, uid="native", now=now, node_search=NodeSearch())
    out["runs"].append([repr(d) for d in result.decisions])
print(json.dumps(out))
"""

# Volcano's default conf, and binpack (its vector form too)
CONF = VOLCANO_DEFAULT_CONF + "  - name: binpack\n"

SHAPES = [
    {"seed": 1, "nodes": 300, "pending_pods": 3000, "queues": 4, "max_gang": 60},
    {"seed": 2, "nodes": 120, "pending_pods": 1500, "queues": 3, "max_gang": 30, "mixed_requests": 0.3},
    {
        "seed": 3,
        "nodes": 200,
        "pending_pods": 2000,
        "queues": 2,
        "taints": 0.3,
        "selectors": 0.3,
        "best_effort": 0.2,
        "releasing": 0.4,
    },
    # (enough nodes for windows much smaller than the cluster)
    {"seed": 4, "nodes": 3000, "pending_pods": 12000, "queues": 4, "max_gang": 100},
]


def _run(
    env: dict[str, str], conf: str = CONF, shapes: list[dict[str, object]] | None = None
) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _SESSION, CONF, json.dumps(shapes if shapes is not None else SHAPES)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def _require_build() -> None:
    """Skip unless this environment has a build matching the sources (``make install`` makes one)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYROCLAST_NATIVE", "1")
        usable, why = native.status()
    if not usable:
        pytest.skip(f"no usable native build in this environment: {why}")


@pytest.mark.slow
def test_compiled_core_decides_what_the_sources_decide() -> None:
    _require_build()
    compiled = _run({"PYROCLAST_NATIVE": "1"})
    sources = _run({"PYROCLAST_NATIVE": "0"})
    assert compiled["active"] is True
    assert all(str(f).endswith(native._suffix()) for f in compiled["files"])  # type: ignore[attr-defined]
    assert sources["active"] is False
    assert all(str(f).endswith(".py") for f in sources["files"])  # type: ignore[attr-defined]
    runs_c, runs_s = compiled["runs"], sources["runs"]
    assert isinstance(runs_c, list)
    assert isinstance(runs_s, list)
    assert all(len(r) > 100 for r in runs_s)  # (sessions that decide something)
    for shape, c, s in zip(SHAPES, runs_c, runs_s, strict=True):
        assert c == s, f"decisions differ on {shape}"


def test_not_installed_over_modules_already_imported_from_the_sources() -> None:
    _require_build()
    script = (
        "import os\n"
        "import pyroclast.scheduler.framework.session as s\n"
        "from pyroclast.common import native\n"
        "os.environ['PYROCLAST_NATIVE'] = '1'\n"
        "print(native.install(), native.ACTIVE, s.__file__.endswith('.py'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYROCLAST_NATIVE": "0"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False", "True"]


def _manifest_dir(tmp_path: Path, **fields: object) -> Path:
    manifest: dict[str, object] = {
        "digest": native.digest(native.sources()),
        "suffix": native._suffix(),
        "modules": {},
    }
    manifest.update(fields)
    (tmp_path / native.MANIFEST).write_text(json.dumps(manifest))
    return tmp_path


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"digest": "0" * 64}, "the sources changed since the build"),
        ({"suffix": ".cpython-99-other.so"}, "built for .cpython-99-other.so"),
    ],
)
def test_a_build_that_does_not_match_is_not_used(
    tmp_path: Path, fields: dict[str, object], reason: str
) -> None:
    root = _manifest_dir(tmp_path, **fields)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYROCLAST_NATIVE", "1")
        mp.setenv("PYROCLAST_NATIVE_DIR", str(root))
        usable, why = native.status()
    assert not usable
    assert reason in why
    out = _run({"PYROCLAST_NATIVE": "1", "PYROCLAST_NATIVE_DIR": str(root)}, shapes=[])
    assert out["active"] is False
    assert all(str(f).endswith(".py") for f in out["files"])  # type: ignore[attr-defined]


def test_no_build_and_switched_off(tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYROCLAST_NATIVE", "1")
        mp.setenv("PYROCLAST_NATIVE_DIR", str(tmp_path / "none"))
        assert native.status() == (False, f"no build in {tmp_path / 'none'}")
        mp.setenv("PYROCLAST_NATIVE", "0")
        assert native.status() == (False, "disabled by PYROCLAST_NATIVE")


def test_sources_are_the_core_subpackages_without_their_init_and_the_resources() -> None:
    modules = native.sources()
    names = set(modules)
    assert all(path.is_file() and path.suffix == ".py" for path in modules.values())
    assert "pyroclast.common.resources" in names
    assert "pyroclast.scheduler.framework.session" in names
    assert "pyroclast.scheduler.actions.allocate" in names
    assert "pyroclast.scheduler.plugins.nodeorder_vector" in names
    assert not any(n.endswith("__init__") for n in names)
    assert "pyroclast.common.native" not in names
    assert "pyroclast.scheduler.service.loop" not in names


def test_a_new_build_removes_earlier_builds_only(tmp_path: Path) -> None:
    for name in ("0123456789abcdef", "fedcba9876543210", "my-things", "0123456789ABCDEF"):
        (tmp_path / name).mkdir()
    (tmp_path / "abcdefabcdefabcd").write_text("a file, not a build")
    stale = native.stale_builds(tmp_path, keep=tmp_path / "fedcba9876543210")
    assert [p.name for p in stale] == ["0123456789abcdef"]
