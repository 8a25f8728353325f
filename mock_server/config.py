"""Server settings: every limit, default and chaos knob, each one a command-line flag."""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass, field

from .contract import DEFAULT_PORT, INSTRUCTOR_TOKEN_VARIABLE, PORT_VARIABLE, TLS_PORT_OFFSET, TLS_PORT_VARIABLE

MiB = 1024 * 1024
MIN_TOKEN_LENGTH = 16  # --instructor-token
AUTO = -1  # --tls-port's default: derived from --port


def _opt(default: object, help: str, *, env: str | None = None) -> object:
    return field(default=default, metadata={"help": help, "env": env})


@dataclass(frozen=True)
class Config:
    """Settings for one mock server. `python -m mock_server --help` lists them all."""

    host: str = _opt("127.0.0.1", "interface to bind: a loopback address (127.0.0.1, ::1, localhost), or with "
                     "--classroom any address (0.0.0.0: every interface), so learners on other machines can join")
    port: int = _opt(DEFAULT_PORT, "TCP port (0 picks a free one); it also speaks HTTP/2 to clients that "
                     "start with it (h2c, prior knowledge)", env=PORT_VARIABLE)
    tls_port: int = _opt(
        AUTO,
        f"HTTPS port, serving HTTP/1.1 and HTTP/2 (ALPN) with certificates from a CA made at start-up: "
        f"{AUTO} means --port + {TLS_PORT_OFFSET} (a free port when --port is 0), 0 turns HTTPS off",
        env=TLS_PORT_VARIABLE,
    )
    h2_max_streams: int = _opt(1000, "HTTP/2 streams (requests) one connection may have in flight at once")
    seed: int = _opt(0, "seed for every generated value: ids, uuids, bytes, flaky draws")
    latency: float = _opt(0.0, "seconds added to every non-admin response")
    jitter: float = _opt(0.0, "up to this many extra seconds, drawn per request (seeded)")
    connect_latency: float = _opt(
        0.0, "seconds added to the first request on each new TCP connection (a simulated handshake)"
    )
    max_duration: float = _opt(10.0, "longest wait any request may ask for, in seconds")
    max_body: int = _opt(10 * MiB, "largest request body accepted, in bytes (larger gets 413)")
    max_form_field: int = _opt(
        1 * MiB, "largest value of one form field (not a file part) in a form or multipart body, in bytes (larger gets 413)"
    )
    max_header_bytes: int = _opt(16 * 1024, "largest request head accepted, in bytes (larger gets 431)")
    head_timeout: float = _opt(
        10.0,
        "seconds a client may take to send a request's line and headers, from its first byte "
        "(then 408 and close); the body and the server's own answer are not limited by it",
    )
    idle_timeout: float = _opt(
        10.0,
        "seconds a new connection may stay silent before its first request (then it is closed); "
        "between requests, uvicorn's 5 s keep-alive timeout closes idle connections",
    )
    backlog: int = _opt(2048, "listen backlog, so bursts of new connections are not dropped")
    max_bytes: int = _opt(100 * MiB, "largest generated response (/bytes, /download, /range, /drip)")
    max_stream_lines: int = _opt(10_000, "most lines /stream/{n} will send")
    max_redirects: int = _opt(100, "longest redirect chain /redirect/{n} will build")
    max_clients: int = _opt(
        1000,
        "client keys kept in memory; the least recently used idle one is forgotten. Besides its share of "
        "--journal-bytes and of --state-bytes (its records and Idempotency-Keys), each key holds at most "
        "~210 KiB of counters, random streams, rate-limit windows and sliding-window logs (200 counters and "
        "windows, 16 streams, 8 logs of at most 1000 arrival times, requests in flight per /concurrency-limited "
        "limit, long names digested)",
    )
    journal_size: int = _opt(
        200, "requests remembered per client key in /__admin/requests (all keys share --journal-bytes)"
    )
    journal_body_bytes: int = _opt(1024, "bytes of each request body kept in the journal")
    journal_bytes: int = _opt(
        64 * MiB,
        "bytes all client keys' journals may hold together: each entry counts its path, query, headers, "
        "kept body and an estimated 400 bytes of overhead; past it the oldest entries "
        "of the least recently active key go first",
    )
    max_records: int = _opt(
        1000,
        "records a client key may create in each REST collection, and payments and refunds in /payments "
        "(each ~1 KiB at most; all keys share --state-bytes)",
    )
    max_idempotency_keys: int = _opt(
        100, "Idempotency-Keys kept per client key, each with its stored answer (all keys share --state-bytes); "
        "the oldest is forgotten first"
    )
    idempotency_ttl: float = _opt(86400.0, "seconds an Idempotency-Key is remembered (then it counts as new)")
    state_bytes: int = _opt(
        64 * MiB,
        "bytes all client keys' saved records and Idempotency-Keys may hold together: each record counts its "
        "fields' memory and 100 bytes more, each Idempotency-Key its key, request line, stored answer and "
        "~1 KiB more; past it the least recently used idle keys are forgotten whole, and a create that would "
        "make one key alone hold more than the whole budget gets 409",
    )
    max_webhook_bytes: int = _opt(
        64 * 1024,
        "largest request body to /webhooks/... and largest webhook payload the server delivers, in bytes "
        "(larger gets 413, refused before it is all read)",
    )
    webhook_queue: int = _opt(
        200, "webhook deliveries (each copy counts) a client key may have pending at once (more gets 429)"
    )
    webhook_concurrency: int = _opt(
        100, "webhook delivery attempts in flight at once, across all client keys (at most 10 of one key)"
    )
    webhook_log_size: int = _opt(
        500, "finished deliveries kept per client key in /__admin/webhooks/deliveries (pending ones are always "
        "kept); each keeps its payload for redelivery, charged to --state-bytes"
    )
    rate_limit: int = _opt(5, "requests per window that /ratelimited allows per client key")
    rate_window: float = _opt(1.0, "length of the /ratelimited window, in seconds")
    retry_after: int = _opt(1, "default Retry-After seconds on /status/429 and /status/503")
    token_ttl: int = _opt(3600, "lifetime of tokens from POST /oauth/token, in seconds")
    api_key: str = _opt("course-api-key", "the key /api-key accepts in X-API-Key")
    log_level: str = _opt("warning", "uvicorn log level")
    classroom: bool = _opt(
        False,
        "classroom mode: one server for a whole class. Learners join with a name (POST /__admin/classroom/join, "
        "or course.server.join(\"ada\")) and every request must carry the learner key they got; one learner "
        "cannot see or change another's state; each learner has a rate and concurrency budget; the instructor "
        "(with --instructor-token) sees every learner and sets class-wide chaos under /__admin/classroom/. "
        "Only in this mode may --host be beyond loopback",
    )
    instructor_token: str = _opt(
        "", "the instructor's bearer token in classroom mode (at least 16 characters, also by env); empty: a random one is "
        "made and printed at start", env=INSTRUCTOR_TOKEN_VARIABLE,
    )
    learner_rate: float = _opt(
        100.0, "requests per second each learner may send in classroom mode (bursts of as many; more gets 429 "
        "learner_budget_exceeded, held 1/rate s first so a loop that ignores it waits a tick per refusal)",
    )
    learner_concurrency: int = _opt(
        200, "requests each learner may have in flight at once in classroom mode (more gets 429 "
        "learner_budget_exceeded)",
    )
    max_learners: int = _opt(500, "learners who may join in classroom mode (then a join gets 409 classroom_full)")

    def with_changes(self, **changes: object) -> Config:
        return dataclasses.replace(self, **changes)


def is_loopback_host(host: str) -> bool:
    """Whether `host` (an address or "localhost") is this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_refusal(config: Config) -> str | None:
    """Why the server must not bind to `config.host`, or None: beyond loopback only in classroom mode."""
    if config.classroom or is_loopback_host(config.host):
        return None
    return (
        f"--host {config.host} is not a loopback address, and the mock server binds beyond this machine only in "
        "classroom mode: anyone who can reach it could read and change every client key's state. To serve a class, "
        "add --classroom (learners must then join, each with a secret key, and the instructor token guards the class "
        "controls); to work alone, keep --host 127.0.0.1."
    )


def describe(name: str) -> str:
    """The flag that sets a Config field, for error messages ("--max-duration")."""
    return "--" + name.replace("_", "-")
