"""Decisions as a service: the use case (:func:`decide_and_log`), batches, the log and reproduction.

One module per concern: :mod:`.envelope` (the body taken apart), :mod:`.decide` (the use case),
:mod:`.hooks` (what the service adds per kind), :mod:`.idempotency`, :mod:`.response`,
:mod:`.batch` (batches of every kind, and dry runs), :mod:`.log`, :mod:`.replay`.
"""

from api.service.decisions.batch import (
    BATCH_MEMBERS,
    MAX_BATCH,
    BatchItemResult,
    BatchResponse,
    batch_permission,
    check_batch,
    decide_batch,
    dry_answer,
)
from api.service.decisions.decide import DecisionWriter, PreparedDecision, decide_and_log, log_decision
from api.service.decisions.log import get_decision, query_log
from api.service.decisions.replay import ReplayResponse, replay
from api.service.decisions.response import DecisionResponse

__all__ = [
    "BATCH_MEMBERS",
    "MAX_BATCH",
    "BatchItemResult",
    "BatchResponse",
    "DecisionResponse",
    "DecisionWriter",
    "PreparedDecision",
    "ReplayResponse",
    "batch_permission",
    "check_batch",
    "decide_and_log",
    "decide_batch",
    "dry_answer",
    "get_decision",
    "log_decision",
    "query_log",
    "replay",
]
