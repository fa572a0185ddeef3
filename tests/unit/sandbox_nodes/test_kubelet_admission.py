"""The kubelet's admission: a bound pod that does not fit is rejected with OutOf<resource>."""

from __future__ import annotations

from typing import Any

from pyroclast.sandbox.kubelet.admission import admit, check_fit, used_by
from pyroclast.sandbox.resources import GPU, parse_resource_list, pod_requests

NODE = parse_resource_list({"cpu": "8", "memory": "32Gi", "pods": "110", GPU: "2"})


def pod(requests: dict[str, str], limits: dict[str, str] | None = None) -> dict[str, Any]:
    resources: dict[str, Any] = {"requests": requests}
    if limits:
        resources["limits"] = limits
    return {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "resources": resources}]}}


def test_fits() -> None:
    assert admit(pod({"cpu": "2", "memory": "1Gi"}), NODE, {}, {}) is None


def test_out_of_cpu_has_the_kubelet_message() -> None:
    used = used_by([pod({"cpu": "6"})])
    rejection = admit(pod({"cpu": "4"}), NODE, used, {})
    assert rejection is not None
    assert rejection.reason == "OutOfcpu"
    assert (
        rejection.message
        == "Pod Node didn't have enough resource: cpu, requested: 4000, used: 6000, capacity: 8000"
    )


def test_out_of_memory_counts_bytes() -> None:
    rejection = admit(pod({"memory": "40Gi"}), NODE, {}, {})
    assert rejection is not None
    assert rejection.reason == "OutOfmemory"
    assert "requested: 42949672960, used: 0, capacity: 34359738368" in rejection.message


def test_out_of_gpu_from_limits_only() -> None:
    rejection = admit(pod({}, limits={GPU: "3"}), NODE, {}, {})
    assert rejection is not None
    assert rejection.reason == "OutOfnvidia.com/gpu"


def test_out_of_pods() -> None:
    full = {"pods": 110}
    rejection = admit(pod({"cpu": "100m"}), NODE, full, {})
    assert rejection is not None
    assert rejection.reason == "OutOfpods"
    assert rejection.message.endswith("pods, requested: 1, used: 110, capacity: 110")


def test_unknown_extended_resource_is_rejected() -> None:
    rejection = check_fit({"example.com/fpga": 1}, NODE, {})
    assert rejection is not None
    assert rejection.reason == "OutOfexample.com/fpga"


def test_node_selector_mismatch() -> None:
    p = pod({"cpu": "1"})
    p["spec"]["nodeSelector"] = {"zone": "b"}
    rejection = admit(p, NODE, {}, {"zone": "a"})
    assert rejection is not None
    assert rejection.reason == "NodeAffinity"


def test_requests_sum_containers_and_take_the_largest_init_container() -> None:
    p = {
        "spec": {
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "500m"}}},
                {"name": "b", "resources": {"requests": {"cpu": "1"}}},
            ],
            "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "2"}}}],
        }
    }
    assert pod_requests(p) == {"cpu": 2000, "pods": 1}
