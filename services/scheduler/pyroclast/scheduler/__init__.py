"""Pyroclast scheduler."""
