"""Schemathesis fuzzes every operation of /openapi.json: no server error, no answer its schema does not allow.

The server it fuzzes is one of its own, with small limits (waits of at most MAX_DURATION, small
generated bodies), so /hang, /delay and /drip are fuzzed like the rest and the run stays short;
the document fuzzed is the one that server serves (checked below). Each case gets a client key
of its own, so chaos, counters and records one case sets up never reach another. Cases are
drawn from a fixed seed and nothing is written to disk (no Hypothesis database), so every run
sends the same requests.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.pytest.lazy import get_all_tests
from schemathesis.specs.openapi.checks import positive_data_acceptance

from mock_server.config import Config, describe
from mock_server.contract import CLIENT_KEY_HEADER, CLIENT_KEY_PATTERN
from mock_server import classroom
from mock_server.docs import openapi
from mock_server.process import spawn

# Hypothesis caches what it learns about the code under .hypothesis/ in the working directory,
# even with no example database: keep that out of the repository. (Read when a test first runs.)
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(Path(tempfile.gettempdir()) / "mock-server-hypothesis"))
MAX_DURATION = 0.1  # seconds: the longest wait a case may ask for (the server's --max-duration)
FUZZ_CONFIG = Config(port=0, max_duration=MAX_DURATION, max_bytes=4096, max_stream_lines=20, max_redirects=5)
EXAMPLES_PER_OPERATION = 10
SETTINGS = schemathesis.Config.from_dict({
    "seed": 0,
    "generation": {"max-examples": EXAMPLES_PER_OPERATION, "deterministic": True, "database": "none"},
})
DOCUMENT = openapi(FUZZ_CONFIG)
schema = schemathesis.openapi.from_dict(json.loads(json.dumps(DOCUMENT)), config=SETTINGS)
client_keys = (f"fuzz-{number}" for number in itertools.count())


def flags(config: Config) -> list[str]:
    """The command-line flags that give a server `config`."""
    default = Config()
    return [
        argument
        for item in dataclasses.fields(config)
        if item.name != "port" and getattr(config, item.name) != getattr(default, item.name)
        for argument in ((describe(item.name),) if getattr(config, item.name) is True
                         else (describe(item.name), str(getattr(config, item.name))))
    ]


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[str]:
    process, url = spawn(flags(FUZZ_CONFIG), log=Path(tempfile.gettempdir()) / f"fuzz-server-{os.getpid()}.log")
    yield url
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def connections() -> Iterator[requests.Session]:
    """One kept-alive connection for all the cases (one per request left thousands of sockets in TIME_WAIT)."""
    with requests.Session() as session:
        yield session


def test_the_fuzzed_document_is_the_one_served_and_valid_openapi(fuzz_server: str) -> None:
    assert httpx.get(f"{fuzz_server}/openapi.json").json() == json.loads(json.dumps(DOCUMENT))
    schema.validate()  # against the OpenAPI 3.0 meta-schema; raises naming the first thing wrong


# Operations that refuse some requests their schema allows, for a rule OpenAPI 3.0 cannot state
# (across fields, about other records, or on the names of free-form arguments). Schemathesis's
# positive_data_acceptance check expects those requests to succeed.
UNSTATED_RULES = {
    "GET /drip": "delay + duration is at most --max-duration",
    "GET /stream/{n}": "n * interval is at most --max-duration",
    "GET /download/{nbytes}": "cut_after is less than nbytes, and cuts needs cut_after",
    "GET /links/{n}/{offset}": "offset is less than n",
    "PUT /__admin/chaos": "latency + jitter + connect_latency is at most --max-duration",
    "POST /orders": "user_id names an existing user",
    "PUT /orders/{id}": "user_id names an existing user",
    "PATCH /orders/{id}": "user_id names an existing user",
    "POST /webhooks/endpoints": "a given secret has the form its signature scheme needs",
    "POST /webhooks/events": "stale_timestamp needs a Standard Webhooks endpoint; each payload (not only the request) "
                             "is within --max-webhook-bytes",
    "GET /response-headers": "each argument's name is a header name (an RFC 9110 token)",
    "POST /response-headers": "each argument's name is a header name (an RFC 9110 token)",
    "GET /cookies/set": "each argument's name is a cookie name (an RFC 6265 token)",
    "GET /cookies/delete": "each argument's name is a cookie name (an RFC 6265 token)",
    **{f"{method} /ratelimited": "burst needs algorithm=token, and algorithm=sliding allows a limit of at most 1000"
       for method in ("GET", "POST", "PUT", "PATCH", "DELETE")},
    "PUT /__admin/payments/outage": "exactly one of calls or seconds; status and retry_after with mode error only; "
    "delay is at most --max-duration, and more than 0 for lost_answer",
    "PUT /__admin/classroom/chaos": "latency + jitter is at most --max-duration",
    "POST /__admin/classroom/join": "the name is not taken already",
    "POST /__admin/classroom/results": "exercise names have no control characters; at most 50 labs per learner",
}
# Operations that answer 5xx only in an outage a case would have to set up first (each case has a
# client key of its own, so none is ever in one): the checks that a 5xx would skip still apply.
FAIL_ONLY_IN_AN_OUTAGE = {"GET /payments", "POST /payments", "GET /payments/{payment_id}",
                          "POST /payments/{payment_id}/refunds"}


def answers_errors_on_request(operation: schemathesis.APIOperation) -> bool:
    """Whether the operation answers 5xx when asked to (/status/503, /flaky, /hang), as its document says.

    Those operations answer 4xx on request too, so neither can count against them."""
    if operation.label in FAIL_ONLY_IN_AN_OUTAGE:
        return False
    return any(str(status).startswith("5") for status in operation.definition.raw["responses"])


def skipped_checks(operation: schemathesis.APIOperation) -> list[schemathesis.CheckFunction]:
    if answers_errors_on_request(operation):
        return [not_a_server_error, positive_data_acceptance]
    return [positive_data_acceptance] if operation.label in UNSTATED_RULES else []


def not_a_server_bug(ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """The 500 the server answers when a handler raised: never acceptable, even where 5xx are."""
    if response.status_code == 500 and b'"server_bug"' in response.content:
        raise AssertionError(f"{case.operation.label} failed inside the server: {response.text}")


def test_a_server_bug_fails_even_where_5xx_are_asked_for() -> None:
    case = SimpleNamespace(operation=SimpleNamespace(label="GET /status/{code}"))
    asked = SimpleNamespace(status_code=500, content=b'{"status":500,"reason":"Internal Server Error"}', text="")
    bug = SimpleNamespace(status_code=500, content=b'{"error":"server_bug","message":"..."}', text="server_bug")
    not_a_server_bug(None, asked, case)  # type: ignore[arg-type]
    with pytest.raises(AssertionError, match="failed inside the server"):
        not_a_server_bug(None, bug, case)  # type: ignore[arg-type]


def client_key(case: schemathesis.Case) -> str:
    """A key of the case's own; or the invalid one it drew, which the server must refuse."""
    drawn = (case.headers or {}).get(CLIENT_KEY_HEADER)
    return drawn if drawn is not None and not re.fullmatch(CLIENT_KEY_PATTERN, drawn) else next(client_keys)


# Operations that cut their body short on request (the parameter named): the connection closes
# partway through the body, so for a case that asks for it the client's error is the answer.
CUT_ON_REQUEST = {"GET /download/{nbytes}": "cut_after"}


def fuzz(case: schemathesis.Case, fuzz_server: str, connections: requests.Session) -> None:
    """One case: send it, then run every check on the answer."""
    connections.cookies.clear()  # a session cookie one case got must not log in the next
    try:
        case.call_and_validate(
            base_url=fuzz_server,
            session=connections,
            headers={CLIENT_KEY_HEADER: client_key(case)},
            timeout=10,
            additional_checks=[not_a_server_bug],
            excluded_checks=skipped_checks(case.operation),
        )
    except requests.exceptions.ChunkedEncodingError:
        cut = CUT_ON_REQUEST.get(case.operation.label)
        if cut is None or (case.query or {}).get(cut) is None:
            raise


# Each operation's Hypothesis test is built as schema.parametrize() builds them (examples, coverage
# and fuzzing phases), when it runs. Not schema.parametrize() itself: under pytest 9.2 its items
# share one node id, so pytest-xdist counts them all as one test and drops the others' failures.
OPERATIONS = [(method.upper(), path) for path, operations in DOCUMENT["paths"].items() for method in operations]


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{method} {path}" for method, path in OPERATIONS])
def test_every_operation_answers_within_its_schema(
    method: str, path: str, fuzz_server: str, connections: requests.Session
) -> None:
    (built,) = get_all_tests(schema=schema.include(method=method, path=path), test_func=fuzz, settings=None,
                             given_kwargs={})
    _, run_cases = built.ok()
    try:
        run_cases(fuzz_server=fuzz_server, connections=connections)
    except FailureGroup as failures:  # its text is the report: each failure, its answer and a curl line
        raise pytest.fail.Exception(str(failures), pytrace=False) from None


# The classroom operations again, on a classroom server (--classroom), as a learner and the instructor:
# each case joins as a learner of its own and carries the instructor token too.
CLASSROOM_TOKEN = "fuzzing-instructor-token"
CLASSROOM_CONFIG = FUZZ_CONFIG.with_changes(classroom=True, instructor_token=CLASSROOM_TOKEN, max_learners=100_000)
CLASSROOM_DOCUMENT = openapi(CLASSROOM_CONFIG)
classroom_schema = schemathesis.openapi.from_dict(json.loads(json.dumps(CLASSROOM_DOCUMENT)), config=SETTINGS)
CLASSROOM_OPERATIONS = [(method, path) for method, path in OPERATIONS if path.startswith("/__admin/classroom/")]
learner_names = (f"fuzz-{number}" for number in itertools.count())


@pytest.fixture(scope="module")
def classroom_server() -> Iterator[str]:
    process, url = spawn(flags(CLASSROOM_CONFIG), log=Path(tempfile.gettempdir()) / f"fuzz-classroom-{os.getpid()}.log")
    yield url
    process.terminate()
    process.wait(10)


def fuzz_in_class(case: schemathesis.Case, classroom_server: str, connections: requests.Session) -> None:
    joined = connections.post(f"{classroom_server}/__admin/classroom/join", json={"name": next(learner_names)})
    assert joined.status_code == 201, joined.text
    drawn = (case.headers or {}).get(CLIENT_KEY_HEADER)
    invalid = drawn is not None and not re.fullmatch(f"{classroom.LEARNER_KEY.pattern}|{CLIENT_KEY_PATTERN}", drawn)
    case.call_and_validate(
        base_url=classroom_server,
        session=connections,
        headers={CLIENT_KEY_HEADER: drawn if invalid else joined.json()["key"],
                 "Authorization": f"Bearer {CLASSROOM_TOKEN}"},
        timeout=10,
        additional_checks=[not_a_server_bug],
        excluded_checks=skipped_checks(case.operation),
    )


def test_the_classroom_document_is_the_one_served(classroom_server: str) -> None:
    served = httpx.get(f"{classroom_server}/openapi.json", headers={"Authorization": f"Bearer {CLASSROOM_TOKEN}"})
    assert served.json() == json.loads(json.dumps(CLASSROOM_DOCUMENT))
    classroom_schema.validate()


@pytest.mark.parametrize(("method", "path"), CLASSROOM_OPERATIONS,
                         ids=[f"{method} {path}" for method, path in CLASSROOM_OPERATIONS])
def test_every_classroom_operation_answers_within_its_schema_in_a_class(
    method: str, path: str, classroom_server: str, connections: requests.Session
) -> None:
    (built,) = get_all_tests(schema=classroom_schema.include(method=method, path=path), test_func=fuzz_in_class,
                             settings=None,
                             given_kwargs={})
    _, run_cases = built.ok()
    try:
        run_cases(classroom_server=classroom_server, connections=connections)
    except FailureGroup as failures:
        raise pytest.fail.Exception(str(failures), pytrace=False) from None
