"""requirements.lock pins every dependency pyproject.toml names, at a version it allows."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def locked() -> dict[str, list[str]]:
    pins: dict[str, list[str]] = {}
    for name, version in PIN.findall((ROOT / "requirements.lock").read_text(encoding="utf-8")):
        pins.setdefault(canonicalize_name(name), []).append(version)
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    texts = list(project["dependencies"]) + [d for group in project["optional-dependencies"].values() for d in group]
    return [Requirement(text) for text in texts]


def test_every_declared_dependency_is_locked_at_an_allowed_version() -> None:
    pins = locked()
    problems = []
    for requirement in declared():
        versions = pins.get(canonicalize_name(requirement.name))
        if not versions:
            problems.append(f"{requirement.name} is not in requirements.lock: run `make lock`")
        elif not any(requirement.specifier.contains(v, prereleases=True) for v in versions):
            problems.append(f"{requirement} but requirements.lock pins {versions}: run `make lock`")
    assert not problems, "\n".join(problems)


def test_every_pin_carries_hashes() -> None:
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text)
    unhashed = [b.split()[0] for b in blocks if PIN.match(b) and "--hash=sha256:" not in b]
    assert not unhashed, f"pins without hashes: {unhashed}"
