"""`vcctl`, Volcano's command-line tool."""

from __future__ import annotations

import sys
from collections.abc import Sequence

VERSION = "0.1.0"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["version"]:
        print(f"vcctl (pyroclast) {VERSION}")
        return 0
    print("usage: vcctl version", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
