"""Wire-level building blocks shared by every model module.

`Model` fixes the encoding conventions once: camelCase names on the wire, fields left at
their default (``None``) are omitted, and unknown fields are rejected. The aliases name
the loosely typed values Kubernetes puts on the wire.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Final, TypeAlias

import msgspec

Quantity: TypeAlias = str | int | float
"""A resource quantity as written (``"500m"``, ``2``, ``"4Gi"``); parse it with
:mod:`pyroclast.common.resources`."""

IntOrString: TypeAlias = int | str
"""A port number or name, or a count or percentage (``1``, ``"25%"``)."""

Time: TypeAlias = str
"""An RFC 3339 timestamp, kept as its text."""

Duration: TypeAlias = str
"""A Go duration string such as ``"90s"`` or ``"1h30m"``."""


class Model(msgspec.Struct, rename="camel", omit_defaults=True, forbid_unknown_fields=True, kw_only=True):
    """Base of every API struct; subclasses also pass ``kw_only=True``, so fields go by name."""


def openapi(**schema: Any) -> msgspec.Meta:
    """Validation for the generated CRD schema (``minimum=0``, ``maxLength=253``, ...).

    The API server enforces it; decoding does not, so admission still sees a bad value.
    """
    return msgspec.Meta(extra_json_schema=schema)


def one_of(values: type[StrEnum]) -> msgspec.Meta:
    """CRD validation restricting a string field to the members of ``values``."""
    return openapi(enum=[member.value for member in values])


DNS_SUBDOMAIN: Final = {
    "maxLength": 253,
    "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
}
"""Schema of a name that must be an RFC 1123 subdomain."""

DNS_LABEL: Final = {"maxLength": 63, "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}
"""Schema of a name that must be an RFC 1123 label."""

NonNegative: TypeAlias = Annotated[int | None, openapi(minimum=0)]
"""An optional count that may not be negative."""
