"""Pyroclast controller."""
