"""Decisions as a service: the use case (:func:`decide_and_log`), batches, the log and reproduction.

One module per concern: :mod:`.envelope` (the body taken apart), :mod:`.decide` (the use case),
:mod:`.hooks` (what the service adds per kind), :mod:`.idempotency`, :mod:`.response`,
:mod:`.batch`, :mod:`.log`, :mod:`.replay`.
"""

from api.service.decisions.batch import MAX_BATCH, BatchItemResult, BatchResponse, decide_batch
from api.service.decisions.decide import DecisionWriter, PreparedDecision, decide_and_log, log_decision
from api.service.decisions.log import get_decision, query_log
from api.service.decisions.replay import ReplayResponse, replay
from api.service.decisions.response import DecisionResponse

__all__ = [
    "MAX_BATCH",
    "BatchItemResult",
    "BatchResponse",
    "DecisionResponse",
    "DecisionWriter",
    "PreparedDecision",
    "ReplayResponse",
    "decide_and_log",
    "decide_batch",
    "get_decision",
    "log_decision",
    "query_log",
    "replay",
]
