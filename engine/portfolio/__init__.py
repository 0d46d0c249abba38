"""Portfolios for simulation: the data contract, reading and validating, synthetic generation, exposures.

A portfolio is a folder with three tables (customers, orders, invoices) as CSV or Parquet; see
docs/portfolio.md for the contract, every error code and how exposures are defined.
"""

from __future__ import annotations

from engine.portfolio.exposure import (
    AGING_BUCKETS,
    EXPOSURE_COLUMNS,
    InvoiceStatus,
    exposures_at_orders,
    invoice_states,
)
from engine.portfolio.generate import (
    GeneratedPortfolio,
    ProgressCallback,
    SyntheticPortfolio,
    generate_portfolio,
    synthesize_portfolio,
)
from engine.portfolio.reader import Portfolio, read_portfolio
from engine.portfolio.schema import CUSTOMERS, INVOICES, ORDERS, TABLES, ColumnKind, ColumnSpec, TableSpec

__all__ = [
    "AGING_BUCKETS",
    "CUSTOMERS",
    "EXPOSURE_COLUMNS",
    "INVOICES",
    "ORDERS",
    "TABLES",
    "ColumnKind",
    "ColumnSpec",
    "GeneratedPortfolio",
    "InvoiceStatus",
    "Portfolio",
    "ProgressCallback",
    "SyntheticPortfolio",
    "TableSpec",
    "exposures_at_orders",
    "generate_portfolio",
    "invoice_states",
    "read_portfolio",
    "synthesize_portfolio",
]
