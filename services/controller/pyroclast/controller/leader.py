"""Leader election through a coordination.k8s.io/v1 Lease, as client-go's leaderelection.

A candidate takes the lease when it is free or its holder has not renewed it for
``lease_duration`` seconds, judged by this process's own clock from when it last saw the
lease change (so clock skew between replicas does not matter). The leader renews every
``retry_period``; if it cannot renew within ``renew_deadline`` it stops leading. On a clean
shutdown the leader releases the lease so another replica takes over at once.

Only the leader runs the reconcilers and the cache publisher (see ``publisher``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import msgspec

from pyroclast.common.logging import get_logger
from pyroclast.common.models import Lease, ObjectMeta
from pyroclast.common.models.core import LeaseSpec
from pyroclast.controller import metrics
from pyroclast.controller.kube import resources
from pyroclast.controller.kube.client import ApiError, KubeClient

log = get_logger(__name__)


@dataclass(frozen=True)
class LeaderSettings:
    name: str = "pyroclast-controller"
    namespace: str = "kube-system"
    identity: str = ""
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0


def micro_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(self, kube: KubeClient, settings: LeaderSettings) -> None:
        self.kube = kube
        self.settings = settings
        self.leading = asyncio.Event()
        self._observed: tuple[str, str] | None = None
        self._observed_at = 0.0
        self._log = log.bind(key=f"{settings.namespace}/{settings.name}", identity=settings.identity)

    def _spec(self, lease: Lease | None, now: datetime) -> LeaseSpec:
        old = lease.spec if lease and lease.spec else LeaseSpec()
        same = old.holder_identity == self.settings.identity
        return LeaseSpec(
            holder_identity=self.settings.identity,
            lease_duration_seconds=max(1, int(self.settings.lease_duration)),
            acquire_time=old.acquire_time if same and old.acquire_time else micro_time(now),
            renew_time=micro_time(now),
            lease_transitions=(old.lease_transitions or 0) + (0 if same or lease is None else 1),
        )

    def _expired(self, lease: Lease) -> bool:
        spec = lease.spec or LeaseSpec()
        seen = (spec.holder_identity or "", spec.renew_time or "")
        if seen != self._observed:
            self._observed, self._observed_at = seen, time.monotonic()
        if not spec.holder_identity:
            return True
        duration = spec.lease_duration_seconds or self.settings.lease_duration
        return time.monotonic() - self._observed_at > duration

    async def try_acquire_or_renew(self) -> bool:
        s = self.settings
        now = datetime.now(UTC)
        lease = await self.kube.get_or_none(resources.LEASES, s.namespace, s.name)
        try:
            if lease is None:
                created = Lease(
                    metadata=ObjectMeta(name=s.name, namespace=s.namespace), spec=self._spec(None, now)
                )
                await self.kube.create(resources.LEASES, created, s.namespace)
                return True
            holder = lease.spec.holder_identity if lease.spec else None
            if holder != s.identity and not self._expired(lease):
                return False
            await self.kube.replace(
                resources.LEASES, msgspec.structs.replace(lease, spec=self._spec(lease, now))
            )
            return True
        except ApiError as err:
            if err.status == 409:
                return False
            raise

    async def release(self) -> None:
        s = self.settings
        with contextlib.suppress(ApiError, TimeoutError, OSError, aiohttp.ClientError):
            lease = await self.kube.get_or_none(resources.LEASES, s.namespace, s.name)
            if lease is None or lease.spec is None or lease.spec.holder_identity != s.identity:
                return
            spec = msgspec.structs.replace(lease.spec, holder_identity="", lease_duration_seconds=1)
            await self.kube.replace(resources.LEASES, msgspec.structs.replace(lease, spec=spec))
            self._log.info("leader lease released")

    async def _attempt(self) -> bool:
        try:
            async with asyncio.timeout(self.settings.renew_deadline):
                return await self.try_acquire_or_renew()
        except (ApiError, TimeoutError, OSError, aiohttp.ClientError) as err:
            self._log.warning("lease request failed", error=repr(err))
            return False

    async def run(
        self, stop: asyncio.Event, lead: Callable[[asyncio.Event], Coroutine[Any, Any, None]]
    ) -> bool:
        """Campaign until ``stop``; while leading, run ``lead(leading_stop)``.

        Returns True on a clean stop, False when leadership was lost (the caller should
        exit so that nothing half-led keeps running).
        """
        while not stop.is_set():
            if await self._attempt():
                break
            await _sleep(stop, self.settings.retry_period)
        if stop.is_set():
            return True
        self._log.info("became leader")
        self.leading.set()
        metrics.IS_LEADER.set(1)
        leading_stop = asyncio.Event()
        lost = False
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(lead(leading_stop))
                last_renew = time.monotonic()
                while not stop.is_set():
                    await _sleep(stop, self.settings.retry_period)
                    if stop.is_set():
                        break
                    if await self._attempt():
                        last_renew = time.monotonic()
                    elif time.monotonic() - last_renew > self.settings.renew_deadline:
                        self._log.error("leader lease lost")
                        lost = True
                        break
                leading_stop.set()
        finally:
            self.leading.clear()
            metrics.IS_LEADER.set(0)
            if not lost:
                await self.release()
        return not lost


async def _sleep(stop: asyncio.Event, delay: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), delay)
