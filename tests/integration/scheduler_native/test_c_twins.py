"""The modules the native build makes from C sources equal their Python references, on random
inputs: the search kernel (``framework/kernel.c``: the same results and the same writes to
the error cache, and the same refusals of bad input) and nodeorder's resource scores
(``plugins/nodeorder_resources.c``). Each C module is loaded from this environment's build,
beside its reference (``make install`` builds it; skipped without a usable build)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyroclast.common import native
from pyroclast.scheduler.framework import kernel as reference
from pyroclast.scheduler.plugins import nodeorder_resources

pytestmark = [pytest.mark.integration]


def _load(name: str) -> ModuleType:
    """The build's C module ``name``, loaded beside the reference (not put in sys.modules)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYROCLAST_NATIVE", "1")
        usable, why = native.status()
    if not usable:
        pytest.skip(f"no usable native build in this environment: {why}")
    root = native.native_dir()
    manifest = json.loads((root / native.MANIFEST).read_text())
    path = root / manifest["modules"][name]
    loader = importlib.machinery.ExtensionFileLoader(name, str(path))
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    assert module.__file__ is not None
    assert module.__file__.endswith(native._suffix())
    return module


@pytest.fixture(scope="module")
def compiled() -> ModuleType:
    return _load("pyroclast.scheduler.framework.kernel")


@pytest.fixture(scope="module")
def compiled_resources() -> ModuleType:
    return _load("pyroclast.scheduler.plugins.nodeorder_resources")


@st.composite
def inputs(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 40))
    rows = draw(st.integers(2, 4))
    small = st.integers(0, 6)
    future = np.array(draw(st.lists(small, min_size=rows * n, max_size=rows * n)), dtype=np.int64)
    future = future.reshape(rows, n)
    # idle never above future here, as in a session; the kernel does not rely on it
    idle = future - np.array(draw(st.lists(small, min_size=rows * n, max_size=rows * n))).reshape(rows, n)
    ncols = draw(st.integers(1, rows))
    cols = np.array(draw(st.permutations(range(rows)))[:ncols], dtype=np.intp)
    amounts = np.array(draw(st.lists(st.integers(0, 4), min_size=ncols, max_size=ncols)), dtype=np.int64)
    bools = st.lists(st.booleans(), min_size=n, max_size=n)
    pmask = np.array(draw(bools), dtype=np.bool_) if draw(st.booleans()) else None
    record = draw(st.booleans())
    ok = np.array(draw(bools), dtype=np.bool_) if record or draw(st.booleans()) else None
    ints = st.lists(st.integers(-5, 300), min_size=n, max_size=n)
    labels = tuple(
        (np.array(draw(ints), dtype=np.int64), draw(st.integers(0, 3)), draw(st.booleans()))
        for _ in range(draw(st.integers(0, 2)))
    )
    floats = st.lists(st.floats(0, 200, allow_nan=False, width=32), min_size=n, max_size=n)
    return {
        "start": draw(st.integers(0, n - 1)),
        "wanted": draw(st.integers(0, n + 1)),
        "future": future,
        "idle": np.ascontiguousarray(idle, dtype=np.int64),
        "cols": cols,
        "amounts": amounts,
        "pmask": pmask,
        "ok": ok,
        "record": record,
        "task": np.full(n, -1, dtype=np.int64) if record else None,
        "pending": np.zeros(n, dtype=np.bool_) if record else None,
        "t": draw(st.integers(0, 9)),
        "failing": np.full(n, -7, dtype=np.intp),
        "scoring": draw(st.booleans()),
        "fvals": np.array(draw(floats), dtype=np.float64) if draw(st.booleans()) else None,
        "ivals": np.array(draw(ints), dtype=np.int64) if draw(st.booleans()) else None,
        "base": draw(st.integers(-10, 10)),
        "labels": labels,
    }


def _copy(args: dict[str, Any]) -> dict[str, Any]:
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in args.items()}


def _call(module: ModuleType, args: dict[str, Any]) -> tuple[int, int, int, int, int]:
    keys = (
        "start", "wanted", "future", "idle", "cols", "amounts", "pmask", "ok", "record", "task",
        "pending", "t", "failing", "scoring", "fvals", "ivals", "base", "labels",
    )  # fmt: skip
    out: tuple[int, int, int, int, int] = module.search(*(args[k] for k in keys))
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(args=inputs())
def test_native_kernel_equals_the_reference(compiled: ModuleType, args: dict[str, Any]) -> None:
    mine, theirs = _copy(args), _copy(args)
    got = _call(compiled, mine)
    want = _call(reference, theirs)
    assert got == want
    failures = want[4]
    assert np.array_equal(mine["failing"][:failures], theirs["failing"][:failures])
    for key in ("ok", "task", "pending"):
        if args[key] is not None:
            assert np.array_equal(mine[key], theirs[key]), key


def test_native_kernel_refuses_bad_input(compiled: ModuleType) -> None:
    n = 4
    good: dict[str, Any] = {
        "start": 0,
        "wanted": 2,
        "future": np.ones((2, n), dtype=np.int64),
        "idle": np.ones((2, n), dtype=np.int64),
        "cols": np.array([0, 1], dtype=np.intp),
        "amounts": np.array([1, 1], dtype=np.int64),
        "pmask": None,
        "ok": None,
        "record": False,
        "task": None,
        "pending": None,
        "t": 0,
        "failing": np.empty(n, dtype=np.intp),
        "scoring": True,
        "fvals": None,
        "ivals": None,
        "base": 0,
        "labels": (),
    }
    assert _call(compiled, good) == _call(reference, good) == (2, 2, 0, 0, 0)
    with pytest.raises(TypeError, match="items of 8 bytes"):
        _call(compiled, {**good, "future": np.ones((2, n), dtype=np.int32)})
    with pytest.raises(ValueError, match="recording needs"):
        _call(compiled, {**good, "record": True})
    with pytest.raises(ValueError, match="recording needs"):
        _call(reference, {**good, "record": True})
    with pytest.raises(ValueError, match="number of nodes"):
        _call(compiled, {**good, "pmask": np.ones(n + 1, dtype=np.bool_)})
    with pytest.raises(ValueError, match="out of the matrix"):
        _call(compiled, {**good, "cols": np.array([0, 5], dtype=np.intp)})
    with pytest.raises(ValueError, match="start is out of range"):
        _call(compiled, {**good, "start": n})


@st.composite
def resource_rows(draw: st.DrawFn) -> tuple[Any, ...]:
    """A form's rows (allocatable, safe divisors, requests, non-zero requests), a pod, weights."""
    n = draw(st.integers(1, 30))
    amount = st.integers(0, 2**36) | st.sampled_from([0, 1, 100, 1000, 64_000])

    def row() -> list[int]:
        return draw(st.lists(amount, min_size=n, max_size=n))

    alloc = np.array(
        [row(), row(), draw(st.lists(st.integers(0, 8), min_size=n, max_size=n))], dtype=np.int64
    )
    safe = np.where(alloc != 0, alloc, 1)
    rows = np.concatenate((alloc, safe, np.array([row(), row(), row(), row(), row()], dtype=np.int64)))
    pod = (draw(amount), draw(amount), draw(amount), draw(amount), draw(st.integers(0, 4)))
    weights = (draw(st.integers(0, 3)), draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    return np.ascontiguousarray(rows), pod, weights


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=resource_rows())
def test_native_resource_scores_equal_the_reference(
    compiled_resources: ModuleType, case: tuple[Any, ...]
) -> None:
    rows, pod, weights = case
    idx = np.arange(rows.shape[1], dtype=np.intp)[::-1].copy()
    want = np.empty(len(idx), dtype=np.int64)
    nodeorder_resources.scores(rows, idx, want, pod, weights)
    got = np.empty(len(idx), dtype=np.int64)
    compiled_resources.scores(rows, idx, got, pod, weights)
    assert got.tolist() == want.tolist()
    for j, i in enumerate(idx.tolist()):
        assert compiled_resources.score_at(rows, i, pod, weights) == want[j]
        assert nodeorder_resources.score_at(rows, i, pod, weights) == want[j]


def test_native_resource_scores_refuse_bad_input(compiled_resources: ModuleType) -> None:
    rows = np.ones((11, 3), dtype=np.int64)
    out = np.empty(2, dtype=np.int64)
    pod, weights = (1, 1, 1, 1, 0), (1, 1, 1)
    with pytest.raises(ValueError, match="11 x node"):
        compiled_resources.scores(rows[:10].copy(), np.array([0, 1], dtype=np.intp), out, pod, weights)
    with pytest.raises(IndexError, match="out of the rows"):
        compiled_resources.scores(rows, np.array([0, 3], dtype=np.intp), out, pod, weights)
    with pytest.raises(ValueError, match="as many"):
        compiled_resources.scores(rows, np.array([0], dtype=np.intp), out, pod, weights)
    with pytest.raises(IndexError, match="out of the rows"):
        compiled_resources.score_at(rows, 5, pod, weights)


def test_native_put_writes_a_column_as_the_reference(compiled: ModuleType) -> None:
    for module in (compiled, reference):
        array = np.zeros((5, 4), dtype=np.int64)
        module.put(array, 1, 2, [7, -3, 2**40])
        assert array[:, 2].tolist() == [0, 7, -3, 2**40, 0]
        assert not array[:, [0, 1, 3]].any()
        with pytest.raises(IndexError, match="do not fit"):
            module.put(array, 3, 0, [1, 2, 3])
        with pytest.raises(IndexError, match="do not fit"):
            module.put(array, 0, 4, [1])
    with pytest.raises(ValueError, match="2-D array of 8-byte"):
        compiled.put(np.zeros((2, 2), dtype=np.int32), 0, 0, [1])


def test_native_charge_equals_the_reference(compiled_resources: ModuleType) -> None:
    requests = (250, 2**30, 1000, 250, 2**30)
    for module in (compiled_resources, nodeorder_resources):
        rows = np.zeros((11, 3), dtype=np.int64)
        module.charge(rows, 1, requests, 1)
        module.charge(rows, 1, requests, 1)
        module.charge(rows, 1, requests, -1)
        assert rows[6:11, 1].tolist() == list(requests)
        assert not rows[:, [0, 2]].any()
        assert not rows[:6].any()
        with pytest.raises(IndexError, match="out of the rows"):
            module.charge(rows, 3, requests, 1)
