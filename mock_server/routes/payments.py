"""A payment provider to call from a backend: payments and refunds in integer minor units,
Idempotency-Key with Stripe's semantics, and outage windows that make the provider fail on purpose.

Per client key, as everything else: its payments (`pay_000001`, `pay_000002`, ... in creation
order), its refunds (`re_000001`, ...) and its outage window; POST /__admin/reset forgets them.
Each key may create --max-records payments and as many refunds; payments are records charged
to --state-bytes as the REST collections' are.

Money is an integer number of minor units (1999 is 19.99 usd, 500 is 500 jpy): a float, even
1999.0, is refused with a 422 invalid_amount that says which integer to send. The JSON reader
(reading.py) keeps 1999.0 a float and refuses integers of more than 100 digits with a 400;
any other integer out of range is an invalid_amount.

An outage window (PUT /__admin/payments/outage) affects the key's next `calls` requests to
/payments... (or those in a `seconds`-long window), counted in arrival order from the window's
start, `starts_in` seconds from now. The modes, and where each acts:

- error: the provider's gateway answers `status` (503) after `delay` (0) s: nothing reaches the
  provider, nothing is created and no answer is stored under the request's Idempotency-Key.
- timeout: the gateway holds the request `delay` s (the server's --max-duration), then answers
  504: nothing is created. A client with a shorter timeout gives up first (the journal: 499).
- slow: the provider takes `delay` (1) s to handle the request, then handles it normally. Its
  Idempotency-Key is in flight all that time (a retry with it gets 409), and the work goes on if
  the client gives up: a payment is created all the same.
- lost_answer: the provider handles the request (the payment is created and its answer stored
  under its Idempotency-Key), then the answer is lost. Without `delay`, the answer's status line
  and headers are sent and the connection is closed before its body (HTTP/2: the stream ends
  short of its Content-Length), so no client gets a usable answer (httpx raises
  RemoteProtocolError; over HTTP/2, h2's InvalidBodyLengthError, which httpx may wrap in a
  LocalProtocolError). With `delay`, the whole answer
  is sent after `delay` s, and a client with a shorter read timeout gets ReadTimeout.
  The journal shows each such attempt: with the status 201 (or whatever the answer was) when the
  connection was cut, since the server did answer and the payment does exist, which is the point
  of the lesson; with 499 when the client gave up waiting for a delayed answer.

Admin requests are never affected: GET /__admin/payments counts what really exists, even
during an outage, without showing in the journal. From a notebook: course.server.outage(key,
**fields) sets a window (with no fields, shows it), end_outage(key) ends it, payments(key)
lists what exists.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from ..config import describe
from ..endpoints import Answer, Group, Param
from ..errors import ApiError, ErrorBody
from ..reading import JSON, Strict, json_object, validated
from ..responses import MAX_RETRY_AFTER
from ..state import ClientState, client_key, client_state, record_size, server_state
from ..waiting import wait

group = Group(
    "Payments",
    "A payment provider: payments and refunds in integer minor units, Idempotency-Key, and outages on request "
    "(PUT /__admin/payments/outage) for circuit breakers and lost answers.",
)

MAX_AMOUNT = 99_999_999  # minor units: 999,999.99 usd
# ISO 4217 codes the provider takes, with their minor-unit exponent (2: cents; 0: none; 3: fils).
CURRENCIES = {
    "usd": 2, "eur": 2, "gbp": 2, "inr": 2, "jpy": 0, "chf": 2, "cad": 2, "aud": 2, "cny": 2, "sek": 2,
    "nok": 2, "dkk": 2, "pln": 2, "brl": 2, "mxn": 2, "krw": 0, "bhd": 3, "kwd": 3,
}
EXAMPLE = "send 1999 for 19.99 usd"
MAX_DESCRIPTION = 500
MAX_CUSTOMER = 100
SHOWN_ID = 80  # characters of an unknown id that an error message quotes
MODES = ("error", "timeout", "slow", "lost_answer")
MAX_OUTAGE_CALLS = 1000
MIN_OUTAGE_SECONDS, MAX_OUTAGE_SECONDS = 0.01, 60.0
MAX_STARTS_IN = 60.0
DEFAULT_ERROR_STATUS = 503
DEFAULT_SLOW_DELAY = 1.0  # seconds, or the server's --max-duration if that is shorter
SLOW = "mock.payments.slow"  # scope key: seconds the provider takes over this request
_DECIMAL = re.compile(r"\s*-?[0-9]+(\.[0-9]+)?\s*")


# ---- What the provider keeps, per client key.

@dataclass
class Outage:
    """One outage window: which requests it strikes, and what it does to them."""

    mode: str
    calls: int | None  # the next N requests from the window's start; or
    seconds: float | None  # every request in an S-second window
    starts: float  # time.monotonic() when the window opens
    status: int | None  # error: the status answered
    delay: float | None  # seconds (lost_answer: None drops the connection)
    retry_after: int | None  # error: Retry-After
    affected: int = 0  # requests it struck so far

    def strikes(self, now: float) -> bool:
        """Whether the request arriving `now` is struck (counting it if so)."""
        if self.state(now) != "active":
            return False
        self.affected += 1
        return True

    def state(self, now: float) -> str:
        if now < self.starts:
            return "scheduled"
        if self.calls is not None:
            return "active" if self.affected < self.calls else "over"
        assert self.seconds is not None
        return "active" if now < self.starts + self.seconds else "over"


@dataclass
class Ledger:
    """One client key's payments (by id, in creation order), its refund count and its outage."""

    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: int = 0
    outage: Outage | None = None


def ledger(client: ClientState) -> Ledger:
    if client.payments is None:
        client.payments = Ledger()
    return client.payments


# ---- Money.

def invalid_amount(message: str, name: str = "amount") -> ApiError:
    return ApiError(422, "invalid_amount", message, field=name)


def check_amount(value: Any, currency: str, *, name: str = "amount") -> int:
    """`value` as an amount in minor units, or a 422 invalid_amount that says what to send instead."""
    exponent = CURRENCIES.get(currency, 2)
    unit = "minor units (cents for usd, whole yen for jpy)"
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        kind = {bool: "a boolean", type(None): "null", list: "an array", dict: "an object"}.get(type(value), "?")
        raise invalid_amount(f"{name} must be an integer number of {unit}: {EXAMPLE}; got {kind}", name)
    if isinstance(value, int):
        if value < 1:
            raise invalid_amount(f"{name} must be at least 1 (one minor unit), got {value}", name)
        if value > MAX_AMOUNT:
            shown = str(value) if len(str(value)) <= 20 else f"an integer of {len(str(value))} digits"
            raise invalid_amount(f"{name} must be at most {MAX_AMOUNT} minor units, got {shown}", name)
        return value
    sent = value if isinstance(value, float) else None
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        sent = float(value)
    what = f"the string {value[:40]!r}" if isinstance(value, str) else repr(value)
    if sent is not None:
        named = currency if currency in CURRENCIES else "usd"
        instead = int(sent) if sent.is_integer() else round(sent * 10**exponent)
        if not sent.is_integer() and abs(sent * 10**exponent - instead) > 1e-6:
            raise invalid_amount(f"amounts are integer minor units, as a JSON integer: {named} has {exponent} decimal "
                                 f"places, so {sent:g} {named} is not a whole number of its minor units ({EXAMPLE}); "
                                 f"got {what}", name)
        if 1 <= instead <= MAX_AMOUNT:
            hint = f"send {instead}" if sent.is_integer() else f"send {instead} for {sent:g} {named}"
            raise invalid_amount(f"amounts are integer minor units, as a JSON integer: {hint}, not {what}", name)
    raise invalid_amount(f"amounts are integer minor units from 1 to {MAX_AMOUNT}, as a JSON integer: {EXAMPLE}; "
                         f"got {what}", name)


def check_currency(value: Any) -> str:
    supported = ", ".join(CURRENCIES)
    if not isinstance(value, str):
        given = "nothing" if value is None else type(value).__name__
        raise ApiError(422, "invalid_currency", f"currency must be a 3-letter ISO 4217 code such as usd, got {given}; "
                       f"supported: {supported}", field="currency", supported=list(CURRENCIES))
    if value.lower() not in CURRENCIES:
        raise ApiError(422, "invalid_currency", f"currency {value[:20]!r} is not supported; use one of {supported} "
                       "(case does not matter)", field="currency", supported=list(CURRENCIES))
    return value.lower()


# ---- Documented shapes.

class PaymentIn(BaseModel):
    """What POST /payments takes (checked by hand, for errors that say what to send instead)."""

    model_config = ConfigDict(extra="forbid")

    amount: Annotated[int, Field(ge=1, le=MAX_AMOUNT, description=f"integer minor units: 1999 is 19.99 usd (a float "
                                 f"such as 19.99 or 1999.0 is refused)")]
    currency: Annotated[str, Field(description="ISO 4217 code, case-insensitive; answered lowercase",
                                   json_schema_extra={"enum": [*CURRENCIES, *(code.upper() for code in CURRENCIES)]})]
    description: Annotated[str, Field(max_length=MAX_DESCRIPTION)] | None = None
    customer: Annotated[str, Field(max_length=MAX_CUSTOMER)] | None = None


class Extras(Strict):
    """The fields of a payment beyond its money, checked as every other body is."""

    description: Annotated[str, Field(max_length=MAX_DESCRIPTION)] | None = None
    customer: Annotated[str, Field(max_length=MAX_CUSTOMER)] | None = None


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Annotated[int, Field(ge=1, le=MAX_AMOUNT, description="minor units; left out: all that is left")] | None = (
        None)


class Payment(BaseModel):
    id: Annotated[str, Field(pattern=r"^pay_[0-9]{6,}$")]
    object: Literal["payment"]
    amount: Annotated[int, Field(ge=1, le=MAX_AMOUNT)]
    currency: str
    status: Literal["succeeded"]
    description: str | None
    customer: str | None
    amount_refunded: Annotated[int, Field(ge=0)]


class PaymentList(BaseModel):
    count: Annotated[int, Field(ge=0)]
    payments: list[Payment]


class Refund(BaseModel):
    id: Annotated[str, Field(pattern=r"^re_[0-9]{6,}$")]
    object: Literal["refund"]
    payment: str
    amount: Annotated[int, Field(ge=1)]
    currency: str


Calls = Annotated[int, Field(ge=1, le=MAX_OUTAGE_CALLS, description="the next N requests from the window's start")]
Seconds = Annotated[float, Field(ge=MIN_OUTAGE_SECONDS, le=MAX_OUTAGE_SECONDS,
                                 description="every request in a window of S seconds")]
StartsIn = Annotated[float, Field(ge=0, le=MAX_STARTS_IN, description="seconds until the window opens")]
ErrorStatus = Annotated[int, Field(ge=500, le=599, description="mode error only: the status (503)")]
Delay = Annotated[float, Field(ge=0, description="seconds, at most --max-duration (each mode's default: see above)")]
RetryAfter = Annotated[int, Field(ge=0, le=MAX_RETRY_AFTER, description="mode error only: Retry-After seconds")]


class OutageIn(Strict):
    mode: Literal["error", "timeout", "slow", "lost_answer"]
    calls: Calls | None = None
    seconds: Seconds | None = None
    starts_in: StartsIn = 0.0
    status: ErrorStatus | None = None
    delay: Delay | None = None
    retry_after: RetryAfter | None = None


class OutageOut(BaseModel):
    state: Literal["none", "scheduled", "active", "over", "ended"]
    active: bool
    mode: Literal["error", "timeout", "slow", "lost_answer"] | None
    calls: int | None
    seconds: float | None
    starts_in: float | None
    status: int | None
    delay: float | None
    retry_after: int | None
    calls_left: int | None
    seconds_left: float | None
    affected: int


PROVIDER_ERRORS = {"5XX": {JSON: ErrorBody}}  # only during an outage you set up


# ---- The outage, around every /payments request.

async def provider(request: Request, answer: Answer) -> Response:
    """Answer through the key's outage window, if it strikes this request (see the module's docstring)."""
    book = client_state(request).payments
    outage = book.outage if book is not None else None
    if outage is None or not outage.strikes(time.monotonic()):
        return await answer()
    where = "an outage set with PUT /__admin/payments/outage"
    if outage.mode == "error":
        await wait(request, outage.delay or 0.0)
        headers = {} if outage.retry_after is None else {"Retry-After": str(outage.retry_after)}
        raise ApiError(outage.status or DEFAULT_ERROR_STATUS, "provider_unavailable",
                       f"the payment provider is unavailable ({where}); nothing was created", headers=headers)
    if outage.mode == "timeout":
        assert outage.delay is not None
        await wait(request, outage.delay)
        raise ApiError(504, "provider_timeout",
                       f"the payment provider did not answer within {outage.delay:g} s ({where}); nothing was created")
    if outage.mode == "slow":
        request.scope[SLOW] = outage.delay
        return await answer()
    try:  # lost_answer: handled (and its answer stored) first, then lost, whatever the answer was
        handled = await answer()
    except ApiError as exc:
        handled = exc.response()
    return LostAnswer(handled, outage.delay)


async def provider_work(request: Request) -> None:
    """The provider's own time over a request in a slow window: the work goes on if the client leaves."""
    delay = request.scope.get(SLOW)
    if delay:
        await asyncio.sleep(delay)


class LostAnswer(Response):
    """An answer that never arrives whole: cut after its head, or sent only after `delay` seconds."""

    def __init__(self, answer: Response, delay: float | None) -> None:
        super().__init__(answer.body, answer.status_code)
        self.raw_headers = answer.raw_headers
        self.answer, self.delay = answer, delay

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.delay is None:
            # As streams.CutResponse: over HTTP/1.1, returning short of the body makes the server
            # close the connection; an HTTP/2 stream is ended there instead.
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            if scope.get("http_version") == "2":
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        try:
            await wait(Request(scope, receive), self.delay)
        except ClientDisconnect:
            return  # the client gave up first; the journal records 499
        await self.answer(scope, receive, send)


# ---- The provider's API.

def _missing(payment_id: str) -> ApiError:
    shown = payment_id if len(payment_id) <= SHOWN_ID else payment_id[:SHOWN_ID] + "..."
    return ApiError(404, "not_found", f"no payment with id {shown!r}", id=shown)


def _full(what: str, limit: int) -> ApiError:
    return ApiError(409, "collection_full", f"this client key already made {limit} {what} (the server's "
                    f"{describe('max_records')}); start again with POST /__admin/reset", limit=limit)


PAYMENT_ID = Param("payment_id", str, "path", description="the payment's id, such as pay_000001 (quote it: one path "
                   "segment; a quoted slash stays in the id)")


def _listing(client: ClientState) -> dict[str, Any]:
    payments = list(ledger(client).payments.values())
    return {"count": len(payments), "payments": payments}


@group.route("/payments", methods=["POST"], body={JSON: PaymentIn}, idempotent=True, around=provider,
             responses={201: {JSON: Payment}, **PROVIDER_ERRORS})
async def create_payment(request: Request) -> Response:
    """Create a payment: 201 with Location. `amount` is an integer number of minor units.

    1999 is 19.99 usd: a float (19.99, or 1999.0), a string, a boolean, zero, a negative or an amount
    over 99999999 is a 422 invalid_amount saying what to send; an unknown currency a 422
    invalid_currency listing the supported ones. Send an Idempotency-Key, one per payment and the same
    on every retry: the same key and body replay the first answer (Idempotent-Replayed: true), another
    body with it is a 422, and a retry while the first is still handled a 409. Each client key may
    create up to --max-records payments (then 409). Answers 5xx only in an outage you set up.
    """
    await provider_work(request)
    data = await json_object(request)
    if "amount" not in data:
        raise invalid_amount(f"amount is required: an integer number of minor units ({EXAMPLE})")
    currency = data.get("currency")
    amount = check_amount(data.get("amount"), currency.lower() if isinstance(currency, str) else "usd")
    currency = check_currency(currency)
    extras = validated(Extras, {name: value for name, value in data.items() if name not in ("amount", "currency")},
                       partial=False)
    client = client_state(request)
    book = ledger(client)
    limit = server_state(request).config.max_records
    if len(book.payments) >= limit:
        raise _full("payments", limit)
    payment_id = f"pay_{len(book.payments) + 1:06d}"
    record = {"id": payment_id, "object": "payment", "amount": amount, "currency": currency, "status": "succeeded",
              **extras, "amount_refunded": 0}
    client.state_budget.charge(client, record_size(record))
    book.payments[payment_id] = record
    return JSONResponse(record, 201, {"Location": f"/payments/{payment_id}"})


@group.route("/payments", around=provider, responses={200: {JSON: PaymentList}, **PROVIDER_ERRORS})
async def list_payments(request: Request) -> Response:
    """Every payment this client key made, in creation order: what really exists."""
    await provider_work(request)
    return JSONResponse(_listing(client_state(request)))


@group.route("/payments/{payment_id}", PAYMENT_ID, around=provider, raw_segments=True,
             responses={200: {JSON: Payment}, **PROVIDER_ERRORS})
async def get_payment(request: Request, payment_id: str) -> Response:
    """One payment, or 404 naming the id. The id is one segment of the raw path: /payments/..%2Fadmin asks
    for the id ../admin (and gets a 404), never for another route."""
    await provider_work(request)
    record = ledger(client_state(request)).payments.get(payment_id)
    if record is None:
        raise _missing(payment_id)
    return JSONResponse(record)


@group.route("/payments/{payment_id}/refunds", PAYMENT_ID, methods=["POST"], body={JSON: RefundIn},
             body_required=False, idempotent=True, around=provider, raw_segments=True,
             responses={201: {JSON: Refund}, **PROVIDER_ERRORS})
async def refund_payment(request: Request, payment_id: str) -> Response:
    """Refund some or all of a payment: 201. More than what is left is a 422 refund_exceeds_payment.

    `amount` in minor units, as for payments; left out (or no body), all that is left. Honours
    Idempotency-Key as POST /payments does.
    """
    await provider_work(request)
    data = await json_object(request) if await request.body() else {}  # no body: refund all that is left
    unknown = sorted(set(data) - {"amount"})
    if unknown:
        raise ApiError(422, "validation_failed", f"invalid fields: {', '.join(unknown)}",
                       fields={name: "Extra inputs are not permitted" for name in unknown})
    client = client_state(request)
    book = ledger(client)
    payment = book.payments.get(payment_id)
    if payment is None:
        raise _missing(payment_id)
    left = payment["amount"] - payment["amount_refunded"]
    amount = left if data.get("amount") is None else check_amount(data["amount"], payment["currency"])
    if amount > left or amount < 1:
        raise ApiError(422, "refund_exceeds_payment",
                       f"{payment_id} has {left} {payment['currency']} minor units left to refund, not {amount}",
                       left=left)
    limit = server_state(request).config.max_records
    if book.refunds >= limit:
        raise _full("refunds", limit)
    refunded = {**payment, "amount_refunded": payment["amount_refunded"] + amount}
    client.state_budget.charge(client, record_size(refunded) - record_size(payment))
    book.payments[payment_id] = refunded
    book.refunds += 1
    refund = {"id": f"re_{book.refunds:06d}", "object": "refund", "payment": payment_id, "amount": amount,
              "currency": payment["currency"]}
    return JSONResponse(refund, 201)


# ---- Admin: what exists, and the outage window.

def outage_json(outage: Outage | None, now: float, *, ended: bool = False) -> dict[str, Any]:
    if outage is None:
        return {"state": "none", "active": False, **dict.fromkeys(
            ("mode", "calls", "seconds", "starts_in", "status", "delay", "retry_after", "calls_left", "seconds_left")),
            "affected": 0}
    state = "ended" if ended else outage.state(now)
    timed = outage.seconds is not None
    return {
        "state": state, "active": state == "active", "mode": outage.mode, "calls": outage.calls,
        "seconds": outage.seconds, "starts_in": round(max(0.0, outage.starts - now), 3), "status": outage.status,
        "delay": outage.delay, "retry_after": outage.retry_after,
        "calls_left": None if timed or ended else max(0, (outage.calls or 0) - outage.affected),
        "seconds_left": _seconds_left(outage, now) if timed and not ended else None,
        "affected": outage.affected,
    }


def known(request: Request) -> ClientState | None:
    """The state of the client key an admin request is about, if the server has one (looking stores nothing)."""
    return server_state(request).clients.get(client_key(request))


def ledger_of(request: Request) -> Ledger | None:
    client = known(request)
    return client.payments if client is not None else None


def _seconds_left(outage: Outage, now: float) -> float:
    assert outage.seconds is not None
    return round(max(0.0, min(outage.seconds, outage.starts + outage.seconds - now)), 3)


def _refuse(name: str, message: str) -> ApiError:
    return ApiError(422, "validation_failed", f"{name}: {message}", fields={name: message})


def new_outage(wanted: OutageIn, max_duration: float, now: float) -> Outage:
    """The window `wanted` asks for, with each mode's defaults, or a 422 naming the field that cannot be."""
    if (wanted.calls is None) == (wanted.seconds is None):
        raise _refuse("calls", "send exactly one of calls (the next N requests) or seconds (a window of S seconds)")
    if wanted.mode != "error":
        for name in ("status", "retry_after"):
            if getattr(wanted, name) is not None:
                raise _refuse(name, f"applies to mode error only, not {wanted.mode}")
    delay = wanted.delay
    if delay is not None and delay > max_duration:
        raise _refuse("delay", f"must be at most {max_duration:g} s (the server's {describe('max_duration')})")
    if wanted.mode == "lost_answer" and delay == 0:
        raise _refuse("delay", "must be more than 0 for lost_answer; leave it out to drop the connection instead")
    if delay is None:
        delay = {"error": 0.0, "timeout": max_duration, "slow": min(DEFAULT_SLOW_DELAY, max_duration)}.get(wanted.mode)
    status = (wanted.status or DEFAULT_ERROR_STATUS) if wanted.mode == "error" else None
    return Outage(wanted.mode, wanted.calls, wanted.seconds, now + wanted.starts_in, status, delay, wanted.retry_after)


@group.route("/__admin/payments", responses={200: {JSON: PaymentList}})
async def admin_payments(request: Request) -> Response:
    """The payments this client key made, as GET /payments lists them, but never struck by an outage nor journaled:
    how many really exist."""
    client = known(request)
    return JSONResponse(_listing(client) if client is not None else {"count": 0, "payments": []})


@group.route("/__admin/payments/outage", methods=["PUT"], body={JSON: OutageIn}, responses={200: {JSON: OutageOut}})
async def put_outage(request: Request) -> Response:
    """Make this key's payment provider fail on purpose, for a number of calls or seconds (replacing any window).

    Send exactly one of `calls` or `seconds` (at most 60); `starts_in` (0 to 60 s) schedules the start.
    Modes: error (answers `status`, 503, after `delay`, 0 s; `retry_after` adds Retry-After), timeout
    (holds `delay` s, the server's --max-duration, then 504), slow (takes `delay`, 1 s, then answers),
    lost_answer (creates the payment and stores its answer, then cuts the connection after the head;
    with `delay`, answers only after it). Nothing is created under error and timeout. Every delay is at
    most --max-duration. The answer: the window (`state` scheduled, active or over; calls or seconds left;
    `affected`, the requests it struck).
    """
    wanted = OutageIn(**validated(OutageIn, await json_object(request), partial=False))
    now = time.monotonic()
    outage = new_outage(wanted, server_state(request).config.max_duration, now)
    ledger(server_state(request).client(client_key(request))).outage = outage
    return JSONResponse(outage_json(outage, now))


@group.route("/__admin/payments/outage", responses={200: {JSON: OutageOut}})
async def get_outage(request: Request) -> Response:
    """This key's outage window: `state` (none, scheduled, active or over), calls or seconds left, requests struck."""
    book = ledger_of(request)
    return JSONResponse(outage_json(book.outage if book is not None else None, time.monotonic()))


@group.route("/__admin/payments/outage", methods=["DELETE"], responses={200: {JSON: OutageOut}})
async def delete_outage(request: Request) -> Response:
    """End this key's outage window now: the answer is the window as it ended (`state` ended), or `state` none."""
    book = ledger_of(request)
    outage = book.outage if book is not None else None
    if book is not None:
        book.outage = None
    return JSONResponse(outage_json(outage, time.monotonic(), ended=outage is not None))
