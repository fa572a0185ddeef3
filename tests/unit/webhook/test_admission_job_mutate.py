"""``/jobs/mutate``: Volcano's defaults, checked on the object after the patch is applied."""

from __future__ import annotations

from typing import Any

from admission_support import BATCH, container, run

from pyroclast.webhook.admission import AdmissionConfig, AdmissionInput, Operation, apply_patch
from pyroclast.webhook.admission.job_mutate import mutate_job
from pyroclast.webhook.admission.registry import decode


def bare_job(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": BATCH, "kind": "Job", "metadata": {"name": "j", "namespace": "ns"}, "spec": spec}


def bare_task(**fields: Any) -> dict[str, Any]:
    return {"replicas": 2, "template": {"spec": {"containers": [container()]}}, **fields}


def mutated(manifest: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    verdict = run("/jobs/mutate", manifest, **kwargs)
    assert verdict.allowed, verdict.message
    result: dict[str, Any] = apply_patch(manifest, verdict.patch)
    return result


def test_every_default_of_a_bare_job() -> None:
    manifest = bare_job(tasks=[bare_task(), bare_task(name="named", replicas=3)])
    verdict = run("/jobs/mutate", manifest)
    assert [(op["op"], op["path"]) for op in verdict.patch] == [
        ("add", "/spec/queue"),
        ("add", "/spec/schedulerName"),
        ("add", "/spec/maxRetry"),
        ("replace", "/spec/tasks"),
        ("add", "/spec/minAvailable"),
    ]
    spec = apply_patch(manifest, verdict.patch)["spec"]
    assert spec["queue"] == "default"
    assert spec["schedulerName"] == "volcano"
    assert spec["maxRetry"] == 3
    assert spec["minAvailable"] == 5
    assert [(t["name"], t["minAvailable"], t["maxRetry"]) for t in spec["tasks"]] == [
        ("default0", 2, 3),
        ("named", 3, 3),
    ]
    assert spec["tasks"][0]["template"] == {
        "metadata": {"creationTimestamp": None},
        "spec": {"containers": [{**container(), "resources": {}}]},
    }


def test_tasks_are_written_back_as_go_marshals_them() -> None:
    template = {
        "metadata": {"labels": {"a": "b"}},
        "spec": {
            "initContainers": [
                {"name": "init", "image": "i", "resources": {"requests": {"memory": "1024Mi"}}}
            ],
            "containers": [
                {
                    "image": "i",
                    "resources": {"limits": {"cpu": 1, "nvidia.com/gpu": "1"}, "requests": {"cpu": "0.5"}},
                }
            ],
            "volumes": [{"name": "v", "emptyDir": {"sizeLimit": "1000M"}}],
        },
    }
    manifest = bare_job(tasks=[bare_task(replicas=0, topologyPolicy="", unknownField=1, template=template)])
    [out] = mutated(manifest)["spec"]["tasks"]
    assert out == {
        "name": "default0",
        "minAvailable": 0,
        "maxRetry": 3,
        "template": {
            "metadata": {"labels": {"a": "b"}, "creationTimestamp": None},
            "spec": {
                "initContainers": [
                    {"name": "init", "image": "i", "resources": {"requests": {"memory": "1Gi"}}}
                ],
                "containers": [
                    {
                        "image": "i",
                        "name": "",
                        "resources": {
                            "limits": {"cpu": "1", "nvidia.com/gpu": "1"},
                            "requests": {"cpu": "500m"},
                        },
                    }
                ],
                "volumes": [{"name": "v", "emptyDir": {"sizeLimit": "1G"}}],
            },
        },
    }


def test_set_fields_are_kept() -> None:
    manifest = bare_job(
        queue="q",
        schedulerName="other",
        maxRetry=5,
        minAvailable=1,
        tasks=[bare_task(name="t", minAvailable=1, maxRetry=2)],
    )
    assert run("/jobs/mutate", manifest).patch == ()


def test_zero_values_count_as_unset() -> None:
    spec = mutated(
        bare_job(maxRetry=0, minAvailable=0, tasks=[bare_task(name="t", minAvailable=1, maxRetry=0)])
    )["spec"]
    assert (spec["maxRetry"], spec["minAvailable"], spec["tasks"][0]["maxRetry"]) == (3, 1, 3)


def test_job_min_available_sums_task_min_available() -> None:
    spec = mutated(bare_job(tasks=[bare_task(name="a", minAvailable=1), bare_task(name="b")]))["spec"]
    assert spec["minAvailable"] == 3


def test_partition_policy_sets_task_min_available() -> None:
    partition = {"totalPartitions": 2, "partitionSize": 3, "minPartitions": 1}
    spec = mutated(bare_job(tasks=[bare_task(name="t", replicas=6, partitionPolicy=partition)]))["spec"]
    assert (spec["tasks"][0]["minAvailable"], spec["minAvailable"]) == (3, 3)
    without_min = {"totalPartitions": 2, "partitionSize": 3}
    spec = mutated(bare_job(tasks=[bare_task(name="t", replicas=6, partitionPolicy=without_min)]))["spec"]
    assert (spec["tasks"][0]["minAvailable"], spec["minAvailable"]) == (6, 6)


def test_host_network_gets_cluster_first_with_host_net() -> None:
    task = bare_task(name="t", template={"spec": {"hostNetwork": True, "containers": [container()]}})
    spec = mutated(bare_job(tasks=[task]))["spec"]
    assert spec["tasks"][0]["template"]["spec"]["dnsPolicy"] == "ClusterFirstWithHostNet"
    task["template"]["spec"]["dnsPolicy"] = "Default"
    spec = mutated(bare_job(tasks=[task]))["spec"]
    assert spec["tasks"][0]["template"]["spec"]["dnsPolicy"] == "Default"


def test_distributed_framework_plugins_bring_svc_and_ssh() -> None:
    cases: dict[str, dict[str, list[str]]] = {
        "tensorflow": {"tensorflow": [], "svc": []},
        "pytorch": {"pytorch": ["--master=m"], "svc": []},
        "ray": {"ray": [], "svc": []},
        "mpi": {"mpi": [], "svc": [], "ssh": []},
        "env": {"env": []},
    }
    for plugin, expected in cases.items():
        args = expected[plugin]
        spec = mutated(bare_job(tasks=[bare_task(name="t")], plugins={plugin: args}))["spec"]
        assert spec["plugins"] == expected, plugin
    spec = mutated(
        bare_job(tasks=[bare_task(name="t")], plugins={"mpi": [], "svc": ["--disable-network-policy"]})
    )["spec"]
    assert spec["plugins"] == {"mpi": [], "ssh": [], "svc": ["--disable-network-policy"]}


def test_scheduler_name_comes_from_the_first_configured_name() -> None:
    config = AdmissionConfig(scheduler_names=("custom", "volcano"))
    spec = mutated(bare_job(tasks=[bare_task(name="t")]), config=config)["spec"]
    assert spec["schedulerName"] == "custom"


def test_a_job_without_spec_gets_one() -> None:
    manifest = {"apiVersion": BATCH, "kind": "Job", "metadata": {"name": "j"}}
    spec = mutated(manifest)["spec"]
    assert spec == {"queue": "default", "schedulerName": "volcano", "maxRetry": 3, "minAvailable": 0}


def test_only_create_is_mutated() -> None:
    verdict = run("/jobs/mutate", bare_job(tasks=[bare_task()]), operation=Operation.UPDATE)
    assert (verdict.allowed, verdict.message) == (False, "expect operation to be 'CREATE' ")


def test_without_the_raw_object_the_typed_tasks_are_written_back() -> None:
    manifest = bare_job(tasks=[bare_task(name="t")])
    request = AdmissionInput(Operation.CREATE, decode(manifest))
    [op] = [op for op in mutate_job(request).patch if op["path"] == "/spec/tasks"]
    assert op["value"][0]["template"]["spec"]["containers"] == [{**container(), "resources": {}}]
