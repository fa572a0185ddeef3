"""CRDs are generated from the models, carry Volcano's names and columns, and match deploy/."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import msgspec
import pytest

from pyroclast.common.crdgen import (
    CRD_SPECS,
    QUANTITY_PATTERN,
    CrdSpec,
    all_crds,
    crd_for,
    render,
    schema_for,
)

REPO = Path(__file__).resolve().parents[3]


class Meta(msgspec.Struct, rename="camel", omit_defaults=True):
    name: str | None = None


class ObjectMeta(Meta):
    pass


class Inner(msgspec.Struct, rename="camel", omit_defaults=True):
    replicas: Annotated[int | None, msgspec.Meta(extra_json_schema={"minimum": 0})] = None
    name: Annotated[str, msgspec.Meta(pattern="^[a-z]+$", max_length=63)] = ""
    port: int | str | None = None
    limits: dict[str, str | int | float] | None = None
    raw: dict[str, Any] | None = None
    anything: Any = None


class Toy(msgspec.Struct, rename="camel", omit_defaults=True):
    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta | None = None
    spec: Inner | None = None
    tasks: list[Inner] | None = None


def test_schema_maps_types_and_validation() -> None:
    schema = schema_for(Toy)
    assert schema["properties"]["metadata"] == {"type": "object"}
    inner = schema["properties"]["spec"]["properties"]
    assert inner["replicas"] == {"type": "integer", "minimum": 0}
    assert inner["name"] == {"type": "string", "pattern": "^[a-z]+$", "maxLength": 63}
    assert inner["port"]["x-kubernetes-int-or-string"] is True
    assert inner["limits"]["additionalProperties"]["pattern"] == QUANTITY_PATTERN
    assert inner["raw"] == {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    assert inner["anything"] == {"x-kubernetes-preserve-unknown-fields": True}
    assert schema["properties"]["tasks"]["items"]["type"] == "object"


def test_crd_shape() -> None:
    spec = CrdSpec("example.dev", "v1", "Toy", "toys", "toy", short_names=("ty",))
    crd = crd_for(spec, Toy)
    assert crd["metadata"]["name"] == "toys.example.dev"
    assert crd["spec"]["names"]["shortNames"] == ["ty"]
    assert crd["spec"]["versions"][0]["subresources"] == {"status": {}}
    assert render(crd) == render(crd_for(spec, Toy))  # stable output


def _crds() -> dict[str, dict[str, Any]]:
    return {crd["spec"]["names"]["kind"]: crd for crd in all_crds().values()}


def test_volcano_short_names_and_columns() -> None:
    crds = _crds()
    assert crds["Job"]["spec"]["names"]["shortNames"] == ["vcjob", "vj"]
    assert crds["PodGroup"]["spec"]["names"]["shortNames"] == ["pg", "podgroup-v1beta1"]
    assert crds["Queue"]["spec"]["names"]["shortNames"] == ["q", "queue-v1beta1"]
    assert crds["Queue"]["spec"]["scope"] == "Cluster"
    columns = [c["name"] for c in crds["Job"]["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert columns == ["STATUS", "minAvailable", "RUNNINGS", "AGE", "QUEUE"]
    assert "subresources" not in crds["PodGroup"]["spec"]["versions"][0]
    job_spec = crds["Job"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert {"tasks", "minAvailable", "queue", "policies", "plugins"} <= set(job_spec["properties"])
    template = job_spec["properties"]["tasks"]["items"]["properties"]["template"]["properties"]
    assert set(template["metadata"]["properties"]) == {
        "annotations",
        "finalizers",
        "labels",
        "name",
        "namespace",
    }


def test_every_spec_has_a_model() -> None:
    assert len(all_crds()) == len(CRD_SPECS)


def test_committed_crds_match_the_models() -> None:
    folder = REPO / "deploy" / "crds"
    for filename, crd in all_crds().items():
        path = folder / filename
        assert path.exists(), f"{path} is missing: run `make crds`"
        assert path.read_text() == render(crd), f"{path} is out of date with the models: run `make crds`"


def test_unsupported_union_is_reported() -> None:
    class Bad(msgspec.Struct):
        value: int | bool | None = None

    from pyroclast.common.crdgen import SchemaError

    with pytest.raises(SchemaError, match="value"):
        schema_for(Bad)
