"""The one error type commands raise; ``vcctl`` prints it as one line and exits non-zero."""

from __future__ import annotations


class VcctlError(Exception):
    """A problem to report to the user as ``vcctl: <message>``."""

    def __init__(self, message: str, *, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message
