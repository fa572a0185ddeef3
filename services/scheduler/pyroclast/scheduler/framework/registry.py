"""Plugin and action registries: what a conf may name.

A plugin module defines a :class:`Plugin` subclass and registers a builder under its
name; ``pyroclast.scheduler.plugins`` registers the built-in ones when imported, as
``pyroclast.scheduler.actions`` does for actions. :func:`load_builtins` imports both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from pyroclast.scheduler.conf import Arguments

if TYPE_CHECKING:
    from pyroclast.scheduler.framework.session import Session

__all__ = [
    "ACTIONS",
    "PLUGINS",
    "Action",
    "ActionBuilder",
    "Plugin",
    "PluginBuilder",
    "load_builtins",
    "register_action",
    "register_plugin",
]


class Plugin(ABC):
    """A scheduler plugin: registers extension functions when a session opens."""

    name: ClassVar[str]

    def __init__(self, arguments: Arguments | None = None) -> None:
        self.arguments = arguments if arguments is not None else Arguments()

    @abstractmethod
    def on_session_open(self, ssn: Session) -> None:
        """Register this plugin's functions with ``ssn`` (``ssn.add_job_order_fn(self.name, ...)``)."""

    def on_session_close(self, ssn: Session) -> None:  # noqa: B027 - optional hook
        """Write what the plugin decided back into the session (conditions, ...)."""


class Action(ABC):
    """A scheduling action run once per session, in the conf's order."""

    name: ClassVar[str]

    @abstractmethod
    def execute(self, ssn: Session) -> None: ...


PluginBuilder = Callable[[Arguments], Plugin]
ActionBuilder = Callable[[], Action]

PLUGINS: dict[str, PluginBuilder] = {}
ACTIONS: dict[str, ActionBuilder] = {}


def register_plugin(name: str, builder: PluginBuilder) -> None:
    PLUGINS[name] = builder


def register_action(name: str, builder: ActionBuilder) -> None:
    ACTIONS[name] = builder


def load_builtins() -> None:
    """Import the built-in plugins and actions so that they are registered."""
    import pyroclast.scheduler.actions
    import pyroclast.scheduler.plugins  # noqa: F401
