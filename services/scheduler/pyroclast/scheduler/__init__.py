"""Pyroclast scheduler."""

from pyroclast.scheduler import native as _native

# The compiled core (mypyc), when a build matching the sources exists (see ``native``).
_native.install()
