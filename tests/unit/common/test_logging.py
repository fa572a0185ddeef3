"""Every line is one JSON object carrying the service and, where bound, the object key."""

from __future__ import annotations

import io
import json
import logging

import pytest

from pyroclast.common.logging import configure_logging, get_logger, object_logger


def test_lines_are_json_with_service_and_key() -> None:
    out = io.StringIO()
    configure_logging("scheduler", stream=out)
    log = object_logger(get_logger("test"), "team-a", "job-1")
    log.info("job enqueued", queue="q1")
    logging.getLogger("aiohttp.access").warning("from the standard library")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0]["event"] == "job enqueued"
    assert lines[0]["key"] == "team-a/job-1"
    assert lines[0]["service"] == "scheduler"
    assert lines[0]["queue"] == "q1"
    assert lines[0]["level"] == "info"
    assert lines[1]["event"] == "from the standard library"
    assert lines[1]["level"] == "warning"


def test_cluster_scoped_key_and_level_filter() -> None:
    out = io.StringIO()
    configure_logging("controller", level="warning", stream=out)
    log = object_logger(get_logger("test"), None, "node-1")
    log.info("hidden")
    log.error("shown")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["shown"]
    assert lines[0]["key"] == "node-1"


def test_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="log level"):
        configure_logging("x", level="loud")
