"""The simulation job kind's checks, before any job exists: versions, the portfolio's source, uploads, bounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.adapters.db.memory import InMemoryUnitOfWork
from api.errors import InvalidRequest, InvalidUpload, VersionNotFound
from api.service import versions
from api.service.jobs.simulation import describe_portfolio, prepare_simulation, upload_name
from engine.errors import AssumptionsInvalid, PortfolioInvalid
from engine.portfolio import generate_portfolio
from tests.conftest import SHIPPED

TABLES = ("customers", "orders", "invoices")


@pytest.fixture
def uow() -> InMemoryUnitOfWork:
    store = InMemoryUnitOfWork()
    text = SHIPPED.read_text(encoding="utf-8")
    versions.publish(store, text, "standard.yaml", "alice", lambda _loaded: versions.CasesVerdict([], None))
    return store


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("book")
    generate_portfolio(customers=30, invoices=100, years=1, seed=4, out=folder, format="parquet")
    return folder


def test_an_upload_is_named_by_its_suffix_else_by_its_content(book: Path) -> None:
    parquet = (book / "orders.parquet").read_bytes()
    assert upload_name("orders", "my orders.PARQUET", b"") == "orders.parquet"
    assert upload_name("orders", "blob", parquet) == "orders.parquet"
    assert upload_name("orders", None, b"id,customer\n") == "orders.csv"


def test_parquet_uploads_are_read_and_checked(uow: InMemoryUnitOfWork, book: Path) -> None:
    inputs = {f"{t}.parquet": (book / f"{t}.parquet").read_bytes() for t in TABLES}
    params = prepare_simulation(uow, {"baseline": "2026.1", "candidate": "2026.1"}, inputs)
    assert params["portfolio"] == {"upload": {t: f"{t}.parquet" for t in TABLES}}
    assert describe_portfolio(params["portfolio"]) == "uploaded: customers.parquet, orders.parquet, invoices.parquet"
    assert params["baseline_sha256"] == params["candidate_sha256"]
    broken = {**inputs, "orders.parquet": b"PAR1 not really"}
    with pytest.raises(PortfolioInvalid) as refused:
        prepare_simulation(uow, {"baseline": "2026.1", "candidate": "2026.1"}, broken)
    assert {(p.file, p.code) for p in refused.value.problems} == {("orders.parquet", "unreadable_file")}


@pytest.mark.parametrize(
    ("inputs", "portfolio"),
    [
        ({"customers.csv": b"id\n", "orders.csv": b"id\n"}, None),  # no invoices
        ({f"{t}.csv": b"id\n" for t in TABLES}, {"generate": {"customers": 1, "invoices": 0}}),  # both
        ({**{f"{t}.csv": b"id\n" for t in TABLES}, "customers.parquet": b"PAR1"}, None),  # customers twice
    ],
)
def test_uploads_that_do_not_make_one_portfolio_are_refused(
    uow: InMemoryUnitOfWork, inputs: dict[str, bytes], portfolio: object
) -> None:
    with pytest.raises(InvalidUpload):
        prepare_simulation(uow, {"baseline": "2026.1", "candidate": "2026.1", "portfolio": portfolio}, inputs)


def test_generated_portfolios_are_bounded_and_every_problem_is_named(uow: InMemoryUnitOfWork) -> None:
    generate = {"customers": 0, "invoices": 10**9, "years": 3, "seed": 1, "colour": "red"}
    with pytest.raises(InvalidRequest) as refused:
        prepare_simulation(uow, {"baseline": "2026.1", "candidate": "2026.1", "portfolio": {"generate": generate}}, {})
    assert [e["pointer"] for e in refused.value.errors or []] == [
        "/portfolio/generate/customers",
        "/portfolio/generate/invoices",
        "/portfolio/generate/colour",
    ]
    ok = {"customers": 10, "invoices": 20}
    params = prepare_simulation(uow, {"baseline": "2026.1", "candidate": "2026.1", "portfolio": {"generate": ok}}, {})
    assert params["portfolio"] == {"generate": {"customers": 10, "invoices": 20, "years": 3, "seed": 1}}


def test_versions_dates_and_assumptions_are_checked(uow: InMemoryUnitOfWork) -> None:
    generated = {"generate": {"customers": 10, "invoices": 20}}
    with pytest.raises(VersionNotFound):
        prepare_simulation(uow, {"baseline": "2026.1", "candidate": "9.9", "portfolio": generated}, {})
    with pytest.raises(InvalidRequest) as bad_day:
        prepare_simulation(
            uow, {"baseline": "2026.1", "candidate": "2026.1", "as_of": "30/06/2026", "portfolio": generated}, {}
        )
    assert (bad_day.value.errors or [{}])[0]["pointer"] == "/as_of"
    with pytest.raises(AssumptionsInvalid):
        prepare_simulation(
            uow,
            {"baseline": "2026.1", "candidate": "2026.1", "assumptions": {"gross_margin": 2}, "portfolio": generated},
            {},
        )
