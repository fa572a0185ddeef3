"""Pyroclast scheduler."""

# (importing pyroclast.common first serves the compiled core, when there is one, before
# any of this package's modules is found: see ``pyroclast.common.native``)
import pyroclast.common  # noqa: F401
