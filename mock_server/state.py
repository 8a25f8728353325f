"""Everything the server remembers, per client key and server-wide, with every store bounded.

The server runs one event loop in one process, and state changes only between awaits,
so nothing here needs a lock.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import hashlib
import random
import re
import secrets
import sys
import time
from collections import OrderedDict, deque
from itertools import chain
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.requests import Request

from .config import Config
from .contract import CLIENT_KEY_HEADER, CLIENT_KEY_PATTERN, CLIENT_KEY_RULE, DEFAULT_CLIENT_KEY
from .errors import ApiError

V = TypeVar("V")

_CLIENT_KEY = re.compile(CLIENT_KEY_PATTERN)
REDACTED = "[redacted]"
# How many named counters or limiter windows one client key may hold (the oldest is forgotten):
# with names bounded by MAX_NAME_LENGTH, ~35 KiB of counters and ~50 KiB of windows at most.
MAX_ENTRIES_PER_CLIENT = 200
# How many sliding-window logs one client key may hold (the oldest is forgotten): each is an
# array of 8-byte arrival times, one per request its limit allows (routes/ratelimit.py caps
# that limit at 1000), so ~8 KiB each and ~64 KiB at most.
MAX_SLIDING_LOGS_PER_CLIENT = 8
# How many random streams one client key may hold: each is a Mersenne Twister state of 2.5 KiB.
MAX_STREAMS_PER_CLIENT = 16
# Longest counter or stream name stored as it is; a longer one (a /flaky URL can be 16 KiB) is
# stored as a digest, so equal names still share a counter.
MAX_NAME_LENGTH = 64
# How many client keys one TCP connection remembers having served (the oldest is forgotten).
MAX_CLIENTS_PER_CONNECTION = 100
# What the journal charges each entry against --journal-bytes beyond its path, query, header and
# body bytes: the entry object, its numbers and strings (~380 bytes on CPython 3.11), rounded up.
ENTRY_OVERHEAD = 400
# The journal keeps a request's headers as one bytes object, names and values separated by NUL
# (which HTTP never allows in either): a fraction of the memory of a list of pairs, with far
# fewer objects to fragment the heap when many big heads come and go.
_HEADER_SEPARATOR = b"\0"
# Seconds suggested with a 503 when --state-bytes is held by keys that are all being served.
STATE_BUSY_RETRY_AFTER = "1"


def derive_seed(*parts: object) -> int:
    """A stable 64-bit seed from any parts (Python's hash() changes between runs)."""
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:8], "big")


def parse_client_key(key: str | None) -> str:
    """The client key header's value, checked; requests without one share DEFAULT_CLIENT_KEY."""
    if key is None:
        return DEFAULT_CLIENT_KEY
    if not _CLIENT_KEY.fullmatch(key):
        raise ApiError(
            400,
            "invalid_client_key",
            f"{CLIENT_KEY_HEADER} must be {CLIENT_KEY_RULE}",
            client_key=key[:80],
        )
    return key


def bounded_name(name: str) -> str:
    """`name` itself when short, else a digest of it: the same name always gives the same result."""
    if len(name) <= MAX_NAME_LENGTH:
        return name
    return "sha256:" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()


def put(store: OrderedDict[str, V], key: str, value: V, cap: int) -> None:
    """Set store[key] as the newest entry (replacing any old one); forget the oldest when full."""
    store.pop(key, None)
    if len(store) >= cap:
        store.popitem(last=False)
    store[key] = value


def remember(store: MutableMapping[str, V], key: str, make: Callable[[], V], cap: int) -> V:
    """Get or create store[key]; when the store is full, forget its oldest entry."""
    if key not in store:
        if len(store) >= cap:
            del store[next(iter(store))]
        store[key] = make()
    return store[key]


@dataclass
class Chaos:
    """Trouble added to every non-admin request of one client key."""

    latency: float = 0.0
    jitter: float = 0.0
    connect_latency: float = 0.0
    failure_rate: float = 0.0
    failure_codes: tuple[int, ...] = (500, 502, 503)

    def as_json(self) -> dict[str, Any]:
        return {
            "latency": self.latency,
            "jitter": self.jitter,
            "connect_latency": self.connect_latency,
            "failure_rate": self.failure_rate,
            "failure_codes": list(self.failure_codes),
        }


class JournalEntry:
    """One request as the server saw it. Stored raw; rendered to JSON only when read."""

    __slots__ = (
        "id", "at", "method", "path", "query", "headers", "body", "body_size", "status", "connection", "duration", "size",
        "scheme", "http_version",
    )

    def __init__(self, id: int, at: float, scope: dict[str, Any], connection: int | None) -> None:
        self.id = id
        self.at = at
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.query: bytes = scope["query_string"]
        self.headers = _HEADER_SEPARATOR.join(chain.from_iterable(scope["headers"]))
        self.body = b""
        self.body_size = 0
        self.status: int | None = None
        self.connection = connection
        self.duration: float | None = None
        self.size = 0  # bytes charged to the journal budget while the entry is in its journal
        self.scheme: str = scope["scheme"]
        self.http_version: str = scope["http_version"]

    def header_pairs(self) -> list[tuple[bytes, bytes]]:
        if not self.headers:
            return []
        parts = iter(self.headers.split(_HEADER_SEPARATOR))
        return list(zip(parts, parts))

    def as_json(self, body_limit: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "query": self.query.decode("latin-1"),
            "headers": header_dict(self.header_pairs(), redact=True),
            "body": self.body.decode("utf-8", "replace"),
            "body_size": self.body_size,
            "body_truncated": self.body_size > body_limit,
            "status": self.status,
            "connection": self.connection,
            "scheme": self.scheme,
            "http_version": self.http_version,
            "at": round(self.at, 4),
            "duration": None if self.duration is None else round(self.duration, 4),
        }


def entry_size(entry: JournalEntry) -> int:
    """What `entry` costs in memory, estimated: its bytes plus a fixed overhead (ENTRY_OVERHEAD)."""
    return ENTRY_OVERHEAD + len(entry.path) + len(entry.query) + len(entry.headers) + len(entry.body)


class JournalBudget:
    """The bytes that every client key's journal shares (--journal-bytes).

    Past the budget, the oldest entries of the least recently journaled key go first, so a
    learner who is active keeps their recent requests while a key nobody uses gives way.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.holders: OrderedDict[Journal, None] = OrderedDict()  # journals with entries, least recent first

    def charge(self, journal: Journal, entry: JournalEntry, size: int) -> None:
        entry.size += size
        journal.bytes += size
        self.used += size
        try:
            self.holders.move_to_end(journal)
        except KeyError:
            self.holders[journal] = None
        while self.used > self.limit:
            oldest = next(iter(self.holders))
            oldest.drop_oldest()
            oldest.dropped_for_bytes += 1

    def release(self, journal: Journal) -> None:
        self.used -= journal.bytes
        journal.bytes = 0
        self.holders.pop(journal, None)


class Journal:
    """One client key's journal: its newest --journal-size requests, within the shared byte budget."""

    __slots__ = ("entries", "capacity", "budget", "bytes", "dropped_for_size", "dropped_for_bytes", "released")

    def __init__(self, capacity: int, budget: JournalBudget) -> None:
        self.entries: deque[JournalEntry] = deque()
        self.capacity = capacity  # --journal-size
        self.budget = budget
        self.bytes = 0
        self.dropped_for_size = 0  # entries pushed out by --journal-size
        self.dropped_for_bytes = 0  # entries pushed out by --journal-bytes
        self.released = False  # its client key was forgotten: nothing more is kept

    def __iter__(self) -> Iterator[JournalEntry]:
        return iter(self.entries)

    def add(self, entry: JournalEntry) -> None:
        if self.released:
            return
        if len(self.entries) >= self.capacity:
            self.drop_oldest()
            self.dropped_for_size += 1
        self.entries.append(entry)
        self.budget.charge(self, entry, entry_size(entry))

    def add_body(self, entry: JournalEntry, body: bytes, size: int) -> None:
        """Keep the start of the entry's body (read after the entry was added), if it is still here."""
        entry.body_size = size
        if entry.size and not self.released:
            entry.body = body
            self.budget.charge(self, entry, len(body))

    def drop_oldest(self) -> None:
        entry = self.entries.popleft()
        self.bytes -= entry.size
        self.budget.used -= entry.size
        entry.size = 0
        if not self.entries:
            self.budget.holders.pop(self, None)

    def release(self) -> None:
        """Give back every byte: the client key is forgotten (its in-flight requests may still end)."""
        self.released = True
        self.budget.release(self)

    def dropped(self) -> dict[str, int]:
        return {"journal_size": self.dropped_for_size, "journal_bytes": self.dropped_for_bytes}


def header_dict(headers: list[tuple[bytes, bytes]], *, redact: bool = False) -> dict[str, str]:
    """Headers as httpbin shows them: Title-Case names, sorted, repeats joined with ', '."""
    merged: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").title()
        value = raw_value.decode("latin-1")
        if redact:
            value = _redact(name, value)
        merged[name] = f"{merged[name]}, {value}" if name in merged else value
    return dict(sorted(merged.items()))


def _redact(name: str, value: str) -> str:
    if name == "Authorization":
        scheme, _, credentials = value.partition(" ")
        return f"{scheme} {REDACTED}" if credentials else REDACTED
    if name == "Cookie":
        return "; ".join(f"{part.split('=', 1)[0].strip()}={REDACTED}" for part in value.split(";"))
    if name == "X-Api-Key":
        return REDACTED
    return value


# What --state-bytes charges a saved record (a REST resource, a payment) beyond its dict and values,
# which sys.getsizeof measures as they are stored (a name with one emoji in it takes 4 bytes a
# character): its id and its slot in the client's store, ~30 bytes on CPython 3.11 by tracemalloc,
# rounded up for allocator slack.
RECORD_OVERHEAD = 100


def record_size(record: dict[str, Any] | None) -> int:
    """What a saved record costs in memory, estimated: its dict and values plus RECORD_OVERHEAD (0 for none)."""
    if record is None:
        return 0
    return RECORD_OVERHEAD + sys.getsizeof(record) + sum(map(sys.getsizeof, record.values()))


class StateBudget:
    """The bytes that every client key's saved records and Idempotency-Keys share (--state-bytes).

    Each store charges what it keeps to the client key that keeps it and gives the charge back
    when it lets go. Past the budget, whole client keys are forgotten, as --max-clients does:
    the least recently used first, and only idle ones (no request in flight) other than the key
    being served. So one learner's data is never partly lost, and an active learner is the last
    to go. What cannot be made to fit is refused with an error, never dropped silently.
    """

    def __init__(self, limit: int, clients: OrderedDict[str, ClientState], forget: Callable[[str], None]) -> None:
        self.limit = limit
        self.used = 0
        self.clients = clients  # the server's client table, least recently used first
        self.forget = forget

    def charge(self, client: ClientState, size: int) -> None:
        """Count `size` more bytes for `client` (negative: fewer), making room first.

        An ApiError when there is no room: 409 when this key alone would hold more than the
        budget, 503 when what holds the rest belongs to keys with requests in flight.
        """
        if self.clients.get(client.key) is not client:
            return  # forgotten while its request ran: what it keeps goes when the request ends
        if size > 0:
            self._make_room(client, size)
        client.state_bytes += size
        self.used += size

    def give_back(self, client: ClientState, size: int) -> None:
        """Count `size` fewer bytes for `client`: a store let go of something it had charged."""
        if self.clients.get(client.key) is client:
            client.state_bytes -= size
            self.used -= size

    def release(self, client: ClientState) -> None:
        """Give back everything `client` holds: its key is forgotten."""
        self.used -= client.state_bytes
        client.state_bytes = 0

    def _make_room(self, client: ClientState, size: int) -> None:
        if client.state_bytes + size > self.limit:
            raise ApiError(
                409, "state_budget_exceeded",
                f"this client key's saved records and Idempotency-Keys would take {client.state_bytes + size} "
                f"bytes, more than all keys together may keep (the server's --state-bytes, {self.limit}); "
                "start again with POST /__admin/reset, or restart the server with a larger --state-bytes",
                limit=self.limit,
            )
        while self.used + size > self.limit:
            idle = next(
                (other for other in self.clients.values()
                 if other.state_bytes and other.in_flight == 0 and other is not client),
                None,
            )
            if idle is None:
                raise ApiError(
                    503, "state_budget_busy",
                    f"the server's --state-bytes ({self.limit}) is held by client keys with requests in flight; "
                    "retry in a moment",
                    headers={"Retry-After": STATE_BUSY_RETRY_AFTER}, limit=self.limit,
                )
            self.forget(idle.key)


class ClientState:
    """What one client key has done: its journal, statistics, counters and records."""

    def __init__(
        self, key: str, epoch: int, config: Config, journal_budget: JournalBudget, state_budget: StateBudget
    ) -> None:
        self.key = key
        self.epoch = epoch  # tells a reset client apart from its previous life
        self.seed = config.seed
        self.started = time.monotonic()
        self.journal = Journal(config.journal_size, journal_budget)
        self.state_budget = state_budget
        self.state_bytes = 0  # what its records and Idempotency-Keys are charged against --state-bytes
        self.requests = 0
        self.statuses: dict[int, int] = {}
        self.connections = 0
        self.connections_open = 0
        self.protocols: dict[str, int] = {}  # connections opened, by ALPN protocol id (Connection.protocol)
        self.in_flight = 0
        self.max_in_flight = 0
        self.chaos: Chaos | None = None
        self.counters: dict[str, int] = {}
        self.streams: dict[str, random.Random] = {}
        self.windows: dict[str, Any] = {}
        self.sliding_logs: dict[str, Any] = {}  # at most MAX_SLIDING_LOGS_PER_CLIENT
        # Requests in flight per /concurrency-limited limit: an entry goes when its count is 0 again.
        self.in_flight_by_limit: dict[int, int] = {}
        self.records: dict[str, Any] = {}
        self.idempotency: OrderedDict[str, Any] = OrderedDict()  # Idempotency-Key -> its record (idempotency.py)
        self.payments: Any = None  # its payments, refunds and outage window (routes/payments.py), made on first use
        self.webhooks: Any = None  # its endpoints, queue and delivery log (delivery.Webhooks), made on first use

    def random(self, name: str, *, shared: bool = False) -> random.Random:
        """A seeded random stream this client draws from alone, so other clients cannot shift it.

        It is seeded with the server's --seed and this client key; a `shared` stream is seeded
        by its name alone, so every client key (on any server) draws the same sequence.
        """
        if shared:
            key, seed = f"shared:{name}", ("shared", name)
        else:
            key, seed = name, (self.seed, self.key, name)
        return remember(self.streams, bounded_name(key), lambda: random.Random(derive_seed(*seed)), MAX_STREAMS_PER_CLIENT)

    def count(self, name: str) -> int:
        """Increment and return the named counter (1 on first call)."""
        name = bounded_name(name)
        remember(self.counters, name, int, MAX_ENTRIES_PER_CLIENT)
        self.counters[name] += 1
        return self.counters[name]

    def new_secret(self, kind: str) -> str:
        """A fresh token or session id: random-looking, yet the same on every run."""
        return hashlib.sha256(f"{self.seed}:{self.key}:{kind}:{self.count(kind)}".encode()).hexdigest()[:32]

    def stats(self) -> dict[str, Any]:
        return {
            "client_key": self.key,
            "requests": self.requests,
            "statuses": {str(code): n for code, n in sorted(self.statuses.items())},
            "connections_opened": self.connections,
            "connections_open": self.connections_open,
            "connections_by_protocol": dict(sorted(self.protocols.items())),
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
        }


class Connection:
    """One TCP connection, as the HTTP protocol reports it.

    Its `protocol` is the ALPN id of what it speaks: "http/1.1" (on either port), "h2" (HTTP/2
    over TLS) or "h2c" (HTTP/2 over cleartext TCP, with prior knowledge).
    """

    __slots__ = ("id", "protocol", "requests", "clients", "lost", "learners")

    def __init__(self, id: int, protocol: str) -> None:
        self.id = id
        self.protocol = protocol
        self.requests = 0  # non-admin requests served so far
        self.learners: dict[str, Any] | None = None  # classroom mode: learner name -> Learner served on it
        # key -> (client epoch, that client's number for it); at most MAX_CLIENTS_PER_CONNECTION keys
        self.clients: dict[str, tuple[int, int]] = {}
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()  # set when the client goes

    async def wait_lost(self, timeout: float, stream_lost: asyncio.Future[None] | None = None) -> bool:
        """Wait up to `timeout` seconds; return True as soon as the client disconnects (or, over
        HTTP/2, cancels the request's stream: `stream_lost`)."""
        signals = [self.lost] if stream_lost is None else [self.lost, stream_lost]
        if not any(signal.done() for signal in signals):
            loop = asyncio.get_running_loop()
            woken = loop.create_future()

            def wake(_: object = None) -> None:
                if not woken.done():
                    woken.set_result(None)

            timer = loop.call_later(timeout, wake)
            for signal in signals:
                signal.add_done_callback(wake)
            try:
                await woken
            finally:
                timer.cancel()
                for signal in signals:
                    signal.remove_done_callback(wake)
        return any(signal.done() for signal in signals)


class ServerState:
    """Server-wide state: the client table, connection counts, tokens and sessions."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.instance = secrets.token_hex(8)  # names this run of the server (contract.INSTANCE_HEADER)
        self.clients: OrderedDict[str, ClientState] = OrderedDict()
        self.epochs = 0
        self.started = time.monotonic()
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.connections_opened = 0
        self.connections_open = 0
        self.max_connections_open = 0
        self.rejected_heads = 0
        self.head_timeouts = 0  # connections closed with a 408: the request head took too long
        self.idle_timeouts = 0  # connections closed because they sent nothing
        self.protocols: dict[str, int] = {}  # connections opened, by Connection.protocol
        self.tls_plain_refused = 0  # connections to the HTTPS port that sent plain HTTP (400)
        self.tls_handshakes_failed = 0  # refused or abandoned TLS handshakes
        self.tls: dict[str, str] | None = None  # the HTTPS listener's url and CA file, once it listens
        self.tokens: OrderedDict[str, tuple[str, float]] = OrderedDict()  # token -> (client key, expiry)
        self.sessions: OrderedDict[str, str] = OrderedDict()  # session id -> user name
        self.collections: dict[str, Any] = {}
        self.deliverer: Any = None  # the webhook sender (delivery.Sender), made on first use
        self.classroom: Any = None  # classroom.Classroom with --classroom (app.py makes it), else None
        self.default_chaos = Chaos(config.latency, config.jitter, config.connect_latency)
        self.journal_budget = JournalBudget(config.journal_bytes)
        self.state_budget = StateBudget(config.state_bytes, self.clients, self._forget)

    def client(self, key: str) -> ClientState:
        client = self.clients.get(key)
        if client is None:
            if len(self.clients) >= self.config.max_clients:
                self._forget_an_idle_client()
            self.epochs += 1
            client = self.clients[key] = ClientState(
                key, self.epochs, self.config, self.journal_budget, self.state_budget
            )
        else:
            self.clients.move_to_end(key)
        return client

    def _forget_an_idle_client(self) -> None:
        """Forget the least recently used client that has no request in flight.

        A client being served is in use, however long ago its request began (a burst of slow
        requests, a /hang): forgetting it would lose those requests from its journal and stats.
        So the table may briefly hold more than --max-clients, one per request in flight at most.
        """
        for key, client in self.clients.items():
            if client.in_flight == 0:
                self._forget(key)
                return

    def _forget(self, key: str) -> None:
        client = self.clients.pop(key, None)
        if client is not None:
            if client.webhooks is not None:
                client.webhooks.close()  # its pending deliveries are cancelled
            client.journal.release()
            self.state_budget.release(client)

    def reset_client(self, key: str) -> None:
        self._forget(key)

    def reset_all(self) -> None:
        for client in self.clients.values():
            if client.webhooks is not None:
                client.webhooks.close()
            client.journal.release()
            self.state_budget.release(client)
        self.clients.clear()
        self.tokens.clear()
        self.sessions.clear()
        give_memory_back()

    def open_connection(self, protocol: str = "http/1.1") -> Connection:
        self.connections_opened += 1
        self.connections_open += 1
        self.max_connections_open = max(self.max_connections_open, self.connections_open)
        self.protocols[protocol] = self.protocols.get(protocol, 0) + 1
        return Connection(self.connections_opened, protocol)

    def switch_protocol(self, connection: Connection, protocol: str) -> None:
        """`connection` turned out to speak `protocol` (h2c) before it served any request."""
        self.protocols[connection.protocol] -= 1
        self.protocols[protocol] = self.protocols.get(protocol, 0) + 1
        connection.protocol = protocol

    def close_connection(self, connection: Connection) -> None:
        self.connections_open -= 1
        connection.lost.set_result(None)
        for key, (epoch, _) in connection.clients.items():
            self._leave(key, epoch)
        connection.clients.clear()
        if connection.learners:
            for learner in connection.learners.values():
                learner.connections_open -= 1
            connection.learners.clear()

    def connection_number(self, connection: Connection, client: ClientState) -> int:
        """The connection's number among the ones `client` has used (1, 2, ...).

        A connection remembers its last MAX_CLIENTS_PER_CONNECTION client keys; one it forgot
        counts as closed for that key, and as a new connection if the key comes back.
        """
        seen = connection.clients.get(client.key)
        if seen is None or seen[0] != client.epoch:
            if seen is None and len(connection.clients) >= MAX_CLIENTS_PER_CONNECTION:
                oldest = next(iter(connection.clients))
                self._leave(oldest, connection.clients.pop(oldest)[0])
            elif seen is not None:
                del connection.clients[client.key]  # a reset key: count it again as the newest
            client.connections += 1
            client.connections_open += 1
            client.protocols[connection.protocol] = client.protocols.get(connection.protocol, 0) + 1
            seen = connection.clients[client.key] = (client.epoch, client.connections)
        return seen[1]

    def _leave(self, key: str, epoch: int) -> None:
        """A connection no longer counts as open for client `key` (if it is still that client)."""
        client = self.clients.get(key)
        if client is not None and client.epoch == epoch:
            client.connections_open -= 1

    def stats(self) -> dict[str, Any]:
        return {
            "uptime": round(time.monotonic() - self.started, 3),
            "clients": len(self.clients),
            "requests": self.requests,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "connections_opened": self.connections_opened,
            "connections_open": self.connections_open,
            "max_connections_open": self.max_connections_open,
            "connections_by_protocol": dict(sorted(self.protocols.items())),
            "tls_plain_http_refused": self.tls_plain_refused,
            "tls_handshakes_failed": self.tls_handshakes_failed,
            "rejected_request_heads": self.rejected_heads,
            "head_timeouts": self.head_timeouts,
            "idle_timeouts": self.idle_timeouts,
            "journal_bytes": self.journal_budget.used,
            "journal_budget": self.journal_budget.limit,
            "state_bytes": self.state_budget.used,
            "state_budget": self.state_budget.limit,
        }


def _load_malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, which hands freed heap pages back to the system; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None).malloc_trim  # the C library the interpreter runs on
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None


_malloc_trim = _load_malloc_trim()


def give_memory_back() -> None:
    """Return what forgotten state used to the system, not only to Python's allocator.

    Freed memory otherwise stays in the process (glibc keeps freed pages for reuse), so the
    server's RSS would stay at its peak after a reset. Objects frozen by gc.freeze() at startup
    are not touched: only what the state held since.
    """
    gc.collect()
    if _malloc_trim is not None:
        _malloc_trim(0)


def server_state(request: Request) -> ServerState:
    return request.app.state.mock


def client_key(request: Request) -> str:
    """The caller's X-Client-Key, as the middleware read and checked it for every request."""
    return request.scope["mock.client_key"]


def client_state(request: Request) -> ClientState:
    """The calling client's state (the middleware attaches it to every non-admin request)."""
    return request.scope["mock.client"]
