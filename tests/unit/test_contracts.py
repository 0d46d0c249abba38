"""The import contracts bite: a copy of the project with forbidden imports added breaks each of them.

``make test`` runs import-linter on the project as it is; this test runs it on a copy into which
one forbidden import per contract was written, and checks that each contract reports BROKEN.
Without it, a contract that lists modules by hand (or names a layer wrongly) could stay KEPT
whatever the code imports.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# (module file, the import written into it, the contract that must then be broken)
VIOLATIONS = [
    ("engine/results.py", "import durable_rules_engine", "only engine.rules_adapter imports durable"),
    ("api/service/keys.py", "import api.entrypoints.http.app", "api: entrypoints -> service -> adapters"),
    ("api/adapters/db/sql.py", "import api.service.cases", "api: entrypoints -> service -> adapters"),
    ("api/errors.py", "import api.service.keys", "api's shared modules (errors, settings) depend on no layer"),
    ("api/service/reports/html.py", "import api.adapters.db.sql", "reports render results: no adapter, no entrypoint"),
    ("policy/diff.py", "import engine.ir", "api -> engine -> policy"),
    ("engine/ir.py", "import fastapi", "policy and engine stay framework-free"),
]


def test_each_contract_breaks_when_a_module_imports_what_it_forbids(tmp_path: Path) -> None:
    for package in ("policy", "engine", "api"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for module, statement, _ in VIOLATIONS:
        path = tmp_path / module
        path.write_text(path.read_text(encoding="utf-8") + f"\n{statement}  # noqa\n", encoding="utf-8")
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--config", str(tmp_path / "pyproject.toml"), "--no-cache"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    for _, statement, contract in VIOLATIONS:
        assert f"{contract} BROKEN" in result.stdout, (contract, result.stdout)
        assert statement.removeprefix("import ") in result.stdout, (statement, result.stdout)
