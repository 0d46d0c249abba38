"""Impact over the decision log: what a version B (a draft, say) would have decided on the decisions A logged.

:func:`measure_impact` reads the decisions of the period (by ``as_of``, the day each decision is
about, both ends inclusive) decided by version A, page by page (keyset pages of the log, minimal
columns), and for each:

1. **Determinism.** Evaluates the logged input again under A and checks that it gives the logged
   decision byte for byte (canonical JSON, rates in their one form, as replay checks it). A record
   that does not is an audit finding: listed with what differs, and left out of the comparison.
2. **Comparison.** Evaluates the same input under B and keeps, per kind, the fields compared and
   summed (:mod:`.fields`), then sums them up (:mod:`.tally`): transitions with counts and amounts,
   the orders newly held or released, the customers' grades, eligibility and limits.
3. **Samples.** A few decisions per transition (the smallest decision ids: a fixed, fair choice)
   are decided again on the plain-Python twin under both versions and compared by identity, as
   replay compares: what differs in the decision, and the rules that fired under one version only.

Decisions logged by other versions in the period are counted per version, not compared. Both
versions are evaluated on the vectorised path (``engine.vectorised``) and the twin; nothing
registers a durable-rules ruleset, nothing is written. The JSON document is described in
docs/impact.md.
"""

from api.service.impact.document import IMPACT_SCHEMA, impact_document, impact_json, impact_lines, lines_text
from api.service.impact.measure import (
    ImpactReport,
    ImpactRequest,
    Progress,
    impact_request,
    measure_impact,
    stored_version,
)

__all__ = [
    "IMPACT_SCHEMA",
    "ImpactReport",
    "ImpactRequest",
    "Progress",
    "impact_document",
    "impact_json",
    "impact_lines",
    "impact_request",
    "lines_text",
    "measure_impact",
    "stored_version",
]
