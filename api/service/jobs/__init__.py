"""Jobs: long work (simulations, impact runs) queued in the database and run by the service's workers.

* :mod:`~api.service.jobs.kinds` — what a kind of job is, and how to add one (read its docstring);
* :mod:`~api.service.jobs.queue` — the callers' use cases: submit, read, list, artifacts, cancel;
* :mod:`~api.service.jobs.worker` — the worker each service process runs: claims, leases, child processes;
* :mod:`~api.service.jobs.simulation` — the ``simulation`` kind;
* :mod:`~api.service.jobs.impact` — the ``impact`` kind.
"""

from __future__ import annotations

from api.service.jobs.impact import IMPACT
from api.service.jobs.kinds import Artifact, JobKind, JobKinds, JobRun
from api.service.jobs.simulation import SIMULATION

__all__ = ["Artifact", "JobKind", "JobKinds", "JobRun", "default_kinds"]


def default_kinds() -> JobKinds:
    """The kinds every service process runs and serves; a new kind is added here (see :mod:`.kinds`)."""
    return JobKinds((SIMULATION, IMPACT))
