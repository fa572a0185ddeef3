"""CRD structural schema validation, defaulting and pruning; JSONPath for printer columns; tables."""

from __future__ import annotations

from pyroclast.sandbox.apiserver.crds import apply_defaults, prune, validate_schema
from pyroclast.sandbox.apiserver.jsonpath import evaluate
from pyroclast.sandbox.apiserver.resources import PrinterColumn, ResourceType
from pyroclast.sandbox.apiserver.tables import human_duration, to_table

SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["minAvailable"],
            "properties": {
                "minAvailable": {"type": "integer", "minimum": 0},
                "queue": {"type": "string", "default": "default", "pattern": "^[a-z]+$"},
                "policy": {"type": "string", "enum": ["a", "b"]},
                "port": {"x-kubernetes-int-or-string": True},
                "tasks": {
                    "type": "array",
                    "maxItems": 2,
                    "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                },
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}


def messages(obj: dict[str, object]) -> list[str]:
    return [f"{c.field}: {c.message}" for c in validate_schema(SCHEMA, obj)]


def test_type_error_names_the_field() -> None:
    expected = 'Invalid value: "string": spec.minAvailable in body must be of type integer: "string"'
    assert messages({"spec": {"minAvailable": "string"}}) == [f"spec.minAvailable: {expected}"]


def test_required_enum_minimum_pattern_items() -> None:
    out = messages({"spec": {"queue": "Bad!", "policy": "c", "tasks": [{}, {}, {}], "port": 1.5}})
    assert "spec.minAvailable: Required value" in out
    assert 'spec.policy: Unsupported value: "c": supported values: "a", "b"' in out
    assert "spec.queue: Invalid value: \"Bad!\": spec.queue in body should match '^[a-z]+$'" in out
    assert "spec.tasks: Too many: 3: must have at most 2 items" in out
    assert any(m.startswith("spec.port: Invalid value") for m in out)
    assert messages({"spec": {"minAvailable": -1}}) == [
        "spec.minAvailable: Invalid value: -1: spec.minAvailable in body should be greater than or equal to 0"
    ]
    assert messages({"spec": {"minAvailable": 1, "port": "80%", "labels": {"a": "b"}}}) == []


def test_defaults_and_pruning() -> None:
    obj = {
        "apiVersion": "x/v1",
        "kind": "X",
        "metadata": {"name": "n"},
        "spec": {
            "minAvailable": 1,
            "junk": 1,
            "free": {"anything": {"goes": 1}},
            "tasks": [{"name": "t", "extra": 2}],
        },
        "top": 1,
    }
    apply_defaults(SCHEMA, obj)
    dropped = prune(SCHEMA, obj)
    assert sorted(dropped) == ["spec.junk", "spec.tasks[0].extra", "top"]
    assert obj["spec"] == {
        "minAvailable": 1,
        "queue": "default",
        "free": {"anything": {"goes": 1}},
        "tasks": [{"name": "t"}],
    }
    assert obj["metadata"] == {"name": "n"}


def test_jsonpath() -> None:
    obj = {
        "status": {"conditions": [{"type": "A", "status": "False"}, {"type": "Ready", "status": "True"}]},
        "spec": {"tasks": [{"replicas": 2}, {"replicas": 3}], "x.y": 1},
    }
    assert evaluate(obj, '.status.conditions[?(@.type=="Ready")].status') == ["True"]
    assert evaluate(obj, ".spec.tasks[*].replicas") == [2, 3]
    assert evaluate(obj, ".spec.tasks[1].replicas") == [3]
    assert evaluate(obj, "{.spec.tasks[-1].replicas}") == [3]
    assert evaluate(obj, ".spec['x.y']") == [1]
    assert evaluate(obj, ".missing.field") == []
    assert evaluate(obj, "..replicas") == [2, 3]


def test_human_duration() -> None:
    assert [
        human_duration(s) for s in (5, 119, 150, 600, 3 * 3600 + 60, 30 * 3600, 3 * 86400 + 3600, 400 * 86400)
    ] == [
        "5s",
        "119s",
        "2m30s",
        "10m",
        "3h1m",
        "30h",
        "3d1h",
        "400d",
    ]


def test_crd_table_columns() -> None:
    rt = ResourceType(
        "batch.volcano.sh",
        "v1alpha1",
        "Job",
        "jobs",
        "job",
        True,
        builtin=False,
        printer_columns=(
            PrinterColumn("Status", "string", ".status.state.phase"),
            PrinterColumn("minAvailable", "integer", ".spec.minAvailable"),
            PrinterColumn("Wide", "string", ".spec.queue", priority=1),
        ),
    )
    obj = {
        "metadata": {"name": "j"},
        "spec": {"minAvailable": 2, "queue": "q"},
        "status": {"state": {"phase": "Running"}},
    }
    table = to_table(rt, [obj])
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Status", "minAvailable", "Wide"]
    assert table["columnDefinitions"][3]["priority"] == 1
    assert table["rows"][0]["cells"] == ["j", "Running", 2, "q"]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
