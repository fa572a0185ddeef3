"""Kubernetes apimachinery validation texts: names, field errors, Go value formatting."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

# --- Go formatting --------------------------------------------------------------------------

_GO_ESCAPES = {"\a": r"\a", "\b": r"\b", "\f": r"\f", "\n": r"\n", "\r": r"\r", "\t": r"\t", "\v": r"\v"}


def go_quote(text: str) -> str:
    """Go's ``%q`` / ``strconv.Quote`` of a string."""
    out = ['"']
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch == " " or (ch.isprintable() and unicodedata.category(ch) not in ("Zs", "Cf")):
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def json_quote(text: str) -> str:
    """Go's ``json.Marshal`` of a string (HTML-safe escaping)."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20 or ch in "<>&" or code in (0x2028, 0x2029):
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_list(items: Iterable[Any]) -> str:
    """Go's ``%v`` of a slice of strings or numbers: ``[a b c]``."""
    return "[" + " ".join(str(i) for i in items) + "]"


# --- field errors -------------------------------------------------------------------------


def _value(value: Any, named: bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json_quote(str(value)) if named else go_quote(str(value))


def invalid(path: str, value: Any, detail: str = "", *, named: bool = False) -> str:
    """``field.Invalid(path, value, detail).Error()``; ``named`` for Go named string types."""
    body = f"{path}: Invalid value: {_value(value, named)}"
    return f"{body}: {detail}" if detail else body


def required(path: str, detail: str = "") -> str:
    """``field.Required(path, detail).Error()``."""
    return f"{path}: Required value: {detail}" if detail else f"{path}: Required value"


def duplicate(path: str, value: Any) -> str:
    """``field.Duplicate(path, value).Error()``."""
    return f"{path}: Duplicate value: {_value(value, False)}"


def not_supported(path: str, value: Any, valid: Iterable[str]) -> str:
    """``field.NotSupported(path, value, valid).Error()``."""
    supported = ", ".join(go_quote(v) for v in valid)
    return f"{path}: Unsupported value: {_value(value, True)}: supported values: {supported}"


def aggregate(messages: list[str]) -> str:
    """``ErrorList.ToAggregate().Error()``: one message bare, several as ``[a, b]`` (deduplicated)."""
    unique = list(dict.fromkeys(messages))
    if len(unique) == 1:
        return unique[0]
    return "[" + ", ".join(unique) + "]"


def multierror(messages: list[str]) -> str:
    """hashicorp/go-multierror's default text."""
    if len(messages) == 1:
        return f"1 error occurred:\n\t* {messages[0]}\n\n"
    points = "\n\t".join(f"* {m}" for m in messages)
    return f"{len(messages)} errors occurred:\n\t{points}\n\n"


# --- names --------------------------------------------------------------------------------

DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*"
_LABEL_RE = re.compile(f"^{DNS1123_LABEL_FMT}\\Z")
_SUBDOMAIN_RE = re.compile(f"^{DNS1123_SUBDOMAIN_FMT}\\Z")
_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME_RE = re.compile(f"^{_QNAME_FMT}\\Z")
_QNAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character"
)


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """apimachinery's ``RegexError``."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def _nbytes(value: str) -> int:
    return len(value.encode("utf-8", "surrogatepass"))


def is_dns1123_label(value: str, unit: str = "characters") -> list[str]:
    """``IsDNS1123Label``; apimachinery's ``content`` package says ``bytes`` where it says ``characters``."""
    errs = []
    if _nbytes(value) > 63:
        errs.append(f"must be no more than 63 {unit}")
    if not _LABEL_RE.match(value):
        if _SUBDOMAIN_RE.match(value):
            errs.append("must not contain dots")
        else:
            errs.append(
                regex_error(
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                    "and must start and end with an alphanumeric character",
                    DNS1123_LABEL_FMT,
                    "my-name",
                    "123-abc",
                )
            )
    return errs


def is_dns1123_subdomain(value: str, unit: str = "characters") -> list[str]:
    """``IsDNS1123Subdomain``; ``unit`` as in `is_dns1123_label`."""
    errs = []
    if _nbytes(value) > 253:
        errs.append(f"must be no more than 253 {unit}")
    if not _SUBDOMAIN_RE.match(value):
        errs.append(
            regex_error(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                "'-' or '.', and must start and end with an alphanumeric character",
                DNS1123_SUBDOMAIN_FMT,
                "example.com",
            )
        )
    return errs


def is_qualified_name(value: str) -> list[str]:
    """apimachinery's ``IsQualifiedName`` (``content.IsLabelKey``, lengths in bytes)."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs += ["prefix part " + m for m in is_dns1123_subdomain(prefix, "bytes")]
    else:
        return [
            "a valid label key "
            + regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part must be non-empty")
    elif _nbytes(name) > 63:
        errs.append("name part must be no more than 63 bytes")
    if not _QNAME_RE.match(name):
        errs.append("name part " + regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


def go_atoi(text: str) -> int | None:
    """Go's ``strconv.Atoi`` on 64-bit: the integer, or None when it fails."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


def atoi_error(text: str) -> str:
    """The error text of a failed ``strconv.Atoi``."""
    reason = "value out of range" if re.fullmatch(r"[+-]?[0-9]+", text) else "invalid syntax"
    return f"strconv.Atoi: parsing {go_quote(text)}: {reason}"
