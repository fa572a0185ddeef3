"""``bus.volcano.sh/v1alpha1``: Command, a request to act on a job or queue."""

from __future__ import annotations

from pyroclast.common.models.meta import ListMeta, ObjectMeta, OwnerReference
from pyroclast.common.models.wire import Model

BUS_API_VERSION = "bus.volcano.sh/v1alpha1"


class Command(Model, kw_only=True):
    """Asks a controller to run ``action`` (see `Action`) on the ``target`` object."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta | None = None
    action: str | None = None
    target: OwnerReference | None = None
    reason: str | None = None
    message: str | None = None


class CommandList(Model, kw_only=True):
    api_version: str | None = None
    kind: str | None = None
    metadata: ListMeta | None = None
    items: list[Command] | None = None
