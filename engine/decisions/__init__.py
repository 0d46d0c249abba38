"""The four decisions, one module each, and the registry of decision kinds."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from engine.decisions.assess import ASSESS
from engine.decisions.collection import COLLECTION
from engine.decisions.kind import DecisionKind
from engine.decisions.order import ORDER
from engine.decisions.settlement import SETTLEMENT

__all__ = ["KINDS", "DecisionKind"]

KINDS: Mapping[str, DecisionKind[Any, Any]] = MappingProxyType(
    {kind.name: kind for kind in (ASSESS, ORDER, SETTLEMENT, COLLECTION)}
)
