"""Fixtures shared by every test package: the shipped policy, loaded and compiled once."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.compiler import compile_policy, python_twin
from engine.ir import CompiledPolicy
from policy.validate import LoadedPolicy, load_policy

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "rules" / "standard.yaml"


@pytest.fixture(scope="session")
def shipped_loaded() -> LoadedPolicy:
    return load_policy(SHIPPED.read_text(encoding="utf-8"), "rules/standard.yaml")


@pytest.fixture(scope="session")
def shipped(shipped_loaded: LoadedPolicy) -> CompiledPolicy:
    """The shipped policy on durable-rules."""
    return compile_policy(shipped_loaded)


@pytest.fixture(scope="session")
def shipped_python(shipped: CompiledPolicy) -> CompiledPolicy:
    """The shipped policy on the plain-Python matchers (the batch path)."""
    return python_twin(shipped)
