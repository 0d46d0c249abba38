"""Numbers read from CSV text are exact or refused, as Python's Decimal reads them; nothing slips through.

For any text in a money, ratio or count column the reader either gives exactly ``Decimal(text)``
(or ``int(text)``) or reports the row with the code the text deserves — never a rounded value,
never a silently empty one.
"""

from __future__ import annotations

import re
import tempfile
from decimal import Decimal, localcontext
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import PortfolioInvalid
from engine.portfolio import read_portfolio

NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)$")
INTEGER = re.compile(r"^[+-]?\d+$")

digits = st.text(alphabet="0123456789", min_size=0, max_size=17)
number_texts = st.one_of(
    st.builds(
        lambda sign, whole, point, fraction: sign + whole + point + fraction,
        st.sampled_from(["", "-", "+"]),
        digits,
        st.sampled_from(["", "."]),
        st.text(alphabet="0123456789", max_size=6),
    ),
    st.text(alphabet="0123456789.-+eE x,", min_size=1, max_size=8),
).filter(lambda t: t.strip() != "" and "," not in t)


def read_column(column: str, texts: list[str]) -> tuple[list[object] | None, dict[int, set[str]]]:
    """The typed column, or the codes reported per row, for ``texts`` in a customers column."""
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        rows = "".join(f"C{n},{text}\n" for n, text in enumerate(texts))
        (base / "customers.csv").write_text(f"id,{column}\n{rows}", encoding="utf-8")
        (base / "orders.csv").write_text("id,customer,date,amount,currency\n", encoding="utf-8")
        (base / "invoices.csv").write_text("id,customer,invoice_date,amount\n", encoding="utf-8")
        try:
            portfolio = read_portfolio(base)
        except PortfolioInvalid as error:
            codes: dict[int, set[str]] = {}
            for problem in error.problems:
                assert problem.row is not None and problem.column == column
                codes.setdefault(problem.row, set()).add(problem.code)
            return None, codes
        return portfolio.customers.get_column(column).to_list(), {}


def expected_decimal(text: str, scale: int, low: Decimal | None, high: Decimal) -> set[str]:
    stripped = text.strip()
    if not NUMBER.match(stripped):
        return {"not_a_number"}
    with localcontext() as ctx:
        ctx.prec = 60
        value = Decimal(stripped)
        codes = set()
        too_precise = value != value.quantize(Decimal(1).scaleb(-scale))
        if too_precise:
            codes.add("money_precision" if scale == 2 else "number_precision")
        if abs(value) >= Decimal("1e14"):
            codes.add("out_of_range")
        elif not too_precise and ((low is not None and value < low) or value > high):
            codes.add("out_of_range")
        return codes


@pytest.mark.parametrize(
    ("column", "scale", "low", "high"),
    [
        ("financials.revenue", 2, Decimal(0), Decimal("1e14")),
        ("financials.net_assets", 2, None, Decimal("1e14")),
        ("payment.on_time_ratio", 4, Decimal(0), Decimal(1)),
        ("records.years_in_business", 4, None, Decimal("1e14")),
    ],
)
@settings(max_examples=60, deadline=None)
@given(texts=st.lists(number_texts, min_size=1, max_size=25))
def test_decimal_text_is_exact_or_refused(
    column: str, scale: int, low: Decimal | None, high: Decimal, texts: list[str]
) -> None:
    values, codes = read_column(column, texts)
    expected = {
        row: found for row, text in enumerate(texts, start=1) if (found := expected_decimal(text, scale, low, high))
    }
    assert codes == expected
    if not expected:
        assert values == [Decimal(t.strip()).quantize(Decimal(1).scaleb(-scale)) for t in texts]


@settings(max_examples=80, deadline=None)
@given(texts=st.lists(number_texts, min_size=1, max_size=25))
def test_count_text_is_exact_or_refused(texts: list[str]) -> None:
    values, codes = read_column("payment.defaults_3y", texts)
    expected: dict[int, set[str]] = {}
    for row, text in enumerate(texts, start=1):
        stripped = text.strip()
        if not INTEGER.match(stripped):
            expected[row] = {"not_an_integer"}
        elif not 0 <= int(stripped) <= 1_000_000:
            expected[row] = {"out_of_range"}
    assert codes == expected
    if not expected:
        assert values == [int(t.strip()) for t in texts]
