"""Built-in plugins, registered in :data:`pyroclast.scheduler.framework.PLUGINS` on import.

To add one: write ``plugins/<name>.py`` with a :class:`~pyroclast.scheduler.framework.Plugin`
subclass and append it to ``BUILTIN_PLUGINS`` below.
"""

from pyroclast.scheduler.framework.registry import Plugin, register_plugin
from pyroclast.scheduler.plugins.conformance import ConformancePlugin
from pyroclast.scheduler.plugins.gang import GangPlugin
from pyroclast.scheduler.plugins.priority import PriorityPlugin

__all__ = ["BUILTIN_PLUGINS", "ConformancePlugin", "GangPlugin", "PriorityPlugin"]

BUILTIN_PLUGINS: tuple[type[Plugin], ...] = (PriorityPlugin, GangPlugin, ConformancePlugin)

for _plugin in BUILTIN_PLUGINS:
    register_plugin(_plugin.name, _plugin)
