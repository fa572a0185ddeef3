"""Volcano's CronJob rules: a standard cron schedule, a loadable time zone, a short enough name."""

from __future__ import annotations

import re
import zoneinfo

from pyroclast.common.models import CronJob
from pyroclast.webhook.admission import k8s
from pyroclast.webhook.admission.request import AdmissionInput, Operation, wrong_object
from pyroclast.webhook.admission.verdict import ALLOW, Verdict

_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, start=1)}
_DAYS = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
_DESCRIPTORS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_DURATION = re.compile(r"[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)")
_TZ_PART = re.compile(r"[A-Za-z.\-_0-9+]{1,14}")
MAX_BASE_NAME = 63 - 11


def _number(text: str, names: dict[str, int] | None) -> int | None:
    if names and text.lower() in names:
        return names[text.lower()]
    return int(text) if text.isascii() and text.isdigit() else None


def _field_ok(field: str, low: int, high: int, names: dict[str, int] | None) -> bool:
    for part in field.split(","):
        span, slash, step_text = part.partition("/")
        if span in ("*", "?"):
            start, end = low, high
        else:
            first, dash, last = span.partition("-")
            start_n = _number(first, names)
            end_n = _number(last, names) if dash else (high if slash else start_n)
            if start_n is None or end_n is None:
                return False
            start, end = start_n, end_n
        if slash:
            step = _number(step_text, None)
            if step is None or step <= 0:
                return False
        if start < low or end > high or start > end:
            return False
    return True


def is_standard_cron(spec: str) -> bool:
    """Whether robfig/cron's ``ParseStandard`` accepts ``spec``."""
    if spec.startswith("@"):
        if spec in _DESCRIPTORS:
            return True
        return spec.startswith("@every ") and bool(_DURATION.fullmatch(spec[len("@every ") :]))
    fields = spec.split()
    if len(fields) != 5:
        return False
    names: tuple[dict[str, int] | None, ...] = (None, None, None, _MONTHS, _DAYS)
    return all(_field_ok(f, lo, hi, n) for f, (lo, hi), n in zip(fields, _BOUNDS, names, strict=True))


def _loadable(zone: str) -> bool:
    if zone == "UTC":
        return True
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def spec_error(schedule: str, time_zone: str | None) -> str:
    """Volcano's ``validateCronjobSpec`` text (schedule and time zone), or ""."""
    msg = ""
    if not schedule:
        msg += " schedule is required, but got empty"
    elif "TZ" in schedule:
        msg += " schedule should not contain TZ or CRON_TZ, TZ should only be set in the timeZone field"
    elif not is_standard_cron(schedule):
        msg += "schedule is not a valid cron expression"
    if time_zone is not None:
        if not time_zone:
            msg += " timeZone must be nil or non-empty string, got empty string"
        else:
            for part in time_zone.split("/"):
                if part in (".", "..") or part.startswith("-") or not _TZ_PART.fullmatch(part):
                    msg += " unknown timeZone"
            if time_zone.lower() == "local":
                msg += " timeZone can't be Local, and must be defined in https://www.iana.org/time-zones"
            elif not _loadable(time_zone):
                msg += " invalid timeZone"
    return msg


def name_error(name: str) -> str:
    """Volcano's ``validateCronJobName``: room for the job name suffix, a qualified name."""
    if len(name.encode("utf-8", "surrogatepass")) > MAX_BASE_NAME:
        return (
            f"cronJob name must be no more than {MAX_BASE_NAME} characters to accommodate job name suffix "
            "(max 63 total)"
        )
    if errs := k8s.is_qualified_name(name):
        return f"invalid cronJob name {k8s.go_quote(name)}: {'; '.join(errs)}"
    return ""


def validate_cronjob(request: AdmissionInput) -> Verdict:
    """``/cronjobs/validate`` (CREATE, UPDATE)."""
    if request.operation not in (Operation.CREATE, Operation.UPDATE):
        return Verdict.deny("expect operation to be 'CREATE' or 'UPDATE'")
    cron = request.obj
    if not isinstance(cron, CronJob):
        return Verdict.deny(wrong_object(CronJob))
    schedule = cron.spec.schedule if cron.spec else ""
    zone = cron.spec.time_zone if cron.spec else None
    name = (cron.metadata.name or "") if cron.metadata else ""
    errs = [m.strip() for m in (spec_error(schedule, zone), name_error(name)) if m.strip()]
    return Verdict.deny("; ".join(errs)) if errs else ALLOW
