"""Kubernetes quantities: parsing, canonical formatting and rounding, checked against
the behaviour pinned by apimachinery's quantity tests."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyroclast.common.quantity import (
    FORMAT_RULE,
    Format,
    Quantity,
    QuantityError,
    format_quantity,
    parse_quantity,
)

DSI, BSI, DEX = Format.DECIMAL_SI, Format.BINARY_SI, Format.DECIMAL_EXPONENT
MAX_INT64 = 2**63 - 1


def dec(mantissa: int, exponent: int) -> Decimal:
    return Decimal(mantissa).scaleb(exponent)


# (input, exact value, format) from apimachinery's TestQuantityParse.
PARSE_TABLE = [
    ("0", dec(0, 0), DSI),
    ("0n", dec(0, 0), DSI),
    ("0u", dec(0, 0), DSI),
    ("0m", dec(0, 0), DSI),
    ("0Ki", dec(0, 0), BSI),
    ("0k", dec(0, 0), DSI),
    ("0Mi", dec(0, 0), BSI),
    ("0M", dec(0, 0), DSI),
    ("0Gi", dec(0, 0), BSI),
    ("0G", dec(0, 0), DSI),
    ("0Ti", dec(0, 0), BSI),
    ("0T", dec(0, 0), DSI),
    ("1", dec(1, 0), DSI),
    ("1Ki", dec(1024, 0), BSI),
    ("8Ki", dec(8 * 1024, 0), BSI),
    ("7Mi", dec(7 * 1024**2, 0), BSI),
    ("6Gi", dec(6 * 1024**3, 0), BSI),
    ("5Ti", dec(5 * 1024**4, 0), BSI),
    ("4Pi", dec(4 * 1024**5, 0), BSI),
    ("3Ei", dec(3 * 1024**6, 0), BSI),
    ("10Ti", dec(10 * 1024**4, 0), BSI),
    ("100Ti", dec(100 * 1024**4, 0), BSI),
    ("5n", dec(5, -9), DSI),
    ("4u", dec(4, -6), DSI),
    ("3m", dec(3, -3), DSI),
    ("9", dec(9, 0), DSI),
    ("8k", dec(8, 3), DSI),
    ("50k", dec(5, 4), DSI),
    ("7M", dec(7, 6), DSI),
    ("6G", dec(6, 9), DSI),
    ("5T", dec(5, 12), DSI),
    ("40T", dec(4, 13), DSI),
    ("300T", dec(3, 14), DSI),
    ("2P", dec(2, 15), DSI),
    ("1E", dec(1, 18), DSI),
    ("1E-3", dec(1, -3), DEX),
    ("1e3", dec(1, 3), DEX),
    ("1E6", dec(1, 6), DEX),
    ("1e9", dec(1, 9), DEX),
    ("1E12", dec(1, 12), DEX),
    ("1e15", dec(1, 15), DEX),
    ("1E18", dec(1, 18), DEX),
    ("1e14", dec(1, 14), DEX),
    ("1e13", dec(1, 13), DEX),
    ("100.035k", dec(100035, 0), DSI),
    ("0.001", dec(1, -3), DSI),
    ("0.0005k", dec(5, -1), DSI),
    ("0.005", dec(5, -3), DSI),
    ("0.05", dec(5, -2), DSI),
    ("0.5", dec(5, -1), DSI),
    ("0.00050k", dec(5, -1), DSI),
    ("0.00500", dec(5, -3), DSI),
    ("0.05000", dec(5, -2), DSI),
    ("0.50000", dec(5, -1), DSI),
    ("0.5e0", dec(5, -1), DEX),
    ("0.5e-1", dec(5, -2), DEX),
    ("0.5e-2", dec(5, -3), DEX),
    ("10.035M", dec(10035, 3), DSI),
    ("1.2e3", dec(12, 2), DEX),
    ("1.3E+6", dec(13, 5), DEX),
    ("1.40e9", dec(14, 8), DEX),
    ("1.53E12", dec(153, 10), DEX),
    ("1.6e15", dec(16, 14), DEX),
    ("1.7E18", dec(17, 17), DEX),
    ("9.01", dec(901, -2), DSI),
    ("8.1k", dec(81, 2), DSI),
    ("7.123456M", dec(7123456, 0), DSI),
    ("6.987654321G", dec(6987654321, 0), DSI),
    ("5.444T", dec(5444, 9), DSI),
    ("40.1T", dec(401, 11), DSI),
    ("300.2T", dec(3002, 11), DSI),
    ("2.5P", dec(25, 14), DSI),
    ("1.01E", dec(101, 16), DSI),
    # things that saturate or round
    ("3.001n", dec(4, -9), DSI),
    ("1.1E-9", dec(2, -9), DEX),
    ("0.0000000001", dec(1, -9), DSI),
    ("0.0000000005", dec(1, -9), DSI),
    ("0.00000000050", dec(1, -9), DSI),
    ("0.5e-9", dec(1, -9), DEX),
    ("0.9n", dec(1, -9), DSI),
    ("0.00000012345", dec(124, -9), DSI),
    ("0.00000012354", dec(124, -9), DSI),
    ("9Ei", dec(MAX_INT64, 0), BSI),
    ("9223372036854775807Ki", dec(MAX_INT64, 0), BSI),
    ("12E", dec(12, 18), DSI),
    # fractional binary
    ("100.035Ki", dec(10243584, -2), BSI),
    ("0.5Mi", dec(512 * 1024, 0), BSI),
    ("0.05Gi", dec(536870912, -1), BSI),
    ("0.025Ti", dec(274877906944, -1), BSI),
    # written by trolls
    ("0.000000000001Ki", dec(2, -9), DSI),
    (".001", dec(1, -3), DSI),
    (".0001k", dec(100, -3), DSI),
    ("1.", dec(1, 0), DSI),
    ("1.G", dec(1, 9), DSI),
    # sub-nano values (quantity_subnano_test.go)
    ("1e-2147483647", dec(1, -9), DEX),
    ("1e-100", dec(1, -9), DEX),
    ("15e-10", dec(2, -9), DEX),
    ("1000000000000000000001e-30", dec(2, -9), DEX),
    ("999999999999999999999e-30", dec(1, -9), DEX),
    ("0e-2147483647", dec(0, 0), DEX),
    ("0.00000000000000000000001Ki", dec(1, -9), DSI),
]


@pytest.mark.parametrize(("text", "value", "fmt"), PARSE_TABLE)
def test_parse_value_and_format(text: str, value: Decimal, fmt: Format) -> None:
    q = parse_quantity(text)
    assert q.as_decimal() == value
    assert q.format is fmt
    # the signed variants parse to the negated / same value with the same format
    neg, pos = parse_quantity("-" + text), parse_quantity("+" + text)
    assert neg.as_decimal() == -value
    assert pos.as_decimal() == value
    assert neg.format is fmt
    assert pos.format is fmt


# (decimal value, format, canonical string) from apimachinery's TestQuantityString.
STRING_TABLE = [
    (dec(1024**3, 0), BSI, "1Gi"),
    (dec(300 * 1024**2, 0), BSI, "300Mi"),
    (dec(6 * 1024, 0), BSI, "6Ki"),
    (dec(1001 * 1024**3, 0), BSI, "1001Gi"),
    (dec(1024**4, 0), BSI, "1Ti"),
    (dec(5, 0), BSI, "5"),
    (dec(500, -3), BSI, "500m"),
    (dec(1, 9), DSI, "1G"),
    (dec(1000, 6), DSI, "1G"),
    (dec(1000000, 3), DSI, "1G"),
    (dec(1000000000, 0), DSI, "1G"),
    (dec(1, -3), DSI, "1m"),
    (dec(80, -3), DSI, "80m"),
    (dec(1080, -3), DSI, "1080m"),
    (dec(108, -2), DSI, "1080m"),
    (dec(10800, -4), DSI, "1080m"),
    (dec(300, 6), DSI, "300M"),
    (dec(1, 12), DSI, "1T"),
    (dec(1, 18), DSI, "1E"),
    (dec(1, 21), DSI, "1e21"),
    (dec(5, 21), DSI, "5e21"),
    (dec(1, 24), DSI, "1e24"),
    (dec(1234567, 6), DSI, "1234567M"),
    (dec(1234567, -3), BSI, "1234567m"),
    (dec(3, 3), DSI, "3k"),
    (dec(1025, 0), BSI, "1025"),
    (dec(0, 0), DSI, "0"),
    (dec(0, 0), BSI, "0"),
    (dec(1, 9), DEX, "1e9"),
    (dec(1, -3), DEX, "1e-3"),
    (dec(1, -9), DEX, "1e-9"),
    (dec(80, -3), DEX, "80e-3"),
    (dec(300, 6), DEX, "300e6"),
    (dec(1, 12), DEX, "1e12"),
    (dec(1, 3), DEX, "1e3"),
    (dec(3, 3), DEX, "3e3"),
    (dec(0, 0), DEX, "0"),
    (dec(1, -9), DSI, "1n"),
    (dec(80, -9), DSI, "80n"),
    (dec(1080, -9), DSI, "1080n"),
    (dec(108, -8), DSI, "1080n"),
    (dec(10800, -10), DSI, "1080n"),
    (dec(1, -6), DSI, "1u"),
    (dec(80, -6), DSI, "80u"),
    (dec(1080, -6), DSI, "1080u"),
]


@pytest.mark.parametrize(("value", "fmt", "expect"), STRING_TABLE)
def test_canonical_string(value: Decimal, fmt: Format, expect: str) -> None:
    q = Quantity.from_decimal(value, fmt)
    assert str(q) == expect
    assert format_quantity(value, fmt) == expect
    assert str(parse_quantity(expect)) == expect
    if value:
        assert str(-q) == "-" + expect


# Non-canonical spellings and their canonical forms (TestQuantityString alternates,
# TestQuantityParseEmit and the module's own examples).
@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("1024Mi", "1Gi"),
        ("307200Ki", "300Mi"),
        ("5000m", "5"),
        ("1000M", "1G"),
        ("0.001T", "1G"),
        ("1000u", "1m"),
        ("1.08", "1080m"),
        ("1080000000n", "1080m"),
        ("1000E", "1e21"),
        ("0.001e12", "1e9"),
        ("0.001e0", "1e-3"),
        ("1000e-12", "1e-9"),
        ("00", "0"),
        ("1Ki", "1Ki"),
        ("1Mi", "1Mi"),
        (".001Ki", "1024m"),
        (".000001Ki", "1024u"),
        (".000000001Ki", "1024n"),
        (".000000000001Ki", "2n"),
        ("1000m", "1"),
        ("0.5", "500m"),
        ("1.5", "1500m"),
        ("1.5Gi", "1536Mi"),
        ("1.5Ki", "1536"),
        ("0.1Ki", "102400m"),
        ("100.035Ki", "102435840m"),
        ("100M", "100M"),
        ("12e6", "12e6"),
        ("1.2e3", "1200"),
        ("1e-100", "1e-9"),
        ("9Ei", "9223372036854775807"),
    ],
)
def test_canonical_from_text(text: str, expect: str) -> None:
    assert str(parse_quantity(text)) == expect
    if expect != "0":
        assert str(parse_quantity("-" + text)) == "-" + expect


@pytest.mark.parametrize(
    ("text", "shown"),
    [("+1", "1"), ("0100", "100"), ("1.500", "1500m"), ("1.G", "1G"), ("1E-3", "1e-3"), ("+1Ki", "1Ki")],
)
def test_fast_path_inputs_are_echoed_like_apimachinery(text: str, shown: str) -> None:
    q = parse_quantity(text)
    assert str(q) == text
    assert q.canonical() == shown
    assert q == parse_quantity(shown)


@pytest.mark.parametrize(
    ("value", "fmt", "scale", "expect"),
    [  # TestMilliNewSet, TestNewSet, TestNewScaledSet
        (1, DSI, -3, "1m"),
        (1000, DSI, -3, "1"),
        (1234000, DSI, -3, "1234"),
        (1024, BSI, -3, "1024m"),
        (1000000, DEX, -3, "1e3"),
        (1024 * 1024, BSI, -3, "1048576m"),
        (1, DSI, 0, "1"),
        (1000, DSI, 0, "1k"),
        (1234000, DSI, 0, "1234k"),
        (1024, BSI, 0, "1Ki"),
        (1000000, DEX, 0, "1e6"),
        (1024 * 1024, BSI, 0, "1Mi"),
        (1, DSI, -9, "1n"),
        (1000, DSI, -9, "1u"),
        (1000, DSI, -6, "1m"),
        (0, DSI, -9, "0"),
    ],
)
def test_format_quantity(value: int, fmt: Format, scale: int, expect: str) -> None:
    assert format_quantity(value, fmt, scale=scale) == expect


INVALID = [
    ("", FORMAT_RULE),
    ("1.1.M", FORMAT_RULE),
    ("1+1.0M", FORMAT_RULE),
    ("0.1mi", "unable to parse quantity's suffix"),
    ("0.1am", FORMAT_RULE),
    ("aoeu", FORMAT_RULE),
    (".5i", "unable to parse quantity's suffix"),
    ("1i", "unable to parse quantity's suffix"),
    ("-3.01i", "unable to parse quantity's suffix"),
    ("-3.01e-", "unable to parse quantity's suffix"),
    (" 1", FORMAT_RULE),
    ("1 ", FORMAT_RULE),
    ("1.2.3", FORMAT_RULE),
    ("10Qi", FORMAT_RULE),
    ("--1", "unable to parse quantity's suffix"),
    ("1 Gi", FORMAT_RULE),
    ("1e", "unable to parse quantity's suffix"),
    ("1Ee3", "unable to parse quantity's suffix"),
    ("Gi", "unable to parse numeric part of quantity"),
    (".", "unable to parse numeric part of quantity"),
    ("-", "unable to parse numeric part of quantity"),
    ("1e5000", "decimal exponents above"),
    ("1" * 2000, "limited to 1024 characters"),
    ("\uff11", FORMAT_RULE),  # a non-ASCII digit
]


@pytest.mark.parametrize(("text", "rule"), INVALID)
def test_malformed_input(text: str, rule: str) -> None:
    with pytest.raises(QuantityError) as info:
        parse_quantity(text)
    assert rule in str(info.value)
    assert rule in info.value.rule
    if len(text) < 100:
        assert repr(text) in str(info.value)


def test_error_message_quotes_the_regular_expression() -> None:
    with pytest.raises(QuantityError, match=r"invalid quantity '10Qi': quantities must match the regular"):
        parse_quantity("10Qi")
    assert isinstance(QuantityError("x", "y"), ValueError)


@pytest.mark.parametrize("bad", [True, None, [1], float("nan"), float("inf")])
def test_non_quantity_types(bad: object) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (5, "5"),
        (0, "0"),
        (0.5, "500m"),
        (1.5, "1500m"),
        (1e-05, "10u"),
        (2e20, "200e18"),
        (Decimal("1.25"), "1250m"),
    ],
)
def test_numbers_as_yaml_gives_them(raw: int | float | Decimal, text: str) -> None:
    assert parse_quantity(raw) == parse_quantity(text)


@pytest.mark.parametrize(
    ("text", "value", "milli"),
    [
        ("1", 1, 1000),
        ("1.5", 2, 1500),
        ("100m", 1, 100),
        ("0.1m", 1, 1),
        ("1n", 1, 1),
        ("1.0001", 2, 1001),
        ("1Gi", 2**30, 2**30 * 1000),
        ("0", 0, 0),
        ("-1.5", -2, -1500),
        ("-0.1m", -1, -1),
        ("12E", 12 * 10**18, 12 * 10**21),
    ],
)
def test_value_and_milli_value_round_up(text: str, value: int, milli: int) -> None:
    q = parse_quantity(text)
    assert q.value() == value
    assert q.milli_value() == milli


def test_scaled_value() -> None:  # TestScaledValue
    for from_scale, to_scale, expect in [
        (-9, -9, 1),
        (-9, 0, 1),
        (-6, -9, 1000),
        (0, -3, 1000),
        (2, -2, 10**4),
    ]:
        assert Quantity.from_decimal(1, scale=from_scale).scaled_value(to_scale) == expect


def test_binary_si_is_capped_when_parsed() -> None:
    assert parse_quantity("8Ei").value() == MAX_INT64
    assert parse_quantity("-8Ei").value() == -MAX_INT64
    assert parse_quantity("8E").value() == 8 * 10**18  # decimal values are not capped


def test_value_semantics() -> None:
    assert parse_quantity("1Gi") == parse_quantity("1073741824")
    assert hash(parse_quantity("1000m")) == hash(parse_quantity("1"))
    assert parse_quantity("100m") > parse_quantity("50m")
    assert parse_quantity("10000T") > parse_quantity("100Gi")
    assert sorted(map(parse_quantity, ["1Ki", "1k", "1", "1m"])) == list(
        map(parse_quantity, ["1m", "1", "1k", "1Ki"])
    )
    q = parse_quantity("1Gi")
    with pytest.raises(AttributeError):
        q.nanos = 1  # type: ignore[misc]
    assert repr(q) == "Quantity('1Gi')"


def test_arithmetic_keeps_format_like_apimachinery() -> None:
    zero = parse_quantity("0")
    for text in ("100m", "1Gi"):  # TestQuantityAddZeroPreservesSuffix / Sub
        value = parse_quantity(text)
        assert str(value + zero) == text
        assert str(zero + value) == text
        assert str(value - zero) == text
        assert str(zero - value) == "-" + text
    assert str(parse_quantity("10") - parse_quantity("1Ki")) == "-1014"
    assert str(parse_quantity("1Ki") + parse_quantity("1")) == "1025"


# -- properties -------------------------------------------------------------

_SUFFIXES = ["", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
quantity_texts = st.builds(
    lambda sign, whole, frac, suffix: f"{sign}{whole}{'.' + frac if frac else ''}{suffix}",
    st.sampled_from(["", "-", "+"]),
    st.integers(0, 10**12).map(str),
    st.one_of(st.just(""), st.text("0123456789", min_size=1, max_size=12)),
    st.one_of(st.sampled_from(_SUFFIXES), st.integers(-30, 30).map(lambda e: f"e{e}")),
)


@settings(max_examples=300, deadline=None)
@given(quantity_texts)
def test_roundtrip_through_canonical_string(text: str) -> None:
    q = parse_quantity(text)
    again = parse_quantity(str(q))
    assert again == q
    assert parse_quantity(q.canonical()) == q
    assert str(again) == str(q)  # idempotent
    assert parse_quantity(q.canonical()).canonical() == q.canonical()


@settings(max_examples=200, deadline=None)
@given(st.integers(-(10**9), 10**9), st.sampled_from(list(Format)), st.integers(-9, 9))
def test_formatting_preserves_value(amount: int, fmt: Format, scale: int) -> None:
    # below 2^63, where parsing caps binary-SI values (apimachinery #140674)
    text = format_quantity(amount, fmt, scale=scale)
    assert parse_quantity(text).as_decimal() == Decimal(amount).scaleb(scale)


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=-(10**15), max_value=10**15, places=12, allow_nan=False))
def test_parse_rounds_away_from_zero_to_nano(value: Decimal) -> None:
    q = parse_quantity(str(value))
    assert abs(q.as_decimal()) >= abs(value)
    assert abs(q.as_decimal() - value) < Decimal("1e-9")
