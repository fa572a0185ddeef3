"""Built-in plugins, registered in :data:`pyroclast.scheduler.framework.PLUGINS` on import.

To add one: write ``plugins/<name>.py`` with a :class:`~pyroclast.scheduler.framework.Plugin`
subclass and append it to ``BUILTIN_PLUGINS`` below.
"""

from pyroclast.scheduler.framework.registry import Plugin, register_plugin
from pyroclast.scheduler.plugins.binpack import BinpackPlugin
from pyroclast.scheduler.plugins.conformance import ConformancePlugin
from pyroclast.scheduler.plugins.drf import DrfPlugin
from pyroclast.scheduler.plugins.gang import GangPlugin
from pyroclast.scheduler.plugins.nodeorder import NodeOrderPlugin
from pyroclast.scheduler.plugins.overcommit import OvercommitPlugin
from pyroclast.scheduler.plugins.predicates import PredicatesPlugin
from pyroclast.scheduler.plugins.priority import PriorityPlugin
from pyroclast.scheduler.plugins.proportion import ProportionPlugin

__all__ = [
    "BUILTIN_PLUGINS",
    "BinpackPlugin",
    "ConformancePlugin",
    "DrfPlugin",
    "GangPlugin",
    "NodeOrderPlugin",
    "OvercommitPlugin",
    "PredicatesPlugin",
    "PriorityPlugin",
    "ProportionPlugin",
]

BUILTIN_PLUGINS: tuple[type[Plugin], ...] = (
    PriorityPlugin,
    GangPlugin,
    ConformancePlugin,
    OvercommitPlugin,
    DrfPlugin,
    PredicatesPlugin,
    ProportionPlugin,
    NodeOrderPlugin,
    BinpackPlugin,
)

for _plugin in BUILTIN_PLUGINS:
    register_plugin(_plugin.name, _plugin)
