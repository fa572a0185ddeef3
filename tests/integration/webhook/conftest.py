"""Makes the sandbox API server fixtures available next to the nats ones (from the parent conftest)."""

import sys
from pathlib import Path

_SANDBOX = str(Path(__file__).resolve().parent.parent / "sandbox")
if _SANDBOX not in sys.path:
    sys.path.insert(0, _SANDBOX)

from apiserver_fixture import ApiServerHandle, apiserver, kubeconfig  # noqa: E402

__all__ = ["ApiServerHandle", "apiserver", "kubeconfig"]
