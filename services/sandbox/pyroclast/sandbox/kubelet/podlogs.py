"""Synthetic container logs, in the files the API server serves as ``pods/log``.

``<logs dir>/<namespace>/<pod>/<container>.log``, one line per entry, as the container would
have printed it (the API server adds timestamps when ``kubectl logs --timestamps`` asks).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterable
from pathlib import Path

Entry = tuple[str, str, str, str]  # namespace, pod, container, line


class PodLogs:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._made: set[Path] = set()  # directories made (a removed one is made again on demand)

    def path(self, namespace: str, pod: str, container: str) -> Path:
        return self.root / namespace / pod / f"{container}.log"

    async def write(self, entries: Iterable[Entry]) -> None:
        """Append lines off the event loop."""
        batch = list(entries)
        if batch:
            await asyncio.to_thread(self._append, batch)

    async def rotate(self, namespace: str, pod: str, container: str) -> None:
        """A container restarts: its log becomes ``<container>.previous.log`` (``kubectl logs -p``)."""
        current = self.path(namespace, pod, container)
        await asyncio.to_thread(_replace_if_exists, current, current.with_suffix(".previous.log"))

    async def remove(self, namespace: str, pod: str) -> None:
        """Forget a deleted pod's logs."""
        directory = self.root / namespace / pod
        self._made.discard(directory)
        await asyncio.to_thread(shutil.rmtree, directory, True)

    def _append(self, batch: list[Entry]) -> None:
        by_file: dict[Path, list[str]] = {}
        for namespace, pod, container, line in batch:
            by_file.setdefault(self.path(namespace, pod, container), []).append(f"{line}\n")
        for path, lines in by_file.items():
            if path.parent not in self._made:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._made.add(path.parent)
            try:
                handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 - reopened below if gone
            except FileNotFoundError:  # the directory was removed meanwhile
                path.parent.mkdir(parents=True, exist_ok=True)
                handle = open(path, "a", encoding="utf-8")  # noqa: SIM115
            with handle:
                handle.write("".join(lines))


def _replace_if_exists(source: Path, target: Path) -> None:
    if source.exists():
        source.replace(target)
