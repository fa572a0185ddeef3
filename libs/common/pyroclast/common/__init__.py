"""Pyroclast common."""

from pyroclast.common import native as _native

# The compiled scheduling core (mypyc), when a build matching the sources exists (see
# ``native``): installed before any module it may replace is imported.
_native.install()
