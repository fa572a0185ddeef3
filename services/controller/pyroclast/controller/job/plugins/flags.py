"""Plugin arguments, parsed as Go's ``flag`` package parses them.

Parsing stops at the first non-flag argument, at ``--``, or at the first error (an unknown
flag, a bad value); flags parsed before that keep their values, the rest keep defaults.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

FlagValue = str | int | bool

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def _convert(default: FlagValue, text: str) -> FlagValue:
    if isinstance(default, bool):
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(text)
    if isinstance(default, int):
        return int(text.replace("_", ""), 0)
    return text


def parse_flags(args: Sequence[str], defaults: Mapping[str, FlagValue]) -> dict[str, FlagValue]:
    """Values of the flags named in ``defaults`` after reading ``args``."""
    values = dict(defaults)
    i = 0
    while i < len(args):
        arg = args[i]
        if len(arg) < 2 or arg[0] != "-":
            break
        dashes = 2 if arg[1] == "-" else 1
        if arg == "--":
            break
        name = arg[dashes:]
        if not name or name[0] in "-=":
            break
        i += 1
        name, sep, text = name.partition("=")
        if name not in values:
            break
        default = defaults[name]
        if isinstance(default, bool) and not sep:
            values[name] = True
            continue
        if not sep:
            if i >= len(args):
                break
            text = args[i]
            i += 1
        try:
            values[name] = _convert(default, text)
        except ValueError:
            break
    return values
