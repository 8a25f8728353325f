"""Idempotency-Key: a retried request replays its first answer instead of acting again.

The semantics are Stripe's and those of the IETF draft "The Idempotency-Key HTTP Header Field"
(draft-ietf-httpapi-idempotency-key-header-07, 15 October 2025, its latest revision):

- no key: the request is handled as if this module did not exist;
- the first request with a key is handled, and its response (status, headers, body) is stored
  for the caller's client key with a fingerprint of the request (method, path and query, body);
- the same key with the same fingerprint replays that response unchanged, plus
  `Idempotent-Replayed: true`; the handler does not run again;
- the same key with another fingerprint is a 422, idempotency_key_reused (the draft's 422);
- the same key while the first request is still being handled is a 409,
  idempotency_key_in_flight (the draft's 409): retry later with the same key;
- a malformed key (empty, over MAX_KEY_LENGTH, not visible ASCII, sent twice) is a 400.

Answers to refused input (400, 415, 422: the handler refused the body before acting) are not
stored, as Stripe does not store them, so the client can fix the body and retry with the same key;
nor is a 503 (the server had no room to act yet), so a retry with the same key gets a real answer.
Keys expire after the server's --idempotency-ttl, each client key keeps at most
--max-idempotency-keys of them (the oldest is forgotten first), and a reset forgets them all.
Each one is charged to the server's --state-bytes while it is kept: before the request is
handled, with room for its answer, so an answer once given is always kept.

The draft makes the value a structured-field string (a quoted "..."); Stripe and most clients
send it bare. Both work: the value is compared exactly as sent, so send the same form each time.
"""

from __future__ import annotations

import hashlib
import re
import sys
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from .errors import ApiError
from .state import ClientState, client_state, server_state

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255  # Stripe's limit
KEY_PATTERN = rf"[\x21-\x7e]{{1,{MAX_KEY_LENGTH}}}"  # visible ASCII, no spaces
NOT_STORED = frozenset({400, 415, 422, 503})  # answers that are never stored
IN_FLIGHT_RETRY_AFTER = "1"  # seconds, suggested with a 409
# What --state-bytes charges a kept key beyond the memory of its key and request line and the bytes
# of its answer: the record, its fingerprint, the answer's tuple and list, its slot in the client's
# table; and each answer header beyond its name and value (a tuple of two bytes objects). With these,
# a create's key is charged ~1.1 times what tracemalloc measures on CPython 3.11.
RECORD_OVERHEAD = 500
HEADER_OVERHEAD = 130
# Bytes set aside for the answer while the first request is handled, so that it fits once it comes:
# the largest a create gives (a repo with every field at its longest, in 4-byte characters) is 2.2 KiB.
ANSWER_ALLOWANCE = 4096
DESCRIPTION = (
    f"makes a retry safe: the same key with the same request replays the first answer, marked "
    f"{REPLAYED_HEADER}: true, instead of acting again (another request with the key gets 422; while "
    f"the first is still being handled, 409). 1 to {MAX_KEY_LENGTH} visible ASCII characters; a new "
    "one (a UUID) per operation"
)

_KEY = re.compile(KEY_PATTERN)
_REPLAYED = (REPLAYED_HEADER.lower().encode(), b"true")


@dataclass
class Record:
    """What the server remembers about one key: the request it came with, and its answer."""

    fingerprint: bytes
    operation: str  # "POST /orders", for messages
    expires: float  # time.monotonic()
    answer: tuple[int, list[tuple[bytes, bytes]], bytes] | None = None  # None while in flight
    size: int = 0  # bytes charged to --state-bytes while it is kept


async def guard(request: Request, handle: Callable[[], Awaitable[Response]]) -> Response:
    """Answer `request` with `handle()`, or with what the first request with its key got.

    `handle` must answer with a response whose body is in memory (not a streaming one).
    """
    key = idempotency_key(request)
    if key is None:
        return await handle()
    client = client_state(request)
    config = server_state(request).config
    query = request.scope["query_string"].decode("latin-1")
    operation = f"{request.method} {request.url.path}" + (f"?{query}" if query else "")
    fingerprint = hashlib.sha256(operation.encode() + b"\n" + await request.body()).digest()
    now = time.monotonic()
    _expire(client, now)
    known = client.idempotency.get(key)
    if known is not None:
        return _again(known, fingerprint, operation)
    kept = RECORD_OVERHEAD + sys.getsizeof(key) + sys.getsizeof(operation)
    record = Record(fingerprint, operation, now + config.idempotency_ttl, size=kept + ANSWER_ALLOWANCE)
    client.state_budget.charge(client, record.size)
    _keep(client, key, record, config.max_idempotency_keys)
    try:
        response = await handle()
    except ApiError as exc:
        response = exc.response()
    except BaseException:  # the handler did not finish (a bug, a disconnect): the key is free again
        _forget(client, key, record)
        raise
    if response.status_code in NOT_STORED:
        _forget(client, key, record)
    else:
        record.answer = (response.status_code, list(response.raw_headers), response.body)
        if client.idempotency.get(key) is record:  # still kept: charge what the answer takes, not the allowance
            answered = kept + _answer_size(record.answer)
            client.state_budget.give_back(client, record.size - answered)
            record.size = answered
    return response


def idempotency_key(request: Request) -> str | None:
    """The request's Idempotency-Key, checked; None when it sent none."""
    sent = request.headers.getlist(HEADER)
    if not sent:
        return None
    if len(sent) > 1:
        raise ApiError(400, "invalid_idempotency_key", f"send {HEADER} once, not {len(sent)} times", header=HEADER)
    if not _KEY.fullmatch(sent[0]):
        raise ApiError(
            400, "invalid_idempotency_key",
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} visible ASCII characters, without spaces (a UUID works), "
            f"got {len(sent[0])} characters",
            header=HEADER,
        )
    return sent[0]


def _again(record: Record, fingerprint: bytes, operation: str) -> Response:
    if record.fingerprint != fingerprint:
        first_use = record.operation + (" with a different body" if record.operation == operation else "")
        raise ApiError(
            422, "idempotency_key_reused",
            f"this {HEADER} was first used for another request ({first_use}); use a new key for each operation",
            header=HEADER,
        )
    if record.answer is None:
        raise ApiError(
            409, "idempotency_key_in_flight",
            f"the first request with this {HEADER} is still being processed; retry later with the same key",
            headers={"Retry-After": IN_FLIGHT_RETRY_AFTER}, header=HEADER,
        )
    status, headers, body = record.answer
    replay = Response(body, status)
    replay.raw_headers = [*headers, _REPLAYED]
    return replay


def _answer_size(answer: tuple[int, list[tuple[bytes, bytes]], bytes]) -> int:
    _, headers, body = answer
    return len(body) + sum(HEADER_OVERHEAD + len(name) + len(value) for name, value in headers)


def _keep(client: ClientState, key: str, record: Record, cap: int) -> None:
    """Keep `record` as the client's newest; past `cap` keys, the oldest is forgotten."""
    records: OrderedDict[str, Record] = client.idempotency
    if len(records) >= cap:
        client.state_budget.give_back(client, records.popitem(last=False)[1].size)
    records[key] = record


def _expire(client: ClientState, now: float) -> None:
    """Forget the client's expired keys: the oldest expire first, as every key lives --idempotency-ttl."""
    records: OrderedDict[str, Record] = client.idempotency
    while records and next(iter(records.values())).expires <= now:
        client.state_budget.give_back(client, records.popitem(last=False)[1].size)


def _forget(client: ClientState, key: str, record: Record) -> None:
    if client.idempotency.get(key) is record:  # not a newer record for the same key
        del client.idempotency[key]
        client.state_budget.give_back(client, record.size)
