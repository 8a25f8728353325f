"""What the mock server and its clients (course.server, the tests, `make`) agree on.

Kept free of imports, so anything can read it without loading the server.
"""

DEFAULT_PORT = 8765
PORT_VARIABLE = "MOCK_SERVER_PORT"  # the port the course uses; the server's --port reads it too
TLS_PORT_VARIABLE = "MOCK_SERVER_TLS_PORT"  # the HTTPS port, if not the HTTP port + TLS_PORT_OFFSET
TLS_PORT_OFFSET = 1000
INSTRUCTOR_TOKEN_VARIABLE = "MOCK_SERVER_INSTRUCTOR_TOKEN"  # classroom mode: the instructor's bearer token
LEARNER_VARIABLE = "MOCK_SERVER_LEARNER"  # a name: course.server joins the classroom server with it on ensure()
URL_VARIABLE = "MOCK_SERVER_URL"  # set it to use a server that is already running (the tests do)

CLIENT_KEY_HEADER = "X-Client-Key"  # whose state, counters and journal a request uses
CLIENT_KEY_PATTERN = r"[A-Za-z0-9._:@-]{1,64}"
CLIENT_KEY_RULE = "1 to 64 characters from A-Z a-z 0-9 . _ : @ -"
DEFAULT_CLIENT_KEY = "anon"  # requests without the header share it
# One reading everywhere: a request with two X-Client-Key headers is refused (400) rather than
# journaled under one key and acted on (by /__admin/) under the other.
CLIENT_KEY_ONCE = "sent at most once (a request with two gets a 400)"
CLIENT_KEY_DESCRIPTION = (
    f"whose state, counters and journal this request uses (default: {DEFAULT_CLIENT_KEY}): "
    f"{CLIENT_KEY_RULE}; {CLIENT_KEY_ONCE}"
)

# On every /__admin/ answer: which run of the server answered. A new value means the server was
# restarted, and what it recorded is gone (course.server says so).
INSTANCE_HEADER = "X-Mock-Server-Instance"
SERVICE = "http-clients-course mock server"  # what /__admin/health calls itself
READY_PREFIX = "mock server ready at "  # the one line the server prints, once it listens (its URL first)

# Classroom mode (--classroom): a learner joins with a name and gets a key that carries a secret,
# "<name>~<secret>"; every request sends it, or "<learner key>/<anything>" (one learner, many keys).
LEARNER_NAME_PATTERN = r"[a-z0-9_-]{1,32}"
LEARNER_NAME_RULE = "1 to 32 characters from a-z 0-9 _ -"
LEARNER_SECRET_PATTERN = r"[A-Za-z0-9_-]{22}"  # 128 random bits, base64url
LEARNER_SEPARATOR = "~"
LEARNER_SUBKEY_SEPARATOR = "/"
CLASSROOM_PREFIX = "/__admin/classroom/"
