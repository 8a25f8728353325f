"""Classroom mode's endpoints under /__admin/classroom/: joining, lab results, and the instructor's API.

A learner joins (no key needed) and reports lab results with their learner key; everything else
here needs the instructor token (`Authorization: Bearer ...`). Without --classroom each answers
404 classroom_off.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..classroom import ClassChaos, Classroom, Learner, instructor_only, join_required
from ..config import describe
from ..contract import CLIENT_KEY_HEADER, LEARNER_NAME_PATTERN
from ..endpoints import Group
from ..errors import ApiError
from ..reading import JSON, Strict, json_object, validated
from ..state import server_state

group = Group("Classroom", "Classroom mode (--classroom): learners join and report lab results; the instructor "
              "(Authorization: Bearer <instructor token>) sees every learner and sets class-wide chaos.")
CSV = "text/csv"
LEARNER_OUT = {JSON: {"type": "object", "required": ["name", "key"], "properties": {
    "name": {"type": "string"}, "key": {"type": "string"}, "rejoined": {"type": "boolean"},
    "budgets": {"type": "object"}, "message": {"type": "string"}}}}
LEARNERS = {JSON: {"type": "object", "required": ["count", "learners"], "properties": {
    "count": {"type": "integer", "minimum": 0},
    "learners": {"type": "array", "items": {"type": "object", "required": [
        "name", "requests", "statuses", "rate_limited", "errors", "connections", "in_flight", "last_seen", "labs"]}}}}}


def classroom(request: Request) -> Classroom:
    found = server_state(request).classroom
    if found is None:
        raise classroom_off()
    return found


async def classroom_body(request: Request) -> Classroom:
    """The classroom; without one, a 404, after the body is read as every JSON reader reads it (a bad one is a 4xx)."""
    found = server_state(request).classroom
    if found is None:
        await json_object(request)
        raise classroom_off()
    return found


def classroom_off() -> ApiError:
    return ApiError(404, "classroom_off", "this server is not a classroom server: start it with "
                    "`python -m mock_server --classroom` for a class (alone, nothing needs joining)")


def instructor(request: Request, what: str) -> Classroom:
    """The classroom, if the request carries the instructor token; else a 401 instructor_only."""
    found = classroom(request)
    if not found.is_instructor(request.scope["headers"]):
        raise instructor_only(what)
    return found


def learner_of(request: Request) -> Learner | None:
    return request.scope.get("mock.learner")


class JoinIn(Strict):
    name: Annotated[str, Field(pattern=f"^{LEARNER_NAME_PATTERN}$", description="your name in the class, e.g. ada")]


@group.route("/__admin/classroom/join", methods=["POST"], body={JSON: JoinIn},
             responses={200: LEARNER_OUT, 201: LEARNER_OUT})
async def join(request: Request) -> Response:
    """Join the class with a name (201): the answer's `key` is your learner key, secret included.

    Send it in X-Client-Key on every request, alone or as `<key>/<anything>` (one key per lesson).
    A name already taken answers 409 name_taken, unless the request carries that name's key in
    X-Client-Key: then it is a rejoin (200, the same key). Names are 1 to 32 of a-z 0-9 _ -.
    """
    room = await classroom_body(request)
    body = await json_object(request)
    if set(body) - {"name"}:
        validated(JoinIn, body, partial=False)  # a 422 naming the unknown field
    learner, created = room.join(body.get("name"), learner_of(request))
    config = room.config
    return JSONResponse({
        "name": learner.name,
        "key": learner.key,
        "rejoined": not created,
        "budgets": {"rate": config.learner_rate, "concurrency": config.learner_concurrency},
        "message": f"{'joined' if created else 'rejoined'} the class as {learner.name}: send {CLIENT_KEY_HEADER}: "
                   f"{learner.key} (or {learner.key}/<anything>) on every request; keep the key to yourself",
    }, 201 if created else 200)


class ExerciseIn(BaseModel):
    name: str
    passed: bool


class ResultsIn(Strict):
    lab: Annotated[str, Field(description='the lab, e.g. "07"', pattern=r"^[A-Za-z0-9._-]{1,32}$")]
    exercises: Annotated[list[ExerciseIn], Field(min_length=1, max_length=50)]


@group.route("/__admin/classroom/results", methods=["POST"], body={JSON: ResultsIn},
             responses={200: {JSON: {"type": "object", "required": ["learner", "lab", "exercises"]}}})
async def report_results(request: Request) -> Response:
    """Report your lab results (with your learner key in X-Client-Key): each exercise passed or not.

    A later report of the same exercise replaces the earlier one. At most 50 labs of 50 exercises
    are kept per learner.
    """
    room = await classroom_body(request)
    learner = learner_of(request)
    if learner is None:
        raise join_required(request.headers.get(CLIENT_KEY_HEADER))
    body = await json_object(request)
    if set(body) - {"lab", "exercises"}:
        validated(ResultsIn, body, partial=False)  # a 422 naming the unknown field
    taken = room.report(learner, body.get("lab"), body.get("exercises"))
    return JSONResponse({"learner": learner.name, "lab": body["lab"], "exercises": taken})


@group.route("/__admin/classroom/learners", responses={200: LEARNERS})
async def learners(request: Request) -> Response:
    """Every learner (instructor only), by name: requests, status classes, 429s, errors, connections, last seen, labs.

    `requests` counts every request sent with the learner's key (admin calls included);
    `rate_limited` the 429s they got (their budget, the class-wide limit, /ratelimited);
    `budget_refusals` the 429s of their own budget alone; `errors` the requests they gave up on
    before the answer (499); `connections` the TCP connections they used, `connections_open` those
    still open; `last_seen` is seconds ago (null: never).
    """
    return JSONResponse(instructor(request, "the list of learners").listing())


class ClassRateLimit(Strict):
    limit: Annotated[int, Field(ge=1, le=100_000, description="requests per window, per learner")]
    window: Annotated[float, Field(ge=0.01, le=3600, description="the window, in seconds")]


class ClassChaosIn(Strict):
    latency: Annotated[float, Field(ge=0, description="seconds added to every learner's response")] = 0.0
    jitter: Annotated[float, Field(ge=0, description="up to this many extra seconds, drawn per request")] = 0.0
    failure_rate: Annotated[float, Field(ge=0, le=1, description="chance that a request fails")] = 0.0
    failure_codes: Annotated[
        list[Annotated[int, Field(ge=400, le=599)]],
        Field(min_length=1, max_length=10, description="the status codes a failure picks from"),
    ] = [500, 502, 503]
    rate_limit: Annotated[ClassRateLimit | None, Field(description="a 429 past this many requests per window, "
                                                                   "per learner (null: none)")] = None


@group.route("/__admin/classroom/chaos", methods=["GET"], responses={200: {JSON: ClassChaosIn}})
async def get_class_chaos(request: Request) -> Response:
    """What the class is under now (instructor only): the class-wide chaos on every learner's requests."""
    return JSONResponse(instructor(request, "the class-wide chaos").chaos.as_json())


@group.route("/__admin/classroom/chaos", methods=["PUT"], body={JSON: ClassChaosIn},
             responses={200: {JSON: ClassChaosIn}})
async def put_class_chaos(request: Request) -> Response:
    """Set the class-wide chaos (instructor only): it applies from every learner's next request.

    Latency, jitter and failures are added to every learner's requests to the simulated API (not
    /__admin/), before any chaos the learner set on their own key; `rate_limit` answers 429 with
    Retry-After past `limit` requests per `window` seconds, per learner. Fields left out take their
    defaults (calm). latency + jitter is limited by the server's --max-duration.
    """
    await classroom_body(request)
    room = instructor(request, "the class-wide chaos")
    wanted = ClassChaosIn(**validated(ClassChaosIn, await json_object(request), partial=False))
    limit = room.config.max_duration
    if wanted.latency + wanted.jitter > limit:
        raise ApiError(422, "validation_failed",
                       f"latency + jitter must be at most {limit:g} s (the server's {describe('max_duration')})")
    rate = None if wanted.rate_limit is None else (wanted.rate_limit.limit, wanted.rate_limit.window)
    room.chaos = ClassChaos(wanted.latency, wanted.jitter, wanted.failure_rate, tuple(wanted.failure_codes), rate)
    return JSONResponse(room.chaos.as_json())


@group.route("/__admin/classroom/chaos", methods=["DELETE"], responses={200: {JSON: ClassChaosIn}})
async def delete_class_chaos(request: Request) -> Response:
    """Calm again (instructor only): no class-wide chaos."""
    room = instructor(request, "the class-wide chaos")
    room.chaos = ClassChaos()
    return JSONResponse(room.chaos.as_json())


@group.route("/__admin/classroom/results.csv", responses={200: {CSV: None}})
async def results_csv(request: Request) -> Response:
    """Every learner's lab results as CSV (instructor only): learner,lab,exercise,passed,reported_at."""
    room = instructor(request, "the lab results")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["learner", "lab", "exercise", "passed", "reported_at"])
    for name, lab, exercise, passed, at in room.results_rows():
        writer.writerow([name, lab, _cell(exercise), "true" if passed else "false", at])
    return Response(out.getvalue(), 200, {"Content-Disposition": 'attachment; filename="results.csv"'}, CSV)


def _cell(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection): a leading = + - @ gets a quote."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
