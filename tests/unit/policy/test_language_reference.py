"""The language reference's key tables say what the models' descriptions say (one source of truth).

Every key of the policy format carries its description on its pydantic field (policy/schema.py);
the JSON Schema shows it on hover, and docs/policy-language.md prints it in a table per section,
marked ``<!-- keys: Model … -->``. Each table's "Meaning" is the description, word for word (links
aside); every key of every model is in a table; "Required" and "Default" agree with the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from policy import schema
from policy.schema import Policy

DOC = (Path(__file__).parents[3] / "docs" / "policy-language.md").read_text(encoding="utf-8")
TABLE = re.compile(r"^<!-- keys: (?P<models>[A-Za-z ]+) -->\n(?P<table>(?:\|.*\n)+)", re.MULTILINE)
LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")


@dataclass(frozen=True)
class Row:
    models: tuple[str, ...]
    cells: dict[str, str]

    @property
    def key(self) -> str:
        return self.cells["Key"].strip("`")


def _cells(line: str) -> list[str]:
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def documented() -> list[Row]:
    rows = []
    for match in TABLE.finditer(DOC):
        header, _, *body = match["table"].splitlines()
        names = _cells(header)
        rows += [Row(tuple(match["models"].split()), dict(zip(names, _cells(line), strict=True))) for line in body]
    return rows


def models() -> dict[str, type[BaseModel]]:
    """Every model of the format: the document and each model its keys hold."""
    names = ["Policy", *Policy.model_json_schema()["$defs"]]
    return {name: getattr(schema, name) for name in names}


def test_every_table_names_models_of_the_format_and_holds_only_their_keys() -> None:
    known = models()
    rows = documented()
    assert rows, "no <!-- keys: … --> tables found"
    for row in rows:
        assert set(row.models) <= set(known), row.models
        assert any(row.key in known[m].model_fields for m in row.models), f"{row.key} is no key of {row.models}"


def test_every_key_of_every_model_is_documented_once() -> None:
    rows = documented()
    missing: list[str] = []
    twice: list[str] = []
    for name, model in models().items():
        for key in model.model_fields:
            count = sum(1 for row in rows if name in row.models and row.key == key)
            if count != 1:
                (missing if count == 0 else twice).append(f"{name}.{key}")
    assert (missing, twice) == ([], [])


def test_each_meaning_is_the_description_of_the_key() -> None:
    known = models()
    different = []
    for row in documented():
        meaning = LINK.sub(r"\1", row.cells["Meaning"])
        for name in row.models:
            field = known[name].model_fields.get(row.key)
            if field is not None and field.description != meaning:
                different.append(f"{name}.{row.key}: the docs say {meaning!r}, the model {field.description!r}")
    assert different == []


def test_required_and_default_columns_agree_with_the_models() -> None:
    known = models()
    wrong = []
    for row in documented():
        fields = [known[m].model_fields[row.key] for m in row.models if row.key in known[m].model_fields]
        required = all(field.is_required() for field in fields)
        if "Required" in row.cells and (row.cells["Required"] == "yes") != required:
            wrong.append(f"{row.models} {row.key}: Required {row.cells['Required']}")
        if "Default" in row.cells and (row.cells["Default"] == "—") != required:
            wrong.append(f"{row.models} {row.key}: Default {row.cells['Default']}")
    assert wrong == []
