"""The REST resources: seeded data, paging, search, CRUD per client key, validation, ETags."""

from __future__ import annotations

import httpx
import pytest
import requests

NEW_USER = {"username": "new.learner", "name": "New Learner", "email": "new.learner@example.com"}


@pytest.mark.parametrize(("path", "total"), [("/users", 42), ("/orders", 120), ("/repos", 30)])
def test_collections_are_seeded(client: httpx.Client, path: str, total: int) -> None:
    response = client.get(path)
    assert response.headers["x-total-count"] == str(total)
    assert [item["id"] for item in response.json()] == list(range(1, 11))


def test_seeded_data_is_the_same_for_every_client(base_url: str) -> None:
    first = requests.get(f"{base_url}/users?limit=100", headers={"X-Client-Key": "a-reader"}, timeout=10).json()
    second = requests.get(f"{base_url}/users?limit=100", headers={"X-Client-Key": "b-reader"}, timeout=10).json()
    assert first == second


def test_following_link_headers_visits_every_page_once(base_url: str, key: str) -> None:
    seen, url = [], f"{base_url}/users?limit=10"
    while url:
        response = requests.get(url, headers={"X-Client-Key": key}, timeout=10)
        seen += [user["id"] for user in response.json()]
        url = response.links.get("next", {}).get("url")
    assert seen == list(range(1, 43))


def test_link_header_on_a_middle_page(client: httpx.Client, base_url: str) -> None:
    links = client.get("/users?limit=10&page=2").links
    assert {rel: link["url"] for rel, link in links.items()} == {
        "first": f"{base_url}/users?limit=10&page=1", "prev": f"{base_url}/users?limit=10&page=1",
        "next": f"{base_url}/users?limit=10&page=3", "last": f"{base_url}/users?limit=10&page=5"}


def test_a_page_past_the_end_is_empty(client: httpx.Client) -> None:
    response = client.get("/users?page=99")
    assert response.status_code == 200 and response.json() == []


def test_search_and_filters(client: httpx.Client) -> None:
    surname = client.get("/users/1").json()["name"].split()[-1]
    users = client.get(f"/users?search={surname.upper()}&limit=100").json()
    assert users and all(surname.lower() in (user["username"] + user["name"]).lower() for user in users)
    orders = client.get("/orders?user_id=3&status=paid&limit=100").json()
    assert all(order["user_id"] == 3 and order["status"] == "paid" for order in orders)
    repos = client.get("/repos?language=Go").json()  # unknown filters are ignored, like unknown query args
    assert len(repos) == 10


def test_crud_round_trip(client: httpx.Client) -> None:
    created = client.post("/users", json=NEW_USER)
    assert created.status_code == 201
    user = created.json()
    assert user == {"id": 43, "active": True, **NEW_USER}
    assert created.headers["location"] == "/users/43"
    assert client.get("/users/43").json() == user
    assert client.patch("/users/43", json={"active": False}).json()["active"] is False
    replaced = client.put("/users/43", json={**NEW_USER, "name": "Renamed"}).json()
    assert replaced["name"] == "Renamed" and replaced["active"] is True
    assert client.delete("/users/43").status_code == 204
    assert client.get("/users/43").status_code == 404
    assert client.get("/users").headers["x-total-count"] == "42"


def test_changes_are_private_to_a_client_key_and_undone_by_reset(client: httpx.Client, base_url: str) -> None:
    client.post("/users", json=NEW_USER)
    client.delete("/users/1")
    assert client.get("/users").headers["x-total-count"] == "42"  # one added, one removed
    other = requests.get(f"{base_url}/users/1", headers={"X-Client-Key": "someone-else"}, timeout=10)
    assert other.status_code == 200, "another client still sees user 1"
    client.post("/__admin/reset")
    assert client.get("/users/1").status_code == 200 and client.get("/users/43").status_code == 404


def test_duplicates_conflict(client: httpx.Client) -> None:
    client.post("/users", json=NEW_USER)
    duplicate = client.post("/users", json={**NEW_USER, "username": "other.name"})
    assert duplicate.status_code == 409
    assert duplicate.json()["field"] == "email"


def test_etags_give_304_and_guard_updates(client: httpx.Client) -> None:
    first = client.get("/users/5")
    tag = first.headers["etag"]
    assert client.get("/users/5", headers={"If-None-Match": tag}).status_code == 304
    assert client.patch("/users/5", json={"name": "Changed"}, headers={"If-Match": tag}).status_code == 200
    stale = client.patch("/users/5", json={"name": "Lost update"}, headers={"If-Match": tag})
    assert stale.status_code == 412 and stale.json()["error"] == "precondition_failed"
    assert client.get("/users/5", headers={"If-None-Match": tag}).status_code == 200


def test_orders_keep_money_in_minor_units(client: httpx.Client) -> None:
    order = client.post("/orders", json={"user_id": 1, "item": "cable", "quantity": 2, "amount_minor": 1998,
                                         "currency": "EUR"}).json()
    assert order["amount_minor"] == 1998 and order["status"] == "pending"
    refused = client.post("/orders", json={"user_id": 1, "item": "cable", "quantity": 2, "amount_minor": 19.98,
                                           "currency": "EUR"})
    assert refused.status_code == 422 and "amount_minor" in refused.json()["fields"]


def test_creates_are_capped_per_client_key(base_url: str, key: str) -> None:
    from mock_server.config import Config
    from mock_server.server import BackgroundServer

    with BackgroundServer(Config(port=0, max_records=2)) as url, httpx.Client(base_url=url, timeout=10) as small:
        for number in range(2):
            assert small.post("/repos", json={"name": f"r{number}", "owner": "ada.lovelace"}).status_code == 201
        full = small.post("/repos", json={"name": "r3", "owner": "ada.lovelace"})
        assert full.status_code == 409 and "--max-records" in full.json()["message"]


# (name sent alone, the username the server makes; user 43 is the client's first create)
DERIVED_USERNAMES = [
    ("Ada Lovelace", "ada.lovelace"),
    ("Ada Turing", "ada.turing2"),  # a seeded user is ada.turing
    ("  Zoë   Ørsted-Nuñez ", "zoe.rsted.nunez"),
    ("李小龍", "user43"),
    ("Al", "user43"),
    ("A" * 40, "a" * 32),
]


@pytest.mark.parametrize(("name", "username"), DERIVED_USERNAMES, ids=[row[1] for row in DERIVED_USERNAMES])
def test_a_user_created_from_a_name_alone_gets_a_username_and_email(client: httpx.Client, name: str,
                                                                     username: str) -> None:
    created = client.post("/users", json={"name": name})
    assert created.status_code == 201, created.text
    assert created.json() == {"id": 43, "username": username, "name": name, "email": f"{username}@example.com",
                              "active": True}


def test_derived_usernames_are_unique_among_what_the_client_sees(client: httpx.Client) -> None:
    usernames = [client.post("/users", json={"name": "Ada Lovelace"}).json()["username"] for _ in range(3)]
    assert usernames == ["ada.lovelace", "ada.lovelace2", "ada.lovelace3"]
    client.post("/users", json={"name": "Grace Hopper", "username": "grace.h", "email": "grace.hopper@example.com"})
    assert client.post("/users", json={"name": "Grace Hopper"}).json()["email"] == "grace.hopper2@example.com", \
        "the derived email must be free too"
    long = client.post("/users", json={"name": "B" * 40}).json()["username"]
    assert client.post("/users", json={"name": "B" * 40}).json()["username"] == long[:31] + "2"


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "Ada", "username": "A!"}, "username"),
    ({"name": "Ada", "email": "not-an-email"}, "email"),
    ({"name": "Ada", "username": None}, "username"),
    ({"name": "Ada", "nickname": "ada"}, "nickname"),
    ({"username": "ada.x"}, "name"),
])
def test_explicit_user_fields_are_still_validated(client: httpx.Client, body: dict, field: str) -> None:
    refused = client.post("/users", json=body)
    assert refused.status_code == 422 and field in refused.json()["fields"], refused.text


def test_only_post_derives_put_still_needs_every_field(client: httpx.Client) -> None:
    user = client.post("/users", json={"name": "Ada Lovelace", "email": "ada@example.com"}).json()
    assert (user["username"], user["email"]) == ("ada.lovelace", "ada@example.com")
    refused = client.put(f"/users/{user['id']}", json={"name": "Ada King"})
    assert refused.status_code == 422 and set(refused.json()["fields"]) == {"username", "email"}
