"""Pyroclast common."""
