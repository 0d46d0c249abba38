"""The bodies of the job routes (``POST /v1/simulations``, ``/v1/jobs``) as OpenAPI documents them."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi.openapi.models import Example
from pydantic import BaseModel, ConfigDict, Field

from api.service.jobs.simulation import GENERATE_LIMITS

__all__ = [
    "SIMULATION_BODY",
    "ArtifactOut",
    "GenerateRequest",
    "JobErrorOut",
    "JobOut",
    "JobPageOut",
    "PortfolioRequest",
    "ProgressOut",
    "SimulationRequest",
]

_REF = Field(
    min_length=1,
    max_length=200,
    pattern=r"^[^\x00-\x1f\x7f]+$",
    description="A stored version: its label, sha256 or a unique prefix of 8+ hex digits (drafts too).",
)


def _bounded(name: str, description: str) -> Any:
    least, most = GENERATE_LIMITS[name]
    return Field(ge=least, le=most, description=description)


class GenerateRequest(BaseModel):
    """A synthetic portfolio (docs/portfolio.md): the same arguments give the same portfolio."""

    model_config = ConfigDict(extra="forbid")
    customers: int = _bounded("customers", "How many customers.")
    invoices: int = _bounded("invoices", "How many invoices, exactly.")
    years: int = Field(
        3, ge=GENERATE_LIMITS["years"][0], le=GENERATE_LIMITS["years"][1], description="Years of history."
    )
    seed: int = Field(1, ge=0, le=GENERATE_LIMITS["seed"][1], description="The generator's seed.")


class PortfolioRequest(BaseModel):
    """Where the portfolio comes from, with a JSON body (an uploaded one is sent as a form instead)."""

    model_config = ConfigDict(extra="forbid")
    generate: GenerateRequest


class SimulationRequest(BaseModel):
    """A candidate version against a baseline on a portfolio (see `creditpolicy simulate` and docs/simulation.md)."""

    model_config = ConfigDict(extra="forbid")
    baseline: str = _REF
    candidate: str = _REF
    as_of: dt.date | None = Field(None, description="The day simulated; the portfolio's last date by default.")
    assumptions: dict[str, Any] | None = Field(
        None,
        description="The economics of the marginal analysis, as in an assumptions file (docs/simulation.md); "
        "defaults for what is left out.",
        examples=[{"gross_margin": "0.25", "collection_cost": {"visit": 600}}],
    )
    portfolio: PortfolioRequest | None = Field(
        None, description='With a JSON body: `{"generate": {...}}`. With a form: the uploaded files instead.'
    )


class ProgressOut(BaseModel):
    stage: str | None = Field(description="What the job is doing now.", examples=["assessing"])
    done: int
    total: int


class JobErrorOut(BaseModel):
    code: str = Field(examples=["portfolio_invalid", "job_abandoned"])
    message: str


class ArtifactOut(BaseModel):
    name: str = Field(examples=["summary.json"])
    media_type: str = Field(examples=["application/json"])
    size: int = Field(description="Bytes.")
    href: str = Field(examples=["/v1/jobs/0b8e…/artifacts/summary.json"])


class JobOut(BaseModel):
    id: str
    kind: str = Field(examples=["simulation"])
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    params: dict[str, Any] = Field(description="The parameters as validated and stored (versions with their sha256).")
    created_by: str = Field(description="The API key that submitted it.")
    created_at: dt.datetime
    started_at: dt.datetime | None = Field(description="When a worker first claimed it.")
    finished_at: dt.datetime | None
    progress: ProgressOut
    attempts: int = Field(description="Claims so far: more than 1 when a worker died and another took over.")
    worker: str | None = Field(description="While running: the worker holding its lease (host:pid:thread).")
    heartbeat_at: dt.datetime | None = Field(description="The worker's last heartbeat.")
    error: JobErrorOut | None = Field(description="Why it failed.")
    artifacts: list[ArtifactOut] = Field(description="Once succeeded: the files it produced.")


class JobPageOut(BaseModel):
    items: list[JobOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


_FILE = {"type": "string", "format": "binary"}
SIMULATION_EXAMPLES = {
    "generated": Example(
        summary="A generated portfolio",
        value={
            "baseline": "2026.1",
            "candidate": "2026.2-draft",
            "portfolio": {"generate": {"customers": 2000, "invoices": 20000, "years": 3, "seed": 7}},
        },
    ),
}
SIMULATION_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/SimulationRequest"},
                "examples": SIMULATION_EXAMPLES,
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["baseline", "candidate", "customers", "orders", "invoices"],
                    "properties": {
                        "baseline": {"type": "string"},
                        "candidate": {"type": "string"},
                        "as_of": {"type": "string", "format": "date"},
                        "assumptions": {"type": "string", "description": "The assumptions as a JSON object."},
                        "customers": {**_FILE, "description": "customers.csv or customers.parquet"},
                        "orders": {**_FILE, "description": "orders.csv or orders.parquet"},
                        "invoices": {**_FILE, "description": "invoices.csv or invoices.parquet"},
                    },
                },
                "examples": {
                    "upload": {
                        "summary": "The portfolio's files (-F customers=@customers.csv -F orders=@… -F invoices=@…)",
                        "value": {
                            "baseline": "2026.1",
                            "candidate": "2026.2-draft",
                            "customers": "id,segment,financials.revenue\nC-1,core,1200000.00\n",
                            "orders": "id,customer,date,amount,currency\nO-1,C-1,2026-05-02,12000.00,CNY\n",
                            "invoices": "id,order,customer,invoice_date,amount,currency\n",
                        },
                    }
                },
            },
        },
    }
}
