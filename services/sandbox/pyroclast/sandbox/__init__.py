"""Pyroclast sandbox."""
