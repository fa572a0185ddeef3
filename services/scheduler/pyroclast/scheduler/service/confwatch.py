"""The scheduler conf: read from a file, reloaded when the file changes.

Without a path the conf is Volcano's default. A conf that cannot be used (unreadable,
invalid YAML, an unknown plugin...) never replaces a good one: the error, which names the
field, is logged and the last good conf stays in force. At start-up a bad file falls back
to the default conf, as Volcano's scheduler does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass

from pyroclast.common.logging import get_logger
from pyroclast.scheduler.conf import VOLCANO_DEFAULT_CONF, ConfError, SchedulerConf, parse_conf

__all__ = ["ConfWatcher"]

log = get_logger(__name__)


@dataclass(frozen=True)
class _Stamp:
    mtime_ns: int
    size: int
    inode: int


class ConfWatcher:
    """Holds the conf in force; :meth:`poll` (or :meth:`run`) picks up changes of the file."""

    def __init__(
        self,
        path: str | None,
        *,
        interval: float = 2.0,
        parse: Callable[[str], SchedulerConf] = parse_conf,
        default_text: str = VOLCANO_DEFAULT_CONF,
    ) -> None:
        self.path = path or None
        self.interval = interval
        self._parse = parse
        self._default_text = default_text
        self._stamp: _Stamp | None = None
        self._text: str | None = None
        self._conf: SchedulerConf | None = None
        self.reloads = 0
        self.errors = 0
        self.last_error = ""
        self.on_change: Callable[[SchedulerConf], None] | None = None

    @property
    def conf(self) -> SchedulerConf:
        if self._conf is None:
            raise RuntimeError("conf watcher: load() first")
        return self._conf

    def load(self) -> SchedulerConf:
        """The first conf: the file's, else the default; raises ConfError if neither works."""
        if self.path is not None:
            try:
                read = self._read()
            except OSError as err:
                self._failed(err, fallback=True)
            else:
                try:
                    self._install(read)
                    return self.conf
                except ConfError as err:
                    self._text, self._stamp = read  # a later poll reports only a new change
                    self._failed(err, fallback=True)
        try:
            self._conf = self._parse(self._default_text)
        except ConfError as err:
            where = f"{self.path}: {self.last_error}; " if self.path else ""
            raise ConfError(f"{where}default conf: {err}") from err
        log.info("scheduler conf loaded", source="default", actions=list(self._conf.actions))
        return self._conf

    def poll(self) -> bool:
        """Reload if the file changed; True when a new conf took effect."""
        if self.path is None:
            return False
        try:
            stamp = self._stat()
        except OSError as err:
            if self._stamp is not None:
                self._failed(err)
                self._stamp = None
            return False
        if stamp == self._stamp:
            return False
        try:
            text, stamp = self._read()
        except OSError as err:
            self._failed(err)
            return False
        if text == self._text:
            self._stamp = stamp
            return False
        try:
            self._install((text, stamp))
        except ConfError as err:
            self._stamp = stamp  # report a bad file once, not at every poll
            self._text = text
            self._failed(err)
            return False
        self.reloads += 1
        if self.on_change is not None:
            self.on_change(self.conf)
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Poll every ``interval`` seconds until ``stop`` is set."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)
            if not stop.is_set():
                self.poll()

    def _stat(self) -> _Stamp:
        assert self.path is not None
        st = os.stat(self.path)
        return _Stamp(st.st_mtime_ns, st.st_size, st.st_ino)

    def _read(self) -> tuple[str, _Stamp]:
        assert self.path is not None
        stamp = self._stat()
        with open(self.path, encoding="utf-8") as f:
            return f.read(), stamp

    def _install(self, read: tuple[str, _Stamp]) -> None:
        text, stamp = read
        conf = self._parse(text)
        self._conf, self._text, self._stamp = conf, text, stamp
        self.last_error = ""
        log.info(
            "scheduler conf loaded", source=self.path, actions=list(conf.actions), plugins=conf.plugin_names()
        )

    def _failed(self, err: Exception, *, fallback: bool = False) -> None:
        self.errors += 1
        self.last_error = str(err) if isinstance(err, ConfError) else f"cannot read: {err}"
        log.error(
            "scheduler conf rejected; keeping the last good one"
            if not fallback
            else "scheduler conf rejected; using the default",
            path=self.path,
            error=self.last_error,
        )
