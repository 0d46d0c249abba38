"""The walk of one order decision over HTTP: which of the project's functions it crosses, in which modules.

Run by hand::

    .venv/bin/python bench/request_path.py [--calls]

Starts the app on a temporary SQLite database, sends one order decision to warm everything up,
then records, for a second one, every call made into ``api``, ``engine`` and ``policy`` in any
thread (the event loop's and the group committer's writer). Prints the distinct functions in the
order first called, grouped by module (comprehensions and dataclass-generated methods left out),
and the totals: the shape a reader has to follow to
understand a decision. Asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import sys
import tempfile
import threading
import warnings
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# This file's directory holds bench/http.py, which would shadow the standard library's http package.
sys.path[0] = str(ROOT)

PROJECT = ("api", "engine", "policy")
# Frames a reader does not follow as functions: comprehensions and the code dataclasses generate.
NOT_FUNCTIONS = ("<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>", "__create_fn__")
ORDER: dict[str, Any] = {
    "customer": {"id": "C-1001", "segment": "ordinary", "grade": "A", "limit": "1500000.00"},
    "order": {"id": "SO-1", "amount": "120000.00", "currency": "CNY"},
    "exposure": {"open_receivables": "600000.00", "open_orders": "100000.00", "overdue_amount": "0.00"},
    "as_of": "2026-06-30",
}


class Recorder:
    """Counts calls into the project's modules while ``on``, from every thread that has the profile hook."""

    def __init__(self) -> None:
        self.on = False
        self.calls: Counter[tuple[str, str]] = Counter()
        self.first_seen: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def hook(self, frame: FrameType, event: str, _arg: object) -> None:
        if not self.on or event != "call":
            return
        module = frame.f_globals.get("__name__", "")
        if module.split(".", 1)[0] not in PROJECT:
            return
        key = (module, frame.f_code.co_qualname)
        if any(part in key[1] for part in NOT_FUNCTIONS):
            return
        with self._lock:
            if key not in self.calls:
                self.first_seen.append(key)
            self.calls[key] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", default="api.entrypoints.http.app:create_app", help="the app factory")
    parser.add_argument("--calls", action="store_true", help="also print how often each function was called")
    args = parser.parse_args()
    recorder = Recorder()
    threading.setprofile(recorder.hook)  # threads started from here on (the writer, the client's portal)
    sys.setprofile(recorder.hook)
    module_name, factory_name = args.app.split(":")
    factory = getattr(importlib.import_module(module_name), factory_name)
    settings_module = importlib.import_module("api.settings")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_module.Settings(
            database_url=f"sqlite:///{Path(tmp) / 'path.db'}",
            policy_file=ROOT / "rules" / "standard.yaml",
            webhook_retry_seconds=0,
        )
        app = factory(settings)
        banner = io.StringIO()
        with contextlib.redirect_stdout(banner), TestClient(app) as client:
            key = next(line.split()[-1] for line in banner.getvalue().splitlines() if "role decide" in line)
            headers = {"Authorization": f"Bearer {key}"}
            warm = client.post("/v1/decisions/order", json={**ORDER, "request_id": "warm"}, headers=headers)
            assert warm.status_code == 200, warm.text
            recorder.on = True
            answer = client.post("/v1/decisions/order", json={**ORDER, "request_id": "measured"}, headers=headers)
            recorder.on = False
            assert answer.status_code == 200, answer.text
    sys.setprofile(None)
    threading.setprofile(None)  # type: ignore[arg-type]
    modules: dict[str, list[str]] = {}
    for module, function in recorder.first_seen:
        modules.setdefault(module, []).append(function)
    for module, functions in modules.items():
        print(module)
        for function in functions:
            suffix = f"  ×{recorder.calls[(module, function)]}" if args.calls else ""
            print(f"    {function}{suffix}")
    print(
        f"\n{len(recorder.first_seen)} functions in {len(modules)} modules "
        f"({sum(recorder.calls.values())} calls) for one order decision over HTTP"
    )


if __name__ == "__main__":
    main()
