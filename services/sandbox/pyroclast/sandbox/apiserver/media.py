"""Content negotiation: what the client accepts (JSON, Table, PartialObjectMetadata, discovery v2)."""

from __future__ import annotations

from dataclasses import dataclass

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
CBOR = "application/cbor"


@dataclass(frozen=True)
class MediaType:
    type: str
    params: dict[str, str]

    @property
    def as_(self) -> str:
        return self.params.get("as", "")

    @property
    def group(self) -> str:
        return self.params.get("g", "")

    @property
    def version(self) -> str:
        return self.params.get("v", "")


def parse_media_types(header: str) -> list[MediaType]:
    out = []
    for part in header.split(","):
        part = part.strip()
        if not part:
            continue
        pieces = [p.strip() for p in part.split(";")]
        params = {}
        for p in pieces[1:]:
            if "=" in p:
                k, v = p.split("=", 1)
                params[k.strip()] = v.strip().strip('"')
        out.append(MediaType(pieces[0].lower(), params))
    return out


def content_type_of(header: str) -> str:
    return header.split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class Negotiated:
    """What to answer with: plain JSON, a Table, or PartialObjectMetadata(List)."""

    kind: str  # "json", "table", "partial", "discovery-v2", "yaml"


def negotiate(accept: str, allow_table: bool, allow_discovery: bool = False) -> Negotiated | None:
    """The first acceptable representation, or None when nothing offered can be served."""
    if not accept:
        return Negotiated("json")
    for mt in parse_media_types(accept):
        if mt.type in (JSON, "*/*", "application/*"):
            if mt.as_ in ("Table",) and mt.group == "meta.k8s.io" and mt.version in ("v1", "v1beta1"):
                if allow_table:
                    return Negotiated("table")
                continue
            if mt.as_ in ("PartialObjectMetadata", "PartialObjectMetadataList") and mt.group == "meta.k8s.io":
                if allow_table:
                    return Negotiated("partial")
                continue
            if mt.as_ == "APIGroupDiscoveryList":
                if allow_discovery and mt.group == "apidiscovery.k8s.io" and mt.version == "v2":
                    return Negotiated("discovery-v2")
                continue
            if mt.as_:
                continue
            return Negotiated("json")
        if mt.type == YAML and not mt.as_:
            return Negotiated("yaml")
    return None
