"""``python -m pyroclast.scheduler.build_native build|status``: compile the scheduler's core
with mypyc, or say whether a build is in use (see :mod:`pyroclast.common.native`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from pyroclast.common.native import build, sources, status

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["build"]:
        try:
            manifest = build()
        except (RuntimeError, OSError) as exc:
            print(f"pyroclast scheduler: native build failed, the scheduler runs from its sources: {exc}")
            return 1
        print(f"pyroclast scheduler: compiled {len(sources())} modules ({manifest.parent})")
        return 0
    if args == ["status"]:
        usable, why = status()
        print(f"native: {'yes' if usable else 'no'} ({why})")
        return 0
    print("usage: python -m pyroclast.scheduler.build_native build|status", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
