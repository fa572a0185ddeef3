"""The scheduler never loads a Kubernetes client."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import importlib, pkgutil, sys
import pyroclast.scheduler as root
names = [m.name for m in pkgutil.walk_packages(root.__path__, root.__name__ + ".")]
for name in names:
    importlib.import_module(name)
assert "pyroclast.scheduler.service.main" in names, names
assert "pyroclast.scheduler.main" in names, names
leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("kubernetes_asyncio", "kubernetes"))
print(len(names), leaked)
sys.exit(1 if leaked else 0)
"""


def test_importing_every_scheduler_module_leaves_kubernetes_out() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
