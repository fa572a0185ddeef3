"""Resource vectors: Volcano's api.Resource rules, canonical units and the numpy bridge."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyroclast.common.quantity import QuantityError
from pyroclast.common.resources import (
    CPU,
    GPU,
    INFINITY,
    MEMORY,
    PODS,
    ZERO,
    DimensionDefault,
    InsufficientResourceError,
    Resource,
    ResourceSpace,
    canonical_amount,
    format_amount,
    is_scalar_resource_name,
)

S1, HP = "scalar.test/scalar1", "hugepages-test"


def R(cpu: int = 0, mem: int = 0, **scalars: int) -> Resource:
    """A resource; scalar keywords s1/hp/gpu stand for the long names."""
    names = {"s1": S1, "hp": HP, "gpu": GPU}
    return Resource(cpu, mem, {names.get(k, k): v for k, v in scalars.items()})


FULL = R(4000, 2000, s1=1000, hp=2000)


# -- canonical units ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "quantity", "amount"),
    [
        (CPU, "1.5", 1500),
        (CPU, "100m", 100),
        (CPU, "0.1m", 1),
        (CPU, 2, 2000),
        (MEMORY, "1Gi", 2**30),
        (MEMORY, "0.5", 1),
        (MEMORY, "1k", 1000),
        (PODS, "110", 110_000),
        (GPU, 1, 1000),
        ("ephemeral-storage", "1Ki", 1_024_000),
        ("hugepages-2Mi", "2Mi", 2 * 2**20 * 1000),
    ],
)
def test_canonical_amount(name: str, quantity: str | int, amount: int) -> None:
    assert canonical_amount(name, quantity) == amount


@pytest.mark.parametrize(
    ("name", "amount", "text"),
    [
        (CPU, 1500, "1500m"),
        (CPU, 2000, "2"),
        (CPU, 0, "0"),
        (MEMORY, 2**30, "1Gi"),
        (MEMORY, 1000, "1k"),  # below 1Ki binary SI prints in decimal SI
        (MEMORY, 1536 * 2**20, "1536Mi"),
        (GPU, 1000, "1"),
        (GPU, 500, "500m"),
        (PODS, 110_000, "110"),
        ("ephemeral-storage", 2**30 * 1000, "1Gi"),
    ],
)
def test_format_amount(name: str, amount: int, text: str) -> None:
    assert format_amount(name, amount) == text
    assert canonical_amount(name, text) == amount


def test_from_list_follows_new_resource() -> None:
    # TestNewResource, written as a manifest would
    r = Resource.from_list(
        {CPU: "4m", MEMORY: 2000, S1: 1, "hugepages-test": "2", "ephemeral-storage": 3, "count/pods": 5}
    )
    assert r == Resource(4, 2000, {S1: 1000, HP: 2000, "ephemeral-storage": 3000})
    assert Resource.from_list({}) == Resource()
    # non-scalar native names and ignored devices are dropped; whitespace is trimmed
    r = Resource.from_list(
        {"storage": "1Gi", GPU: " 2 ", "example.com/foo": "1", PODS: 3}, ignored={"example.com/foo"}
    )
    assert r == Resource(0, 0, {GPU: 2000, PODS: 3000})
    with pytest.raises(QuantityError):
        Resource.from_list({CPU: "1 core"})


def test_to_list_round_trip() -> None:
    r = Resource.from_list({CPU: "1.5", MEMORY: "1Gi", GPU: "2"})
    assert r.to_list() == {CPU: "1500m", MEMORY: "1Gi", GPU: "2"}
    assert Resource.from_list(r.to_list()) == r


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("nvidia.com/gpu", True),
        ("hugepages-2Mi", True),
        ("attachable-volumes-aws-ebs", True),
        ("kubernetes.io/batch", True),
        ("storage", False),
        ("requests.nvidia.com/gpu", False),
        ("bad name/x", False),
    ],
)
def test_is_scalar_resource_name(name: str, expected: bool) -> None:
    assert is_scalar_resource_name(name) is expected


# -- algebra (TestAddResource, TestSubResource, TestSetMaxResource, ...) --------


def test_add() -> None:
    assert Resource().add(FULL) == FULL
    assert R(4000, 4000, s1=1, hp=2).add(R(4000, 2000, s1=4, hp=5)) == R(8000, 6000, s1=5, hp=7)
    assert R(4000, 4000, s1=1) + R(4000, 2000, s1=4, hp=5) == R(8000, 6000, s1=5, hp=5)


def test_sub_and_its_guard() -> None:
    assert FULL.sub(Resource()) == FULL
    got = R(4000, 4000, s1=1000, hp=2000) - R(3000, 2000, s1=500, hp=1000)
    assert got == R(1000, 2000, s1=500, hp=1000)
    with pytest.raises(InsufficientResourceError, match="resource is not sufficient"):
        R(1000).sub(R(2000))
    with pytest.raises(InsufficientResourceError):
        R(1000).sub(R(0, 0, gpu=1000))
    assert R(1000).sub_without_assert(R(2000, 0, gpu=1000)) == R(-1000, 0, gpu=-1000)


def test_set_max() -> None:
    assert Resource().set_max(R(4000, 2000, s1=1, hp=2)) == R(4000, 2000, s1=1, hp=2)
    assert R(4000, 4000, s1=1, hp=2).set_max(R(4000, 2000, s1=4, hp=5)) == R(4000, 4000, s1=4, hp=5)


def test_multi_rounds_to_integers() -> None:
    assert R(1000, 3, gpu=1000).multi(0.5) == R(500, 2, gpu=500)
    assert R(3, 5).multi(1.5) == R(4, 8)


def test_min_dimension() -> None:  # TestMinDimensionResourceZero / Infinity
    r = R(4000, 2000, s1=1, hp=2)
    assert r.min_dimension(R(3000, 2000, s1=0, hp=0), ZERO) == R(3000, 2000, s1=0, hp=0)
    assert R(4000, 4000, s1=1000, hp=2000).min_dimension(R(5000, 2000, s1=0, hp=3000)) == R(
        4000, 2000, s1=0, hp=2000
    )
    assert r.min_dimension(R(3000, 2000, s1=0), ZERO) == R(3000, 2000, s1=0, hp=0)
    assert r.min_dimension(R(3000, 2000, s1=0), INFINITY) == R(3000, 2000, s1=0, hp=2)
    big = R(4000, 4000, s1=1000, hp=2000)
    assert big.min_dimension(R(2**62, 2000), ZERO) == R(4000, 2000, s1=0, hp=0)
    assert big.min_dimension(R(2**62, 2000), INFINITY) == R(4000, 2000, s1=1000, hp=2000)


def test_is_zero_and_is_empty() -> None:  # TestIsZero
    assert Resource().is_zero(CPU)
    assert not R(4000, 4000, s1=4, hp=5).is_zero(CPU)
    assert R(4000, 4000, s1=0, hp=5).is_zero(S1)
    assert R(4000).is_zero("unknown/x")
    assert Resource().is_empty()
    assert R(0, 0, pods=5000).is_empty()  # pods is ignored
    assert not R(0, 0, gpu=1).is_empty()
    assert R(0, 0, gpu=-5).is_empty()


def test_scalars_present_whatever_their_amount() -> None:
    assert not Resource(1000, 1).has_scalars()
    zero = Resource(0, 0, {"nvidia.com/gpu": 0, "pods": 2000})
    assert zero.has_scalars()
    assert zero.scalar_names() == ["nvidia.com/gpu", "pods"]
    assert zero.scalar_names() == list(zero.scalars)


def test_equal() -> None:  # TestEqual
    assert Resource().equal(Resource())
    assert Resource(2000, 2000, {}).equal(Resource(2000, 2000, {S1: 0}))
    assert R(2000, 2000, hp=2000).equal(R(2000, 2000, hp=2000))
    assert not Resource().equal(R(2000, 4000, s1=1000, hp=2000))
    assert not R(1).equal(R(1, 0, gpu=1))  # both sides are checked


def test_diff() -> None:  # TestDiff
    cases_zero = [
        (Resource(), Resource(), Resource(), Resource()),
        (R(1000, 2000), Resource(), R(1000, 2000), Resource()),
        (Resource(), R(1000, 2000), Resource(), R(1000, 2000)),
        (R(1000, 2000, s1=1000), R(2000, 1000), R(0, 1000, s1=1000), R(1000)),
        (R(2000, 1000), R(1000, 2000, s1=1000), R(1000), R(0, 1000, s1=1000)),
        (R(1000, 2000, s1=3000), R(2000, 1000, s1=1000), R(0, 1000, s1=2000), R(1000)),
    ]
    for left, right, inc, dec in cases_zero:
        assert left.diff(right, ZERO) == (inc, dec)
    assert R(1000, 2000, s1=1000).diff(R(2000, 1000), INFINITY) == (R(0, 1000), R(1000, 0, s1=-1))
    assert R(2000, 1000).diff(R(1000, 2000, s1=1000), INFINITY) == (R(1000, 0, s1=-1), R(0, 1000))


def test_fit_delta_and_fits() -> None:
    node = R(4000, 8000, gpu=1000)
    assert node.fit_delta(R(1000, 0, gpu=1000)) == R(3000, 8000, gpu=0)
    assert node.fits(R(4000, 8000, gpu=1000))
    assert not node.fits(R(4001))
    assert not node.fits(R(0, 0, **{"example.com/fpga": 1}))
    assert node.fits(R(0, 0, **{"example.com/fpga": 0}))


def test_immutable_and_hashable() -> None:
    r = R(1, 2, gpu=3)
    with pytest.raises(AttributeError):
        r.cpu_milli = 5
    with pytest.raises(TypeError):
        r.scalars[GPU] = 1  # type: ignore[index]
    assert {r: 1}[R(1, 2, gpu=3)] == 1
    assert R(1) != R(1, 0, gpu=0)  # presence matters to the INFINITY default
    assert str(R(1500, 2**30, gpu=1000)) == "cpu 1500m, memory 1Gi, nvidia.com/gpu 1"
    assert R(1500, 0, gpu=0).names() == [CPU]
    with pytest.raises(ValueError, match="not scalars"):
        Resource(0, 0, {CPU: 1})


# -- comparisons: Volcano's table cases ------------------------------------------

LESS_EQUAL = [
    (Resource(), Resource(), ZERO, True),
    (Resource(), FULL, ZERO, True),
    (FULL, Resource(), ZERO, False),
    (R(4000, 4000, s1=1000, hp=2000), R(8000, 8000, s1=4000, hp=5000), ZERO, True),
    (R(4000, 8000, s1=1000, hp=2000), R(8000, 8000, s1=4000, hp=5000), ZERO, True),
    (R(4000, 4000, s1=4000, hp=2000), R(8000, 8000, s1=4000, hp=5000), ZERO, True),
    (R(4000, 4000, s1=5000, hp=2000), R(8000, 8000, s1=4000, hp=5000), ZERO, False),
    (R(9000, 4000, s1=1000, hp=2000), R(8000, 8000, s1=4000, hp=5000), ZERO, False),
    (Resource(), Resource(), INFINITY, True),
    (Resource(), FULL, INFINITY, False),
    (FULL, Resource(), INFINITY, False),
    (R(4000, 2000), FULL, INFINITY, False),
    (FULL, R(4000, 2000), INFINITY, True),
]

LESS = [
    (Resource(), Resource(), ZERO, False),
    (Resource(), FULL, ZERO, True),
    (R(4000, 4000, s1=1000, hp=2000), R(8000, 8000, s1=4000, hp=5000), ZERO, True),
    (R(4000, 4000, s1=5000, hp=2000), R(8000, 8000, s1=4000, hp=5000), ZERO, False),
    (R(9000, 4000, s1=1000, hp=2000), R(8000, 8000, s1=4000, hp=5000), ZERO, False),
    (R(1000, 1000, s1=1000, hp=2000), R(2000, 2000, hp=3000), INFINITY, True),
    (R(1000, 1000, hp=1000), R(2000, 2000, s1=1000, hp=2000), INFINITY, False),
    (R(1000, 1000, hp=2000), R(2000, 2000, s1=1000, hp=2000), INFINITY, False),
]

_PART = R(2000, 2000, s1=1000, hp=2000)
LESS_PARTLY = [
    (Resource(), Resource(), ZERO, False),
    (Resource(), _PART, ZERO, True),
    (_PART, Resource(), ZERO, False),
    (_PART, R(4000, 2000, s1=1000, hp=2000), ZERO, True),
    (_PART, R(2000, 4000, s1=1000, hp=2000), ZERO, True),
    (_PART, R(2000, 2000, s1=2000, hp=2000), ZERO, True),
    (R(2000, 2000, hp=2000), _PART, ZERO, True),
    (R(4000, 4000, s1=1000, hp=2000), _PART, ZERO, False),
    (_PART, R(2000, 2000, hp=2000), ZERO, False),
    (R(2000, 2000, hp=2000), _PART, INFINITY, False),
    (_PART, R(2000, 2000, hp=2000), INFINITY, True),
]

LESS_EQUAL_PARTLY = [
    (Resource(), Resource(), ZERO, True),
    (Resource(), _PART, ZERO, True),
    (_PART, Resource(), ZERO, False),
    (_PART, R(4000, 2000, s1=1000, hp=2000), ZERO, True),
    (_PART, R(2000, 4000, s1=1000, hp=2000), ZERO, True),
    (_PART, R(2000, 2000, s1=2000, hp=2000), ZERO, True),
    (R(2000, 2000, hp=2000), _PART, ZERO, True),
    (R(4000, 4000, s1=1000, hp=2000), _PART, ZERO, True),
    (_PART, R(2000, 2000, hp=2000), ZERO, True),
    (R(2000, 2000, hp=2000), _PART, INFINITY, True),
    (_PART, R(2000, 2000, hp=2000), INFINITY, True),
]


@pytest.mark.parametrize(("left", "right", "default", "expected"), LESS_EQUAL)
def test_less_equal(left: Resource, right: Resource, default: DimensionDefault, expected: bool) -> None:
    assert left.less_equal(right, default) is expected
    if default is ZERO:
        assert (left.insufficient(right, default) == []) is expected


@pytest.mark.parametrize(("left", "right", "default", "expected"), LESS)
def test_less(left: Resource, right: Resource, default: DimensionDefault, expected: bool) -> None:
    assert left.less(right, default) is expected


@pytest.mark.parametrize(("left", "right", "default", "expected"), LESS_PARTLY)
def test_less_partly(left: Resource, right: Resource, default: DimensionDefault, expected: bool) -> None:
    assert left.less_partly(right, default) is expected


@pytest.mark.parametrize(("left", "right", "default", "expected"), LESS_EQUAL_PARTLY)
def test_less_equal_partly(
    left: Resource, right: Resource, default: DimensionDefault, expected: bool
) -> None:
    assert left.less_equal_partly(right, default) is expected


def test_insufficient_names() -> None:  # LessEqualWithResourcesName
    assert R(5000, 4000).insufficient(Resource()) == [CPU, MEMORY]
    assert R(5000, 0, gpu=2000).insufficient(R(4000, 0, gpu=1000)) == [CPU, GPU]
    assert R(0, 0, gpu=2000).insufficient(R(4000), INFINITY) == []


# -- properties ---------------------------------------------------------------

_NAMES = [GPU, PODS, "example.com/fpga", "hugepages-2Mi"]
amounts = st.integers(0, 10**12)
resources = st.builds(
    Resource,
    amounts,
    amounts,
    st.dictionaries(st.sampled_from(_NAMES), amounts, max_size=len(_NAMES)),
)
signed_resources = st.builds(
    Resource,
    st.integers(-(10**6), 10**6),
    st.integers(-(10**6), 10**6),
    st.dictionaries(st.sampled_from(_NAMES), st.integers(-(10**6), 10**6), max_size=len(_NAMES)),
)
defaults = st.sampled_from([ZERO, INFINITY])


@settings(max_examples=200, deadline=None)
@given(resources, resources)
def test_add_then_sub_is_identity(a: Resource, b: Resource) -> None:
    back = a.add(b).sub(b)
    assert back.equal(a)
    assert back.cpu_milli == a.cpu_milli
    assert back.memory == a.memory


@settings(max_examples=200, deadline=None)
@given(resources, resources, defaults)
def test_less_equal_reflexive_and_monotone(a: Resource, b: Resource, default: DimensionDefault) -> None:
    assert a.less_equal(a, default)
    bigger = a.add(b)
    assert a.less_equal(bigger, ZERO)
    if set(b.scalars) <= set(a.scalars):
        assert a.less_equal(bigger, INFINITY)


@settings(max_examples=200, deadline=None)
@given(signed_resources, signed_resources)
def test_set_max_commutative(a: Resource, b: Resource) -> None:
    m = a.set_max(b)
    assert m == b.set_max(a)
    assert a.less_equal(m, ZERO)
    assert b.less_equal(m, ZERO)


@settings(max_examples=200, deadline=None)
@given(signed_resources, st.lists(signed_resources, max_size=12))
def test_numpy_mask_matches_scalar_less_equal(request_: Resource, nodes: list[Resource]) -> None:
    space = ResourceSpace.covering(nodes)
    matrix = space.stack(nodes)
    assert matrix.shape == (len(nodes), len(space))
    assert matrix.dtype == np.int64
    mask = space.less_equal(request_, matrix)
    assert mask.tolist() == [request_.less_equal(node, ZERO) for node in nodes]


@settings(max_examples=100, deadline=None)
@given(resources)
def test_array_round_trip(r: Resource) -> None:
    space = ResourceSpace.covering([r])
    assert space.from_array(space.to_array(r), keep_zero_scalars=True) == r
    assert space.from_array(space.to_array(r)).equal(r)


def test_resource_space_edges() -> None:
    space = ResourceSpace((CPU, MEMORY))
    with pytest.raises(ValueError, match="not in this space"):
        space.to_array(R(1, 1, gpu=1))
    assert space.to_array(R(1, 2, gpu=0)).tolist() == [1, 2]
    assert space.stack([]).shape == (0, 2)
    with pytest.raises(ValueError, match="duplicate"):
        ResourceSpace((CPU, CPU))
    matrix = space.stack([R(1000, 10), R(500, 10)])
    assert space.less_equal(R(800, 10), matrix).tolist() == [True, False]
    assert space.less_equal(R(1, 1, gpu=1), matrix).tolist() == [False, False]
    assert space.index(MEMORY) == 1
