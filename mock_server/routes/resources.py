"""REST resources: /users, /orders and /repos with paging, search, validation and ETags.

Each collection starts from seeded records that every client shares read-only; a client's
own creates, updates and deletes are kept per client key (copy on write), so learners never
see each other's changes and a reset brings the seeded data back.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, Field, create_model
from pydantic.fields import FieldInfo
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..endpoints import Group, Handler, Param
from ..errors import ApiError
from ..reading import JSON, Strict, json_object, origin, validated
from ..state import ClientState, client_state, derive_seed, record_size, server_state

group = Group("Resources", "A small REST API: CRUD, paging with Link headers, search, validation, ETags.")

DEFAULT_LIMIT, MAX_LIMIT = 10, 100
SEEDED = {"users": 42, "orders": 120, "repos": 30}
STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled")
MIN_USERNAME, MAX_USERNAME = 3, 32
USERNAME = rf"^[a-z0-9._-]{{{MIN_USERNAME},{MAX_USERNAME}}}$"


class UserIn(Strict):
    username: Annotated[str, Field(pattern=USERNAME)]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
    active: bool = True


class OrderIn(Strict):
    user_id: Annotated[int, Field(ge=1)]
    item: Annotated[str, Field(min_length=1, max_length=100)]
    quantity: Annotated[int, Field(ge=1, le=1000)]
    amount_minor: Annotated[int, Field(ge=0, le=100_000_000, description="total price in cents (minor units)")]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    status: Literal["pending", "paid", "shipped", "delivered", "cancelled"] = "pending"


class RepoIn(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,100}$")]
    owner: Annotated[str, Field(pattern=USERNAME)]
    description: Annotated[str, Field(max_length=300)] = ""
    language: Annotated[str, Field(min_length=1, max_length=40)] = "Python"
    stars: Annotated[int, Field(ge=0)] = 0
    private: bool = False


def optional_fields(model: type[BaseModel], name: str, only: Collection[str] | None = None) -> type[BaseModel]:
    """The same fields and rules, with those in `only` (default: all) optional; an explicit null is still refused."""
    fields: dict[str, Any] = {
        field: (info.annotation, FieldInfo.merge_field_infos(info, default=None) if only is None or field in only else info)
        for field, info in model.model_fields.items()
    }
    return create_model(name, __base__=Strict, **fields)


# POST /users needs only a name (what the course's aiohttp example sends); PUT still needs every field.
NewUser = optional_fields(UserIn, "NewUser", only=("username", "email"))


def username_from(name: str) -> str:
    """A username made from a name: lowercase ASCII with accents dropped, each run of other
    characters a '.', cut to MAX_USERNAME; '' when fewer than MIN_USERNAME characters remain."""
    folded = "".join(char for char in unicodedata.normalize("NFKD", name.lower()) if not unicodedata.combining(char))
    username = re.sub(r"[^a-z0-9]+", ".", folded).strip(".")[:MAX_USERNAME].rstrip(".")
    return username if len(username) >= MIN_USERNAME else ""


def first_free(base: str, taken: Callable[[str], bool]) -> str:
    """`base`, or `base` with the smallest number from 2 up that makes it free (ada.lovelace2)."""
    candidate, number = base, 1
    while taken(candidate):
        number += 1
        candidate = base[: MAX_USERNAME - len(str(number))].rstrip(".") + str(number)
    return candidate


def derive_user(record: dict[str, Any], others: Iterable[dict[str, Any]]) -> None:
    """Fill in the username and email a new user left out: from its name, unique among `others`."""
    others = list(others)
    if record["username"] is None:
        usernames = {other["username"] for other in others}
        emails = {other["email"] for other in others} if record["email"] is None else set()
        record["username"] = first_free(
            username_from(record["name"]) or f"user{record['id']}",
            lambda candidate: candidate in usernames or f"{candidate}@example.com" in emails,
        )
    if record["email"] is None:
        record["email"] = f"{record['username']}@example.com"


@dataclass(frozen=True)
class Derived:
    """Fields that POST may leave out, and how the server fills them in."""

    model: type[BaseModel]  # what POST takes instead of the kind's model
    fill: Callable[[dict[str, Any], Iterable[dict[str, Any]]], None]  # (new record, the records the client sees)
    rule: str  # for the docs


@dataclass(frozen=True)
class Kind:
    """What a collection holds and how its records are checked."""

    name: str
    singular: str
    model: type[BaseModel]
    unique: tuple[str, ...] = ()
    filters: tuple[Param, ...] = ()
    article: str = "a"  # for the docs: "an order"
    derived: Derived | None = None

    @property
    def patch_model(self) -> type[BaseModel]:
        return _PATCH_MODELS[self.model]

    @property
    def record_model(self) -> type[BaseModel]:
        """A stored record, as the API answers it: the model's fields and an id."""
        return _RECORD_MODELS[self.model]

    @property
    def post_model(self) -> type[BaseModel]:
        return self.model if self.derived is None else self.derived.model

    @property
    def one(self) -> str:
        """One record, with its article: 'a user', 'an order'."""
        return f"{self.article} {self.singular}"


USERS = Kind(
    "users", "user", UserIn, unique=("username", "email"),
    derived=Derived(
        NewUser, derive_user,
        "Only name is required: a left-out username is made from it (Ada Lovelace gives ada.lovelace, then "
        "ada.lovelace2 when that is taken, or user{id} when the name has no letters or digits to use), and a "
        "left-out email is {username}@example.com.",
    ),
)
ORDERS = Kind(
    "orders", "order", OrderIn, article="an",
    filters=(
        Param("user_id", int, default=None, minimum=1, description="only this user's orders"),
        Param("status", str, default=None, choices=STATUSES, description="only orders in this status"),
    ),
)
REPOS = Kind("repos", "repo", RepoIn, unique=("name",),
             filters=(Param("owner", str, default=None, description="only this user's repos"),))
KINDS = (USERS, ORDERS, REPOS)
_PATCH_MODELS = {kind.model: optional_fields(kind.model, f"{kind.model.__name__}Patch") for kind in KINDS}
_RECORD_MODELS = {
    kind.model: create_model(kind.singular.title(), id=(Annotated[int, Field(ge=1)], ...), __base__=kind.model)
    for kind in KINDS
}


@dataclass
class Changes:
    """One client's changes to one collection."""

    records: dict[int, dict[str, Any] | None] = field(default_factory=dict)  # None marks a delete
    next_id: int = 1
    created: int = 0


class Store:
    """One collection: seeded records shared by all, plus each client's own changes."""

    def __init__(self, kind: Kind, seeded: dict[int, dict[str, Any]]) -> None:
        self.kind = kind
        self.seeded = seeded

    def changes(self, client: ClientState) -> Changes:
        return client.records.setdefault(self.kind.name, Changes(next_id=max(self.seeded, default=0) + 1))

    def visible(self, client: ClientState) -> Iterator[dict[str, Any]]:
        changes = self.changes(client).records
        for record_id in sorted(self.seeded.keys() | changes.keys()):
            record = changes[record_id] if record_id in changes else self.seeded[record_id]
            if record is not None:
                yield record

    def find(self, client: ClientState, record_id: int) -> dict[str, Any] | None:
        changes = self.changes(client).records
        return changes[record_id] if record_id in changes else self.seeded.get(record_id)

    def get(self, client: ClientState, record_id: int) -> dict[str, Any]:
        record = self.find(client, record_id)
        if record is None:
            raise ApiError(404, "not_found", f"no {self.kind.singular} with id {record_id}", id=record_id)
        return record

    def check_unique(self, client: ClientState, record: dict[str, Any]) -> None:
        for name in self.kind.unique:
            for other in self.visible(client):
                if other[name] == record[name] and other["id"] != record["id"]:
                    raise ApiError(
                        409, "conflict", f"{self.kind.one} with {name} {record[name]!r} already exists",
                        field=name, existing_id=other["id"],
                    )

    def save(self, client: ClientState, record: dict[str, Any]) -> None:
        """Keep `record` as this client's own, charged to --state-bytes (an ApiError when it has no room)."""
        records = self.changes(client).records
        client.state_budget.charge(client, record_size(record) - record_size(records.get(record["id"])))
        records[record["id"]] = record

    def delete(self, client: ClientState, record_id: int) -> None:
        """Hide a record from this client: its own is forgotten, a seeded one is marked deleted."""
        records = self.changes(client).records
        client.state_budget.give_back(client, record_size(records.pop(record_id, None)))
        if record_id in self.seeded:
            records[record_id] = None


def build_collections(seed: int) -> dict[str, Store]:
    """The three collections, their records generated from `seed`."""
    rng = random.Random(derive_seed("resources", seed))
    users = _seed_users(rng)
    return {
        "users": Store(USERS, users),
        "orders": Store(ORDERS, _seed_orders(rng)),
        "repos": Store(REPOS, _seed_repos(rng, [user["username"] for user in users.values()])),
    }


FIRST = ("ada", "alan", "grace", "linus", "guido", "barbara", "ken", "margaret", "dennis", "radia", "tim", "frances")
LAST = ("lovelace", "turing", "hopper", "torvalds", "rossum", "liskov", "thompson", "hamilton", "ritchie", "perlman",
        "berners-lee", "allen")
ITEMS = (("USB-C cable", 999), ("mechanical keyboard", 8900), ("laptop stand", 3450), ("HDMI adapter", 1299),
         ("noise-cancelling headphones", 19900), ("webcam", 4999), ("desk lamp", 2599), ("notebook", 450))
REPO_WORDS = ("retry", "http", "cache", "queue", "limiter", "webhook", "client", "proxy", "breaker", "stream")


def _seed_users(rng: random.Random) -> dict[int, dict[str, Any]]:
    users: dict[int, dict[str, Any]] = {}
    taken: set[str] = set()
    for user_id in range(1, SEEDED["users"] + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        username = f"{first}.{last}" if f"{first}.{last}" not in taken else f"{first}.{last}{user_id}"
        taken.add(username)
        users[user_id] = {
            "id": user_id, "username": username, "name": f"{first.title()} {last.title()}",
            "email": f"{username}@example.com", "active": rng.random() < 0.9,
        }
    return users


def _seed_orders(rng: random.Random) -> dict[int, dict[str, Any]]:
    orders = {}
    for order_id in range(1, SEEDED["orders"] + 1):
        item, price = rng.choice(ITEMS)
        quantity = rng.randint(1, 4)
        orders[order_id] = {
            "id": order_id, "user_id": rng.randint(1, SEEDED["users"]), "item": item, "quantity": quantity,
            "amount_minor": price * quantity, "currency": rng.choice(("EUR", "USD", "GBP")),
            "status": rng.choice(STATUSES),
        }
    return orders


def _seed_repos(rng: random.Random, owners: list[str]) -> dict[int, dict[str, Any]]:
    repos: dict[int, dict[str, Any]] = {}
    taken: set[str] = set()
    for repo_id in range(1, SEEDED["repos"] + 1):
        name = f"{rng.choice(REPO_WORDS)}-{rng.choice(REPO_WORDS)}"
        name = name if name not in taken else f"{name}-{repo_id}"
        taken.add(name)
        repos[repo_id] = {
            "id": repo_id, "name": name, "owner": rng.choice(owners),
            "description": f"A small {name.replace('-', ' ')} library", "language": rng.choice(("Python", "Go", "Rust")),
            "stars": int(rng.paretovariate(1.2) * 10), "private": rng.random() < 0.2,
        }
    return repos


def etag(record: dict[str, Any]) -> str:
    return '"' + hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16] + '"'


def store(request: Request, kind: Kind) -> Store:
    return server_state(request).collections[kind.name]


def check_references(request: Request, record: dict[str, Any]) -> None:
    """An order must belong to a user that exists (for this client)."""
    if "user_id" in record and store(request, USERS).find(client_state(request), record["user_id"]) is None:
        raise ApiError(422, "validation_failed", f"user_id {record['user_id']}: no such user",
                       fields={"user_id": "no such user"})


def page_links(request: Request, page: int, last: int) -> str:
    """A Link header (RFC 8288) with absolute URLs for the first, prev, next and last pages."""
    base = origin(request) + request.url.path
    query = dict(request.query_params)
    pages = [("first", 1)]
    if 1 < page <= last + 1:
        pages.append(("prev", page - 1))
    if page < last:
        pages.append(("next", page + 1))
    pages.append(("last", last))
    return ", ".join(f'<{base}?{urlencode({**query, "page": number})}>; rel="{rel}"' for rel, number in pages)


def _if_match(request: Request, kind: Kind, record: dict[str, Any]) -> None:
    expected = request.headers.get("if-match")
    if expected is not None and expected != "*" and etag(record) not in expected:
        raise ApiError(412, "precondition_failed",
                       f"the {kind.singular} changed since you read it: If-Match {expected} is not {etag(record)}")


def _named(handler: Handler, name: str, doc: str) -> Handler:
    handler.__name__, handler.__doc__ = name, doc
    return handler


def register(kind: Kind) -> None:
    """The six CRUD endpoints of one collection."""
    item_path = f"/{kind.name}/{{id}}"
    record_id = Param("id", int, "path", minimum=1, description=f"the {kind.singular}'s id")

    async def list_items(request: Request, page: int, limit: int, search: str | None, **wanted: Any) -> Response:
        items = list(store(request, kind).visible(client_state(request)))
        if search:
            needle = search.lower()
            items = [item for item in items if any(isinstance(v, str) and needle in v.lower() for v in item.values())]
        items = [item for item in items if all(value is None or item[key] == value for key, value in wanted.items())]
        last = max(1, -(-len(items) // limit))
        headers = {"X-Total-Count": str(len(items)), "Link": page_links(request, page, last)}
        return JSONResponse(items[(page - 1) * limit : page * limit], headers=headers)

    async def create(request: Request) -> Response:
        records, client = store(request, kind), client_state(request)
        data = validated(kind.post_model, await json_object(request), partial=False)
        changes = records.changes(client)
        limit = server_state(request).config.max_records
        if changes.created >= limit:
            raise ApiError(409, "collection_full",
                           f"this client key already created {limit} {kind.name} (the server's --max-records); "
                           "start again with POST /__admin/reset")
        record = {"id": changes.next_id, **data}
        if kind.derived is not None:
            kind.derived.fill(record, records.visible(client))
        records.check_unique(client, record)
        check_references(request, record)
        records.save(client, record)
        changes.next_id += 1
        changes.created += 1
        return JSONResponse(record, 201, {"Location": f"/{kind.name}/{record['id']}", "ETag": etag(record)})

    async def read(request: Request, id: int) -> Response:
        record = store(request, kind).get(client_state(request), id)
        tag = etag(record)
        if tag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers={"ETag": tag})
        return JSONResponse(record, headers={"ETag": tag})

    def updater(partial: bool) -> Handler:
        async def update(request: Request, id: int) -> Response:
            records, client = store(request, kind), client_state(request)
            current = records.get(client, id)
            data = validated(kind.patch_model if partial else kind.model, await json_object(request), partial=partial)
            _if_match(request, kind, current)
            record = {**current, **data} if partial else {"id": id, **data}
            records.check_unique(client, record)
            check_references(request, record)
            records.save(client, record)
            return JSONResponse(record, headers={"ETag": etag(record)})

        return update

    async def delete(request: Request, id: int) -> Response:
        records, client = store(request, kind), client_state(request)
        _if_match(request, kind, records.get(client, id))
        records.delete(client, id)
        return Response(status_code=204)

    one, many, a = kind.singular, kind.name, kind.one
    record = {JSON: kind.record_model}
    group.route(
        f"/{many}",
        Param("page", int, default=1, minimum=1, description="page number, from 1"),
        Param("limit", int, default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT, description="items per page"),
        Param("search", str, default=None,
              description="only items with this text in one of their text fields (case-insensitive)"),
        *kind.filters,
        responses={200: {JSON: {"type": "array", "items": kind.record_model}}},
    )(_named(list_items, f"list_{many}", f"List {many} a page at a time; the Link header points to the other "
             "pages, X-Total-Count counts the matching items."))
    group.route(f"/{many}", methods=["POST"], body={JSON: kind.post_model}, idempotent=True,
                responses={201: record})(_named(
        create, f"create_{one}", f"Create {a} from a JSON body: 201 with Location and ETag.\n\n{_create_rules(kind)}"))
    group.route(item_path, record_id, responses={200: record, 304: None})(_named(
        read, f"read_{one}", f"One {one}, with an ETag; send If-None-Match to get 304 while it is unchanged."))
    group.route(item_path, record_id, methods=["PUT"], body={JSON: kind.model}, responses={200: record})(_named(
        updater(partial=False), f"replace_{one}",
        f"Replace {a} with the JSON body (every field{', even those POST can derive' if kind.derived else ''})."))
    group.route(item_path, record_id, methods=["PATCH"], body={JSON: kind.patch_model}, responses={200: record})(_named(
        updater(partial=True), f"update_{one}", f"Change some fields of {a}; send If-Match to avoid lost updates."))
    group.route(item_path, record_id, methods=["DELETE"], responses={204: None})(_named(
        delete, f"delete_{one}", f"Delete {a} (204); If-Match guards against deleting a changed record."))


def _create_rules(kind: Kind) -> str:
    rules = ["" if kind.derived is None else kind.derived.rule,
             f"409 if its {' or '.join(kind.unique)} is already taken." if kind.unique else "",
             "Its user_id must name an existing user (else 422)." if "user_id" in kind.model.model_fields else "",
             f"Each client key may create up to --max-records {kind.name} (then 409).",
             "All keys' records and Idempotency-Keys share the server's --state-bytes: past it the least recently "
             "used idle key is forgotten whole, and a create that would make this key alone hold more gets 409.",
             "Send an Idempotency-Key to make a retry safe: the same key and body replay the first answer."]
    return " ".join(rule for rule in rules if rule)


for _kind in KINDS:
    register(_kind)
