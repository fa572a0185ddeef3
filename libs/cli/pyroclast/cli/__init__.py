"""Pyroclast cli."""
