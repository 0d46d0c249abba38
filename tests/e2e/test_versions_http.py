"""Policy versions over HTTP: publish, four eyes, activation, as-of and pinning, replay against, diff."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import SHIPPED, Service, unique
from tests.e2e.inputs import body, second_version_yaml
from tests.integration.policy_texts import broken, policy_text

REASON = {"reason": "reviewed by the credit committee"}


def publish(service: Service, yaml: str, who: str = "author", **extra: Any) -> Any:
    return service.post("/v1/policies", {"yaml": yaml, "file": "rules/standard.yaml", **extra}, who=who)


def put_in_force(service: Service, yaml: str) -> dict[str, Any]:
    """Publish (author), approve (approve), activate (approve2): the normal path."""
    published = publish(service, yaml)
    assert published.status_code == 201, published.text
    sha = published.json()["sha256"]
    assert service.post(f"/v1/policies/versions/{sha}/approve", REASON, who="approve").status_code == 200
    activated = service.post(f"/v1/policies/versions/{sha}/activate", REASON, who="approve2")
    assert activated.status_code == 200, activated.text
    return dict(activated.json())


def test_the_shipped_policy_is_in_force_after_first_start(fresh_service: Service) -> None:
    versions = fresh_service.get("/v1/policies/standard/versions").json()["versions"]
    assert [(v["version"], v["status"]) for v in versions] == [("2026.1", "active")]
    assert versions[0]["in_force"] == {"start": "2026-01-01", "end": None}
    events = fresh_service.get("/v1/policies/versions/2026.1/events").json()["events"]
    assert [(e["event"], e["actor"]) for e in events] == [
        ("published", "system-bootstrap"),
        ("approved", "system-bootstrap-approver"),
        ("activated", "system-bootstrap-approver"),
    ]
    detail = fresh_service.get("/v1/policies/versions/2026.1").json()
    assert detail["source_text"] == SHIPPED.read_text(encoding="utf-8")
    assert "local-decide" in fresh_service.banner and "cp_" in fresh_service.banner


def test_publish_approve_activate_and_as_of_picks_the_version(fresh_service: Service) -> None:
    service = fresh_service
    later = second_version_yaml(SHIPPED.read_text(encoding="utf-8"))
    activated = put_in_force(service, later)
    assert activated["status"] == "active" and activated["event"]["event"] == "activated"
    assert activated["event"]["actor"] == "e2e-approve2"
    assert activated["in_force"] == {"start": "2026-09-01", "end": None}
    order = body("order", unique("C"))
    order["exposure"]["oldest_overdue_days"] = 25  # held from 20 days in 2026.2, from 30 in 2026.1
    before = service.post("/v1/decisions/order", {**order, "as_of": "2026-08-31"}).json()
    after = service.post("/v1/decisions/order", {**order, "as_of": "2026-09-01"}).json()
    assert (before["policy"]["version"], before["outcome"]) == ("2026.1", "approve")
    assert (after["policy"]["version"], after["outcome"]) == ("2026.2", "hold")
    other_order = {**order, "order": {**order["order"], "id": "SO-PINNED"}}  # the held SO-1 has an open case
    pinned = service.post("/v1/decisions/order", {**other_order, "as_of": "2026-09-01", "policy_version": "2026.1"})
    assert (pinned.json()["policy"]["version"], pinned.json()["outcome"]) == ("2026.1", "approve")
    by_hash = service.post("/v1/decisions/order", {**order, "policy_version": after["policy"]["sha256"][:12]}).json()
    assert by_hash["policy"]["version"] == "2026.2"
    replay = service.post(f"/v1/decisions/{before['decision_id']}/replay", {"against": "2026.2"}, who="audit").json()
    assert replay["same_version"] is False and replay["matches"] is False
    changed = {d["path"]: (d["change"], d["old"], d["new"]) for d in replay["differences"]}
    assert changed["outcome"] == ("changed", "approve", "hold")
    assert changed["reasons[order_rules.overdue_ordinary]"][0] == "added"
    assert changed["trace.rules_fired[order_rules.overdue_ordinary]"][0] == "added"
    assert not any(p.startswith("policy") or p.endswith("source") for p in changed)
    own = service.post(f"/v1/decisions/{before['decision_id']}/replay", {}, who="audit").json()
    assert own["matches"] is True
    diff = service.get("/v1/policies/diff?from=2026.1&to=2026.2").json()
    paths = {c["path"] for section in diff["sections"] for c in section["changes"]} | {
        c["path"] for c in diff["metadata"]
    }
    assert "order_rules.rules[overdue_ordinary].when" in paths and "policy.version" in paths


def test_a_draft_decides_nothing_but_can_be_replayed_against(fresh_service: Service) -> None:
    service = fresh_service
    draft = publish(service, second_version_yaml(SHIPPED.read_text(encoding="utf-8"), label="2026.3")).json()
    order = body("order", unique("C"))
    refused = service.post("/v1/decisions/order", {**order, "policy_version": "2026.3"})
    assert (refused.status_code, refused.json()["code"]) == (422, "version_not_approved")
    decided = service.post("/v1/decisions/order", order).json()
    replay = service.post(f"/v1/decisions/{decided['decision_id']}/replay", {"against": draft["sha256"]}, who="approve")
    assert replay.status_code == 200 and replay.json()["replayed_under"]["version"] == "2026.3"


def test_four_eyes_and_lifecycle_conflicts(fresh_service: Service) -> None:
    service = fresh_service
    text = policy_text("7", author="e2e-approve")  # the file names an approver as its author
    sha = publish(service, text).json()["sha256"]
    own = service.post(f"/v1/policies/versions/{sha}/approve", REASON, who="approve")
    assert (own.status_code, own.json()["code"]) == (403, "four_eyes")
    early = service.post(f"/v1/policies/versions/{sha}/activate", REASON, who="approve2")
    assert (early.status_code, early.json()["code"]) == (409, "invalid_transition")
    approved = service.post(f"/v1/policies/versions/{sha}/approve", REASON, who="approve2")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    twice = service.post(f"/v1/policies/versions/{sha}/approve", REASON, who="approve2")
    assert (twice.status_code, twice.json()["code"]) == (409, "invalid_transition")
    no_reason = service.post(f"/v1/policies/versions/{sha}/retire", {"reason": ""}, who="approve")
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["pointer"] == "/reason"
    retired = service.post(f"/v1/policies/versions/{sha}/retire", REASON, who="approve")
    assert retired.json()["status"] == "retired" and retired.json()["event"]["actor"] == "e2e-approve"
    events = [e["event"] for e in service.get(f"/v1/policies/versions/{sha}/events").json()["events"]]
    assert events == ["published", "approved", "retired"]
    author_self = publish(service, policy_text("8", author="e2e-author"))
    sha8 = author_self.json()["sha256"]
    forbidden = service.post(f"/v1/policies/versions/{sha8}/approve", REASON, who="author")
    assert (forbidden.status_code, forbidden.json()["code"]) == (403, "forbidden")
    assert forbidden.json()["roles"] == ["approve"] and forbidden.json()["permission"] == "approve"


def test_refused_policy_is_422_with_every_issue_and_nothing_stored(fresh_service: Service) -> None:
    service = fresh_service
    response = publish(service, broken(policy_text("9")))
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "policy_invalid"
    assert len(problem["errors"]) >= 2
    for issue in problem["errors"]:
        assert {"code", "message", "file", "line", "column", "path"} <= set(issue)
    assert service.count("policy_versions") == 1 and service.count("lifecycle_events") == 3


def test_a_long_value_is_echoed_cut_to_its_first_80_characters_and_its_length(service: Service) -> None:
    """A 10 kB rule id came back whole in the issue's message; every echo is bounded now."""
    long_id = "x" * 10_000
    text = SHIPPED.read_text(encoding="utf-8").replace("id: on_time_payment", f"id: {long_id}", 1)
    response = publish(service, text, file="f" * 400 + ".yaml")
    assert response.status_code == 422, response.text[:300]
    [issue] = [e for e in response.json()["errors"] if e["code"] == "bad_identifier"]
    assert long_id not in issue["message"]
    assert f"'{'x' * 79}… (10002 characters) is not a valid identifier" in issue["message"]
    assert issue["file"] == f"{'f' * 80}… (405 characters)"
    assert len(response.content) < 2_000
    long_member = body("order", unique("C"))
    long_member["z" * 5000] = 1
    refused = service.post("/v1/decisions/order", long_member).json()
    assert [e["pointer"] for e in refused["errors"]] == [f"/{'z' * 79}… (5001 characters)"]


def test_failing_cases_refuse_the_policy(fresh_service: Service) -> None:
    cases = """\
policy: standard.yaml
cases:
  - id: wrong-expectation
    kind: order
    input:
      customer: {id: C-1, grade: A, limit: "1000000.00"}
      order: {id: SO-1, amount: "1000.00", currency: EUR}
      as_of: 2026-06-30
    expect: {outcome: reject}
"""
    response = publish(fresh_service, policy_text("10"), cases_yaml=cases, cases_file="standard.cases.yaml")
    assert (response.status_code, response.json()["code"]) == (422, "policy_tests_failed")
    assert "wrong-expectation" in response.json()["errors"][0]["message"]
    assert fresh_service.count("policy_versions") == 1


def test_publish_raw_yaml_and_the_same_content_again(fresh_service: Service) -> None:
    text = policy_text("11")
    headers = {"Content-Type": "application/yaml"}
    first = fresh_service.post("/v1/policies?file=minimal.yaml", who="author", headers=headers, content=text.encode())
    assert first.status_code == 201 and first.json()["created"] is True
    assert first.json()["source_file"] == "minimal.yaml" and first.json()["created_by"] == "e2e-author"
    assert first.json()["warnings"] == []
    again = publish(fresh_service, text)
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["sha256"] == first.json()["sha256"]
    bad = fresh_service.post("/v1/policies?file=p.yaml", who="author", headers=headers, content=b"\xff\xfe")
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_encoding")
    malformed = fresh_service.post(
        "/v1/policies", who="author", headers={"Content-Type": "application/json"}, content=b"{"
    )
    assert (malformed.status_code, malformed.json()["code"]) == (400, "malformed_json")


def test_version_reads_refuse_unknown_references(fresh_service: Service) -> None:
    assert fresh_service.get("/v1/policies/versions/nope").json()["code"] == "version_not_found"
    assert fresh_service.get("/v1/policies/diff?from=2026.1&to=nope").status_code == 404
    assert fresh_service.get("/v1/policies/diff?from=2026.1").status_code == 422
    assert fresh_service.get("/v1/policies/nope/versions").json()["versions"] == []


def test_a_request_id_keeps_its_answer_after_its_version_is_retired(fresh_service: Service) -> None:
    order, request_id = body("order", unique("C")), unique()
    first = fresh_service.post("/v1/decisions/order", {**order, "request_id": request_id})
    assert fresh_service.post("/v1/policies/versions/2026.1/retire", REASON, who="approve").status_code == 200
    again = fresh_service.post("/v1/decisions/order", {**order, "request_id": request_id})
    assert again.status_code == 200 and again.content == first.content
    fresh = fresh_service.post("/v1/decisions/order", {**order, "request_id": unique()})
    assert (fresh.status_code, fresh.json()["code"]) == (422, "no_active_version")


def test_cases_exercising_less_than_the_policys_min_coverage_refuse_it(fresh_service: Service) -> None:
    cases = """\
policy: standard.yaml
cases:
  - id: small-order-approved
    kind: order
    input:
      customer: {id: C-1, grade: A, limit: "1000000.00"}
      order: {id: SO-1, amount: "1000.00", currency: EUR}
      as_of: 2026-06-30
    expect: {outcome: approve}
"""
    text = policy_text("13", min_coverage="0.5")
    without = publish(fresh_service, text)
    assert (without.status_code, without.json()["code"]) == (422, "policy_coverage_too_low")
    refused = publish(fresh_service, text, cases_yaml=cases, cases_file="standard.cases.yaml")
    assert (refused.status_code, refused.json()["code"]) == (422, "policy_coverage_too_low")
    first, *elements = refused.json()["errors"]
    line = text.splitlines().index("  min_coverage: 0.5") + 1
    assert first == {
        "code": "coverage_below_minimum",
        "message": "the test cases exercise 1 of 58 policy elements (1.7 %), below the 50 % the policy requires",
        "file": "rules/standard.yaml",
        "line": line,
        "column": 3,
        "path": "policy.min_coverage",
    }
    assert len(elements) == 57 and {e["code"] for e in elements} == {"element_not_exercised"}
    band = text.splitlines().index("        - max: 1") + 1  # current_ratio's first band
    assert {
        "code": "element_not_exercised",
        "message": "not exercised by any case: factor current_ratio: band under 1 → 20 points",
        "file": "rules/standard.yaml",
        "line": band,
        "column": 11,
        "path": "scorecard.factors[1].bands[0]",
    } in elements
    assert fresh_service.count("policy_versions") == 1
    lenient = policy_text("13", min_coverage="0.01")
    published = publish(fresh_service, lenient, cases_yaml=cases, cases_file="standard.cases.yaml")
    assert published.status_code == 201, published.text


def test_a_published_policy_keeps_its_file_name_and_runs_the_cases_beside_it(fresh_service: Service) -> None:
    # Issue 10: a YAML body was stored as `policy.yaml`, so decisions cited `policy.yaml:569`.
    service = fresh_service
    yaml_headers = {"Content-Type": "application/yaml"}
    unnamed = service.post("/v1/policies", who="author", headers=yaml_headers, content=policy_text("12").encode())
    assert (unnamed.status_code, unnamed.json()["code"]) == (422, "file_required")
    json_unnamed = service.post("/v1/policies", {"yaml": policy_text("12")}, who="author")
    assert json_unnamed.status_code == 422 and json_unnamed.json()["errors"][0]["pointer"] == "/file"
    assert service.count("policy_versions") == 1
    shipped, cases = SHIPPED.read_text(encoding="utf-8"), SHIPPED.with_name("standard.cases.yaml").read_bytes()
    # The shipped policy as a later version that its shipped cases still describe.
    later = shipped.replace('version: "2026.1"', 'version: "2026.2"').replace("from: 2026-01-01", "from: 2026-09-01")
    files = {"policy": ("standard.yaml", later.encode(), "application/yaml"), "cases": ("standard.cases.yaml", cases)}
    uploaded = service.client.post("/v1/policies", headers=service.headers("author"), files=files)
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["source_file"] == "standard.yaml"
    sha = uploaded.json()["sha256"]
    assert service.post(f"/v1/policies/versions/{sha}/approve", REASON, who="approve").status_code == 200
    assert service.post(f"/v1/policies/versions/{sha}/activate", REASON, who="approve2").status_code == 200
    order = body("order", unique("C"))
    decided = service.post("/v1/decisions/order?explain=true", {**order, "as_of": "2026-09-01"}).json()
    assert decided["policy"]["version"] == "2026.2"
    assert decided["trace"]["policy"]["file"] == "standard.yaml"
    sources = [r["source"] for r in decided["trace"]["rules_fired"]]
    assert sources and all(source.startswith("standard.yaml:") for source in sources)
    failing = b"policy: standard.yaml\ncases:\n  - id: wrong\n    kind: order\n    input:\n" + (
        b'      customer: {id: C-1, grade: A, limit: "1000000.00"}\n'
        b'      order: {id: SO-1, amount: "1000.00", currency: EUR}\n'
        b"      as_of: 2026-06-30\n    expect: {outcome: reject}\n"
    )
    refused = service.client.post(
        "/v1/policies",
        headers=service.headers("author"),
        files={"policy": ("rules/p13.yaml", policy_text("13").encode()), "cases": ("rules/p13.cases.yaml", failing)},
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "policy_tests_failed")
    assert refused.json()["errors"][0]["message"].startswith("rules/p13.cases.yaml:")
    no_policy = service.client.post(
        "/v1/policies", headers=service.headers("author"), files={"cases": ("x.cases.yaml", failing)}
    )
    assert no_policy.status_code == 422 and no_policy.json()["errors"][0]["pointer"] == "/policy"
    not_a_form = service.post(
        "/v1/policies", who="author", headers={"Content-Type": "multipart/form-data"}, content=b"policy"
    )
    assert (not_a_form.status_code, not_a_form.json()["code"]) == (422, "invalid_request")
    assert service.count("policy_versions") == 2


def test_a_published_policy_s_warnings_come_back_with_it(fresh_service: Service) -> None:
    lifted = policy_text("14").replace(
        "      method: pct_liquidation_value\n      pct: 0.1\n", "      method: pct_working_capital\n      pct: 0.4\n"
    )
    published = publish(fresh_service, lifted)
    assert published.status_code == 201, published.text
    (warning,) = published.json()["warnings"]
    assert (warning["code"], warning["severity"], warning["path"]) == (
        "limit_lifted_by_floor",
        "warning",
        "limits.per_grade.B.pct",
    )
    assert warning["file"] == "rules/standard.yaml"
