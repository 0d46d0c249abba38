"""`creditpolicy serve --workers N`: a fresh metrics directory per start, gone when the workers stop."""

from __future__ import annotations

import os

import pytest

from api.entrypoints.cli.serve_commands import MULTIPROC_DIR, metrics_directory


def test_each_start_gets_a_fresh_metrics_directory_removed_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MULTIPROC_DIR, "/somewhere/else")
    with metrics_directory() as first:
        assert os.environ[MULTIPROC_DIR] == str(first)
        assert first.is_dir() and not any(first.iterdir())
        (first / "counter_1.db").write_bytes(b"left by a worker")
    with metrics_directory() as second:
        assert second != first and not any(second.iterdir())
    assert not first.exists() and not second.exists()
    assert os.environ[MULTIPROC_DIR] == "/somewhere/else"  # as it was before the start
