"""Pyroclast webhook."""
