"""Portfolios for simulation: the data contract, reading and validating, synthetic generation, exposures.

A portfolio is a folder with three tables (customers, orders, invoices) as CSV or Parquet; see
docs/portfolio.md for the contract and every error code.
"""

from __future__ import annotations

from engine.portfolio.reader import Portfolio, read_portfolio

__all__ = ["Portfolio", "read_portfolio"]
