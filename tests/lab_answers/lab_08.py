"""Lab 08: answers grading must reject (with their hints) and correct alternatives it must accept."""

from lab_answers import Right, Wrong

# The reference's opening lines, shared by the hand-written answers below that differ elsewhere.
FIELDS = '''
    fields = {name.lower(): value for name, value in headers.items()}
    msg_id, timestamp, signatures = (fields.get(name) for name in
                                     ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and timestamp and signatures):
        return False
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{msg_id}.{timestamp}.".encode() + body'''

SIGNATURE = ("def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,\n"
             "                     tolerance: float = 300) -> bool:")


def verify(body: str) -> str:
    """An answer cell: verify_signature with the reference's opening lines, then `body`."""
    return f"{SIGNATURE}{FIELDS}\n{body.strip(chr(10))}\n"


ANSWERS: dict = {
    1: [
        Wrong("hmac.compare_digest on str header values: TypeError on a non-ASCII signature (Pitfall W2)",
              hint="compare bytes: hmac.compare_digest(expected, signature.encode())", code=verify('''
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    for candidate in signatures.split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(expected, signature):
            return True
    return False
''')),
        Wrong("the re-serialised JSON signed instead of the raw body (Pitfall W8)",
              hint="sign the raw body, the bytes as they arrived", code=verify('''
    content = f"{msg_id}.{timestamp}.".encode() + json.dumps(json.loads(body)).encode()
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest())
    for candidate in signatures.split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(expected, signature.encode()):
            return True
    return False
''')),
        Wrong("no timestamp check: a 10-minute-old delivery (a replay) is accepted (Pitfall W3)",
              hint="refuse a timestamp more than tolerance seconds before now", code='''
def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
                     tolerance: float = 300) -> bool:
    fields = {name.lower(): value for name, value in headers.items()}
    msg_id, timestamp, signatures = (fields.get(name) for name in
                                     ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and timestamp and signatures):
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest())
    for candidate in signatures.split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(expected, signature.encode()):
            return True
    return False
'''),
        Wrong("only the first signature of the list checked", hint="accept the delivery when any v1 signature matches, "
              "not only the first", code=verify('''
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest())
    version, _, signature = signatures.split(" ")[0].partition(",")
    return version == "v1" and hmac.compare_digest(expected, signature.encode())
''')),
        Wrong("split(',') into two names: ValueError on a signature with no comma", hint="split each signature on its "
              "first comma with version, _, signature = candidate.partition(',')", code=verify('''
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest())
    for candidate in signatures.split(" "):
        version, signature = candidate.split(",")
        if version == "v1" and hmac.compare_digest(expected, signature.encode()):
            return True
    return False
''')),
        Wrong("the HMAC compared in hex, as GitHub's sha256= header is", hint="the signature after 'v1,' is base64",
              code=verify('''
    expected = hmac.new(key, content, hashlib.sha256).hexdigest().encode()
    for candidate in signatures.split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(expected, signature.encode()):
            return True
    return False
''')),
        Wrong("standardwebhooks catching only WebhookVerificationError: its ValueError escapes (Pitfall W10)",
              hint="raised ValueError", code='''
def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
                     tolerance: float = 300) -> bool:
    try:
        Webhook(secret).verify(body, dict(headers))
    except WebhookVerificationError:
        return False
    return True
'''),
        Wrong("the secret's text used as the HMAC key", hint="the HMAC key is the secret's decoded bytes", code='''
def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
                     tolerance: float = 300) -> bool:
    fields = {name.lower(): value for name, value in headers.items()}
    msg_id, timestamp, signatures = (fields.get(name) for name in
                                     ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and timestamp and signatures) or not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    digest = hmac.new(secret.encode(), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    expected = base64.b64encode(digest)
    return any(hmac.compare_digest(expected, candidate.partition(",")[2].encode())
               for candidate in signatures.split(" ") if candidate.startswith("v1,"))
'''),
        Wrong("header names looked up as written: the capitalised Webhook-Id is missed",
              hint="header names are case-insensitive", code='''
def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
                     tolerance: float = 300) -> bool:
    msg_id, timestamp, signatures = (headers.get(name) for name in
                                     ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and timestamp and signatures) or not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest())
    return any(version == "v1" and hmac.compare_digest(expected, signature.encode())
               for version, _, signature in (candidate.partition(",") for candidate in signatures.split(" ")))
'''),
        Wrong("the version ignored: the right HMAC labelled v2 is accepted", hint="only v1 signatures count",
              code=verify('''
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest())
    for candidate in signatures.split(" "):
        _, _, signature = candidate.partition(",")
        if hmac.compare_digest(expected, signature.encode()):
            return True
    return False
''')),
        Wrong("int(timestamp) unguarded: ValueError on a timestamp that is not a number",
              hint="check timestamp.isascii() and timestamp.isdigit() before int(timestamp)", code='''
def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
                     tolerance: float = 300) -> bool:
    fields = {name.lower(): value for name, value in headers.items()}
    msg_id, timestamp, signatures = (fields.get(name) for name in
                                     ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and timestamp and signatures):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest())
    for candidate in signatures.split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(expected, signature.encode()):
            return True
    return False
'''),
        Wrong("the clock read with time.time() whatever now says (caught by the hidden test)",
              hint="measure the timestamp's age from now, the argument", code='''
def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
                     tolerance: float = 300) -> bool:
    fields = {name.lower(): value for name, value in headers.items()}
    msg_id, timestamp, signatures = (fields.get(name) for name in
                                     ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and timestamp and signatures) or not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest())
    return any(version == "v1" and hmac.compare_digest(expected, signature.encode())
               for version, _, signature in (candidate.partition(",") for candidate in signatures.split(" ")))
'''),
        Wrong("the tolerance hard-coded to 5 minutes (caught by the hidden test)",
              hint="use the tolerance you are given", code='''
def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
                     tolerance: float = 300) -> bool:
    fields = {name.lower(): value for name, value in headers.items()}
    msg_id, timestamp, signatures = (fields.get(name) for name in
                                     ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and timestamp and signatures) or not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > 300:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest())
    return any(version == "v1" and hmac.compare_digest(expected, signature.encode())
               for version, _, signature in (candidate.partition(",") for candidate in signatures.split(" ")))
'''),
        Right("standardwebhooks' Webhook.verify, both its exceptions caught, the timestamp checked against now first",
              code='''
def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
                     tolerance: float = 300) -> bool:
    timestamp = {name.lower(): value for name, value in headers.items()}.get("webhook-timestamp", "")
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    try:
        Webhook(secret).verify(body, dict(headers), json_parse=False)
    except (WebhookVerificationError, ValueError):  # ValueError: Pitfall W10
        return False
    return True
'''),
        Right("each signature decoded from base64 (binascii.Error caught) and compared with the raw digest", code='''
def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
                     tolerance: float = 300) -> bool:
    import re

    lower = {name.lower(): value for name, value in headers.items()}
    try:
        msg_id, timestamp, signatures = lower["webhook-id"], lower["webhook-timestamp"], lower["webhook-signature"]
    except KeyError:
        return False
    if not re.fullmatch(r"[0-9]+", timestamp):
        return False
    clock = time.time() if now is None else now
    if not clock - tolerance <= int(timestamp) <= clock + tolerance:
        return False
    secret_bytes = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
    digest = hmac.new(secret_bytes, msg_id.encode() + b"." + timestamp.encode() + b"." + body, hashlib.sha256).digest()
    for candidate in signatures.split():
        if not candidate.startswith("v1,"):
            continue
        try:
            sent = base64.b64decode(candidate[3:], validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(digest, sent):
            return True
    return False
'''),
    ],
}
