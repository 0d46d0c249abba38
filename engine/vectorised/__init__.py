"""The second evaluator: a compiled policy as Polars expressions, evaluated on whole portfolios at once.

``VectorisedPolicy(compiled)`` builds the expressions of a ``CompiledPolicy`` once; its
``assess``, ``check_orders``, ``plan_collection`` and ``settle`` take a frame of requests (one
row per request, columns named by the request's dotted paths, see :mod:`engine.vectorised.frames`)
and return the frame with the decision's fields appended. ``outputs(kind, frame)`` rebuilds, row by
row, exactly what ``engine.decide.decide(compiled, kind, request).output()`` returns.

Why it is exact, not merely close: money is Int128 cents and every number of a condition Int128
units of 10^-4, so sums, products, comparisons and the engine's roundings (half up, down, the
never-above-the-cap rounding to nearest) are integer arithmetic. The engine's few true divisions
(derived ratios to 28 digits, a payment's share at a discount) are decided from their integer
numerator and denominator; where a 28-digit rounding could still change a result (a value within
a proven error bound, far below 10^-12, of a rounding boundary; policy numbers too long for
Int128; a division written in a condition), that value alone is computed row by row with the
engine's own Decimal code (:mod:`engine.vectorised.fallback`). On the shipped policy no row needs
it (``bench/vectorised.py`` counts them).

A ``VectorisedPolicy`` follows the compiled policy it is given: built on a durable-rules policy (or
its ``twin_matcher`` twin, which refuses what durable-rules refuses) it also refuses, as
``value_out_of_range``, the numbers beyond what durable-rules holds (10^14) that a rule reads;
built on the batch matchers (``python_matcher``) it does not, like them.

The equality is proven by a differential property test over generated policies and requests
(``tests/property/test_vectorised_differential.py``) and by the shipped policy's cases.

**Portfolio allocation order** (``assess(..., allocation="portfolio")``): the portfolio total is
shared out best grade first, then higher score, then customer id (ties keep frame order); each
customer's ``portfolio.allocated`` is the sum of the limits granted to the customers before it,
and its result is exactly the per-decision result with that allocation. ``allocation="rows"``
(the default) takes each row's own ``portfolio.allocated`` column instead.
"""

from engine.vectorised.assess import ALLOCATION_ORDER, Allocation
from engine.vectorised.evaluator import VectorisedPolicy
from engine.vectorised.frames import FrameError, frame_of, requests_of

__all__ = ["ALLOCATION_ORDER", "Allocation", "FrameError", "VectorisedPolicy", "frame_of", "requests_of"]
