"""``pyroclast scheduler``: the entry point the umbrella command dispatches to."""

from pyroclast.scheduler.service.main import main

__all__ = ["main"]
