"""One informer per (resource, label selector), shared by every component that asks for it."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

import msgspec

from pyroclast.controller.kube.client import KubeClient
from pyroclast.controller.kube.informer import Informer
from pyroclast.controller.kube.resources import ResourceType

T = TypeVar("T", bound=msgspec.Struct)


class InformerFactory:
    """Hands out shared informers; :meth:`run` runs all of them until ``stop``."""

    def __init__(self, kube: KubeClient, *, namespace: str = "", watch_seconds: int = 300) -> None:
        self.kube = kube
        self.namespace = namespace
        self.watch_seconds = watch_seconds
        self._informers: dict[tuple[str, str], Informer[Any]] = {}

    def informer(self, rt: ResourceType[T], *, label_selector: str = "") -> Informer[T]:
        key = (rt.path(), label_selector)
        found = self._informers.get(key)
        if found is None:
            namespace = self.namespace if rt.namespaced else ""
            found = Informer(
                self.kube,
                rt,
                namespace=namespace,
                label_selector=label_selector,
                watch_seconds=self.watch_seconds,
            )
            self._informers[key] = found
        informer: Informer[T] = found
        return informer

    @property
    def informers(self) -> list[Informer[Any]]:
        return list(self._informers.values())

    def synced(self) -> bool:
        return all(i.cache.synced.is_set() for i in self._informers.values())

    async def run(self, stop: asyncio.Event) -> None:
        async with asyncio.TaskGroup() as group:
            for informer in self._informers.values():
                group.create_task(informer.run(stop))
