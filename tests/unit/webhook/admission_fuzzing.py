"""Mutated manifests for fuzzing the admission chain (hypothesis strategies).

`BASES` holds one valid object per resource; `mutate` sets, deletes or deeply nests 1 to 4
of its fields with wrong types, huge numbers, unicode and odd strings.
"""

from __future__ import annotations

import copy
from typing import Any

from admission_support import BATCH, FLOW, SCHEDULING, job, queue, task
from hypothesis import strategies as st

BASES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "batch.volcano.sh",
        "jobs",
        job(
            tasks=[
                task(
                    "a",
                    replicas=2,
                    dependsOn={"name": ["b"]},
                    policies=[{"event": "PodFailed", "action": "RestartJob"}],
                ),
                task("b"),
            ],
            plugins={"mpi": ["--master=a"]},
            volumes=[{"mountPath": "/d", "volumeClaimName": "pvc"}],
            policies=[{"exitCode": 3, "action": "AbortJob"}],
        ),
    ),
    (
        "scheduling.volcano.sh",
        "queues",
        queue(
            "q",
            parent="p",
            capability={"cpu": 2, "memory": "4Gi"},
            deserved={"cpu": 1},
            guarantee={"resource": {"cpu": 1}},
            annotations={"volcano.sh/hierarchy": "a/b", "volcano.sh/hierarchy-weights": "1/2"},
        ),
    ),
    (
        "scheduling.volcano.sh",
        "podgroups",
        {
            "apiVersion": SCHEDULING,
            "kind": "PodGroup",
            "metadata": {"name": "pg"},
            "spec": {"queue": "default", "minMember": 1},
        },
    ),
    (
        "flow.volcano.sh",
        "jobflows",
        {
            "apiVersion": FLOW,
            "kind": "JobFlow",
            "metadata": {"name": "f"},
            "spec": {"flows": [{"name": "a"}, {"name": "b", "dependsOn": {"targets": ["a"]}}]},
        },
    ),
    (
        "batch.volcano.sh",
        "cronjobs",
        {
            "apiVersion": BATCH,
            "kind": "CronJob",
            "metadata": {"name": "c"},
            "spec": {"schedule": "* * * * *", "timeZone": "UTC", "jobTemplate": {}},
        },
    ),
    (
        "",
        "pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "p",
                "annotations": {
                    "volcano.sh/jdb-min-available": "1",
                    "scheduling.volcano.sh/queue-allocation-gate": "true",
                },
            },
            "spec": {"schedulerName": "volcano", "containers": [{"name": "c", "image": "i"}]},
        },
    ),
]

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=20) | st.sampled_from(
    ["", "*", "-1", "1e400", "Open", "root", "default", "a/b", "1/0", "50%"]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | TEXT
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def paths_of(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += paths_of(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += paths_of(value, (*prefix, index))
    return out


def mutate(doc: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 4))):
        paths = [p for p in paths_of(doc) if p and p[0] not in ("apiVersion", "kind")]
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        parent: Any = doc
        for token in path[:-1]:
            parent = parent[token]
        action = data.draw(st.sampled_from(["set", "delete", "nest"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "nest":
            value: Any = data.draw(SCALARS)
            for _ in range(data.draw(st.integers(1, 30))):
                value = data.draw(st.sampled_from([[value], {"spec": value}]))
            parent[path[-1]] = value
        else:
            parent[path[-1]] = data.draw(VALUES)
    return doc
