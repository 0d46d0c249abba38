"""Key management over HTTP (role admin): create (the key shown once, never cached), list, revoke."""

from __future__ import annotations

from tests.e2e.conftest import Service, unique


def test_an_admin_creates_a_key_that_works_at_once_and_is_shown_only_then(service: Service) -> None:
    name = unique("erp")
    created = service.post("/v1/keys", {"name": name, "role": "decide"}, who="admin")
    assert created.status_code == 201, created.text
    assert created.headers["Cache-Control"] == "no-store"
    body = created.json()
    assert (body["name"], body["role"], body["active"], body["revoked_at"]) == (name, "decide", True, None)
    key = body["key"]
    assert key.startswith(f"cp_{body['prefix']}_")
    works = service.client.get("/v1/cases", headers={"Authorization": f"Bearer {key}"})
    assert works.status_code == 200
    listed = service.get("/v1/keys", who="admin")
    assert listed.status_code == 200 and key not in listed.text and "key_hash" not in listed.text
    (mine,) = [k for k in listed.json()["keys"] if k["name"] == name]
    assert mine == {k: v for k, v in body.items() if k != "key"}


def test_refusals_are_coded_and_store_nothing(service: Service) -> None:
    name = unique("dup")
    assert service.post("/v1/keys", {"name": name, "role": "audit"}, who="admin").status_code == 201
    taken = service.post("/v1/keys", {"name": name, "role": "audit"}, who="admin")
    assert (taken.status_code, taken.json()["code"]) == (409, "key_name_taken")
    bad_name = service.post("/v1/keys", {"name": "has space", "role": "audit"}, who="admin")
    assert (bad_name.status_code, bad_name.json()["code"]) == (422, "invalid_key_name")
    bad_role = service.post("/v1/keys", {"name": unique("r"), "role": "root"}, who="admin")
    assert (bad_role.status_code, bad_role.json()["code"]) == (422, "invalid_request")
    assert bad_role.json()["errors"][0]["pointer"] == "/role"
    missing = service.post("/v1/keys/nobody-at-all/revoke", who="admin")
    assert (missing.status_code, missing.json()["code"]) == (404, "key_not_found")
    by_author = service.post("/v1/keys", {"name": unique("x"), "role": "admin"}, who="author")
    assert (by_author.status_code, by_author.json()["code"]) == (403, "forbidden")
    assert service.count("api_keys", "name = :n", n=name) == 1


def test_a_revoked_key_is_refused_and_revoking_again_changes_nothing(service: Service) -> None:
    name = unique("gone")
    key = service.post("/v1/keys", {"name": name, "role": "audit"}, who="admin").json()["key"]
    revoked = service.post(f"/v1/keys/{name}/revoke", who="admin")
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    at = revoked.json()["revoked_at"]
    assert at is not None
    refused = service.client.get("/v1/decisions", headers={"Authorization": f"Bearer {key}"})  # never cached
    assert (refused.status_code, refused.json()["code"]) == (401, "not_authenticated")
    again = service.post(f"/v1/keys/{name}/revoke", who="admin")
    assert again.status_code == 200 and again.json()["revoked_at"] == at
