"""Every NATS name Pyroclast uses: subjects, KV buckets and keys, streams and consumers.

All names start with a cluster prefix (``pyroclast`` by default) so that several
installations can share one NATS account. Nothing outside this module spells a subject.

Object names become subject tokens and KV keys through :func:`encode_token`, a reversible
escape that keeps typical Kubernetes names readable:

* ``A-Z a-z 0-9 -`` are kept as they are;
* ``.`` becomes ``_`` (names such as ``ip-10-0-0-1.ec2.internal`` stay legible);
* every other character (``_``, ``=``, ``/``, spaces, non-ASCII...) becomes ``=XX`` for each
  byte of its UTF-8 form, ``XX`` in upper-case hex;
* the empty string becomes ``=``, so a cluster-scoped object has the namespace token ``=``.

A token therefore never contains ``.``, ``*``, ``>`` or white space, and the encoding of a
name is unique (decoding rejects anything the encoder would not have produced).

KV keys: a cluster-scoped object ``name`` is stored under ``token(name)``; a namespaced
object ``namespace/name`` under ``token(namespace).token(name)``, so a watch on
``token(namespace).>`` follows one namespace.
"""

from __future__ import annotations

import re
from enum import StrEnum

__all__ = [
    "AuditKind",
    "BusNames",
    "CacheKind",
    "DecisionKind",
    "InvalidPrefixError",
    "consumer_next_subject",
    "decode_key",
    "decode_token",
    "encode_key",
    "encode_token",
    "join_ref",
    "key_to_ref",
    "ref_to_key",
    "split_ref",
]

DEFAULT_PREFIX = "pyroclast"
PREFIX_RULE = (
    "1 to 32 characters: lower-case letters, digits and '-', starting with a letter and not ending with '-'"
)
_PREFIX_RE = re.compile(r"^[a-z](?:[a-z0-9-]{0,30}[a-z0-9])?$")
_KEPT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")
_HEX = "0123456789ABCDEF"
EMPTY_TOKEN = "="
JS_API_PREFIX = "$JS.API"


class InvalidPrefixError(ValueError):
    """The cluster prefix breaks the naming rule."""


class CacheKind(StrEnum):
    """The KV buckets of the shared cache (the value names the bucket after the prefix)."""

    NODES = "nodes"
    PODS = "pods"
    PODGROUPS = "podgroups"
    QUEUES = "queues"
    PRIORITY_CLASSES = "priorityclasses"
    EXPLANATIONS = "explanations"


class DecisionKind(StrEnum):
    """The scheduler's decisions (the value is the last subject token and the message tag)."""

    BIND = "bind"
    EVICT = "evict"
    PODGROUP_STATUS = "podgroup-status"


class AuditKind(StrEnum):
    """What an audit event is about (the value is the subject token after ``audit``)."""

    JOB = "job"
    QUEUE = "queue"
    ADMISSION = "admission"
    DECISION = "decision"
    COMMAND = "command"
    PODGROUP = "podgroup"


def encode_token(text: str) -> str:
    """Escape ``text`` into one subject token / KV key segment (see the module docstring)."""
    if not text:
        return EMPTY_TOKEN
    out: list[str] = []
    for char in text:
        if char in _KEPT:
            out.append(char)
        elif char == ".":
            out.append("_")
        else:
            for byte in char.encode("utf-8"):
                out.append("=" + _HEX[byte >> 4] + _HEX[byte & 15])
    return "".join(out)


def decode_token(token: str) -> str:
    """Invert :func:`encode_token`; ``ValueError`` for a token it cannot have produced."""
    if token == EMPTY_TOKEN:
        return ""
    raw = bytearray()
    i = 0
    while i < len(token):
        char = token[i]
        if char == "=":
            pair = token[i + 1 : i + 3]
            if len(pair) != 2 or any(c not in _HEX for c in pair):
                raise ValueError(f"bad escape at offset {i} in token {token!r}")
            raw.append(int(pair, 16))
            i += 3
            continue
        raw.extend(b"." if char == "_" else char.encode("ascii", errors="replace"))
        i += 1
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"token {token!r} does not decode to UTF-8 text") from err
    if encode_token(text) != token:
        raise ValueError(f"token {token!r} is not in canonical form")
    return text


def encode_key(namespace: str, name: str) -> str:
    """The KV key of ``namespace/name`` (``namespace`` empty for a cluster-scoped object)."""
    if namespace:
        return f"{encode_token(namespace)}.{encode_token(name)}"
    return encode_token(name)


def decode_key(key: str) -> tuple[str, str]:
    """``(namespace, name)`` from a KV key; the namespace is ``""`` for cluster-scoped keys."""
    parts = key.split(".")
    if len(parts) == 1:
        return "", decode_token(parts[0])
    if len(parts) == 2:
        return decode_token(parts[0]), decode_token(parts[1])
    raise ValueError(f"KV key {key!r} has {len(parts)} segments; expected 1 or 2")


def join_ref(namespace: str, name: str) -> str:
    """The Kubernetes-style reference: ``namespace/name``, or ``name`` when cluster-scoped."""
    return f"{namespace}/{name}" if namespace else name


def split_ref(ref: str) -> tuple[str, str]:
    """``(namespace, name)`` from ``namespace/name`` or ``name`` (split at the first ``/``)."""
    namespace, sep, name = ref.partition("/")
    return (namespace, name) if sep else ("", ref)


def ref_to_key(ref: str) -> str:
    """The KV key of a ``namespace/name`` or ``name`` reference."""
    return encode_key(*split_ref(ref))


def key_to_ref(key: str) -> str:
    """The ``namespace/name`` or ``name`` reference of a KV key."""
    return join_ref(*decode_key(key))


def consumer_next_subject(stream: str, consumer: str, api_prefix: str = JS_API_PREFIX) -> str:
    """The JetStream API subject a pull request for ``stream``/``consumer`` is sent to."""
    return f"{api_prefix}.CONSUMER.MSG.NEXT.{stream}.{consumer}"


class BusNames:
    """The names of one installation, derived from its cluster prefix.

    Buckets are ``<prefix>-<kind>`` (JetStream stream ``KV_<prefix>-<kind>``); decisions go to
    ``<prefix>.decisions.<bind|evict|podgroup-status>`` in the work-queue stream
    ``<prefix>-decisions``; decision failures to ``<prefix>.results.failure`` in
    ``<prefix>-results``; audit events to ``<prefix>.audit.<kind>.<namespace>.<name>`` in
    ``<prefix>-audit``.
    """

    __slots__ = ("prefix",)

    def __init__(self, prefix: str = DEFAULT_PREFIX) -> None:
        if not isinstance(prefix, str) or not _PREFIX_RE.match(prefix):
            raise InvalidPrefixError(f"cluster prefix {prefix!r} is invalid: use {PREFIX_RULE}")
        self.prefix = prefix

    def __repr__(self) -> str:
        return f"BusNames({self.prefix!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BusNames) and other.prefix == self.prefix

    def __hash__(self) -> int:
        return hash(("BusNames", self.prefix))

    # KV buckets -------------------------------------------------------------------------

    def bucket(self, kind: CacheKind) -> str:
        """The KV bucket holding ``kind`` records."""
        return f"{self.prefix}-{CacheKind(kind).value}"

    def kv_stream(self, kind: CacheKind) -> str:
        """The JetStream stream behind a bucket (NATS spells it ``KV_<bucket>``)."""
        return f"KV_{self.bucket(kind)}"

    def kv_subject(self, kind: CacheKind, key: str) -> str:
        """The subject a KV key is stored under (``key`` already encoded)."""
        return f"$KV.{self.bucket(kind)}.{key}"

    def kv_subject_prefix(self, kind: CacheKind) -> str:
        """``$KV.<bucket>.``: strip it from a message subject to get the key."""
        return f"$KV.{self.bucket(kind)}."

    def kv_filter(self, kind: CacheKind, namespace: str | None = None) -> str:
        """Every key of a bucket, or of one namespace of a namespaced bucket."""
        tail = ">" if namespace is None else f"{encode_token(namespace)}.*"
        return self.kv_subject_prefix(kind) + tail

    @property
    def nodes_bucket(self) -> str:
        return self.bucket(CacheKind.NODES)

    @property
    def pods_bucket(self) -> str:
        return self.bucket(CacheKind.PODS)

    @property
    def podgroups_bucket(self) -> str:
        return self.bucket(CacheKind.PODGROUPS)

    @property
    def queues_bucket(self) -> str:
        return self.bucket(CacheKind.QUEUES)

    @property
    def priorityclasses_bucket(self) -> str:
        return self.bucket(CacheKind.PRIORITY_CLASSES)

    @property
    def explanations_bucket(self) -> str:
        return self.bucket(CacheKind.EXPLANATIONS)

    # Decisions --------------------------------------------------------------------------

    @property
    def decisions_stream(self) -> str:
        return f"{self.prefix}-decisions"

    @property
    def decisions_subjects(self) -> str:
        """The wildcard the decisions stream captures."""
        return f"{self.prefix}.decisions.>"

    def decision_subject(self, kind: DecisionKind) -> str:
        return f"{self.prefix}.decisions.{DecisionKind(kind).value}"

    @property
    def bind_subject(self) -> str:
        return self.decision_subject(DecisionKind.BIND)

    @property
    def evict_subject(self) -> str:
        return self.decision_subject(DecisionKind.EVICT)

    @property
    def podgroup_status_subject(self) -> str:
        return self.decision_subject(DecisionKind.PODGROUP_STATUS)

    @property
    def binder_consumer(self) -> str:
        """The durable pull consumer shared by every binder worker."""
        return f"{self.prefix}-binder"

    @property
    def results_stream(self) -> str:
        return f"{self.prefix}-results"

    @property
    def results_subjects(self) -> str:
        return f"{self.prefix}.results.>"

    @property
    def decision_failure_subject(self) -> str:
        """Where binders report a decision they gave up on."""
        return f"{self.prefix}.results.failure"

    # Audit ------------------------------------------------------------------------------

    @property
    def audit_stream(self) -> str:
        return f"{self.prefix}-audit"

    @property
    def audit_subjects(self) -> str:
        return f"{self.prefix}.audit.>"

    def audit_subject(self, kind: AuditKind, namespace: str, name: str) -> str:
        """``<prefix>.audit.<kind>.<namespace>.<name>`` with both names token-encoded."""
        return f"{self.prefix}.audit.{AuditKind(kind).value}.{encode_token(namespace)}.{encode_token(name)}"

    def audit_filter(
        self, kind: AuditKind | None = None, namespace: str | None = None, name: str | None = None
    ) -> str:
        """A subscription filter; ``None`` matches anything in that position."""
        if kind is None and namespace is None and name is None:
            return self.audit_subjects
        kind_token = "*" if kind is None else AuditKind(kind).value
        ns_token = "*" if namespace is None else encode_token(namespace)
        name_token = "*" if name is None else encode_token(name)
        return f"{self.prefix}.audit.{kind_token}.{ns_token}.{name_token}"

    def parse_audit_subject(self, subject: str) -> tuple[AuditKind, str, str]:
        """``(kind, namespace, name)`` of an audit subject of this installation."""
        parts = subject.split(".")
        if len(parts) != 5 or parts[0] != self.prefix or parts[1] != "audit":
            raise ValueError(f"{subject!r} is not an audit subject of prefix {self.prefix!r}")
        return AuditKind(parts[2]), decode_token(parts[3]), decode_token(parts[4])

    # Ephemeral consumers (a unique suffix is appended to these) ----------------------------

    def watcher_consumer_prefix(self, kind: CacheKind) -> str:
        return f"{self.prefix}-watch-{CacheKind(kind).value}"

    @property
    def tap_consumer_prefix(self) -> str:
        """Audit followers (``vcctl tap``)."""
        return f"{self.prefix}-tap"

    @property
    def failures_consumer_prefix(self) -> str:
        """Followers of decision failures (the scheduler)."""
        return f"{self.prefix}-failures"
