"""Makes the sandbox API server fixtures available next to the nats ones (from the parent
conftest), and the admission fuzzing strategies of the unit tests."""

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
for _shared in (_HERE.parent / "sandbox", _HERE.parents[1] / "unit" / "webhook"):
    if str(_shared) not in sys.path:
        sys.path.insert(0, str(_shared))

from apiserver_fixture import ApiServerHandle, apiserver, kubeconfig  # noqa: E402

__all__ = ["ApiServerHandle", "apiserver", "kubeconfig"]
