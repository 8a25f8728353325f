"""`python -m mock_server` documents every flag, and /docs works with no network."""

from __future__ import annotations

import dataclasses
import re
import socket
import subprocess
import sys
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from mock_server.__main__ import config_from
from mock_server.config import Config, describe
from mock_server.routes import GROUPS


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mock_server", *args], capture_output=True, text=True, timeout=30)


def test_help_documents_every_setting() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for item in dataclasses.fields(Config):
        assert describe(item.name) in result.stdout, f"{describe(item.name)} is missing from --help"
        assert item.metadata["help"].split()[0] in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--latency", "-1"], "--latency must be at least 0"),
    (["--max-duration", "0"], "--max-duration must be positive"),
    (["--port", "70000"], "--port must be at most 65535"),
    (["--max-body", "lots"], "invalid int value"),
])
def test_bad_flags_are_refused_with_a_reason(args: list[str], message: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2 and message in result.stderr


def test_flags_and_port_variable_reach_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCK_SERVER_PORT", "9100")
    assert config_from(["--seed", "7", "--connect-latency", "0.2"]) == Config(port=9100, seed=7, connect_latency=0.2)


def test_a_busy_port_is_explained() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run_cli("--port", str(taken.getsockname()[1]))
    assert result.returncode == 1
    assert "cannot listen on" in result.stderr and "pick another port with --port" in result.stderr


@pytest.mark.parametrize("page_path", ["/docs", "/docs/"])
@pytest.mark.parametrize("prefix", ["", "/mock-server", "/user/ada/proxy/8765"])
def test_docs_page_loads_only_local_assets_under_any_prefix(client: httpx.Client, page_path: str, prefix: str) -> None:
    """Through jupyter-server-proxy the page is at /<prefix>/docs: every URL in it must be relative."""
    page = client.get(page_path)
    assert page.status_code == 200
    urls = re.findall(r'(?:src=|href=|url: )"([^"]+)"', page.text)
    assert len(urls) == 3 and not any(url.startswith("/") for url in urls)
    assert "http://" not in page.text and "https://" not in page.text
    for url in urls:
        resolved = urljoin(f"http://127.0.0.1:8765{prefix}{page_path}", url)
        assert resolved.startswith(f"http://127.0.0.1:8765{prefix}/"), resolved
        response = client.get(resolved.removeprefix(f"http://127.0.0.1:8765{prefix}"))
        assert response.status_code == 200 and len(response.content) > 1000, url


def test_openapi_describes_every_endpoint_with_its_limits(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.0")  # Swagger UI 4 (swagger-ui-bundle) renders no 3.1
    for group in GROUPS:
        for endpoint in group.endpoints:
            operations = spec["paths"][endpoint.path.replace(":path}", "}")]
            for method in endpoint.methods:
                assert operations[method.lower()]["summary"], f"{method} {endpoint.path} has no summary"
    delay = spec["paths"]["/delay/{seconds}"]["get"]["parameters"][0]
    assert delay["schema"] == {"type": "number", "minimum": 0, "maximum": 10.0}


def schema_of(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """`schema`, or the component it refers to."""
    return spec["components"]["schemas"][schema["$ref"].rpartition("/")[2]] if "$ref" in schema else schema


# (method, path, media type, fields the body schema names): what the handlers read.
BODIES = [
    ("post", "/login", "application/x-www-form-urlencoded", {"username", "password"}),
    ("post", "/login", "multipart/form-data", {"username", "password"}),
    ("post", "/login", "application/json", {"username", "password"}),
    ("post", "/oauth/token", "application/x-www-form-urlencoded", {"grant_type", "client_id", "client_secret", "expires_in"}),
    ("post", "/upload", "multipart/form-data", set()),
    ("post", "/users", "application/json", {"username", "name", "email", "active"}),
    ("put", "/__admin/chaos", "application/json", {"latency", "jitter", "connect_latency", "failure_rate", "failure_codes"}),
    ("post", "/anything/{path}", "text/plain", set()),
    ("post", "/webhooks/endpoints", "application/json",
     {"url", "signature", "secret", "max_attempts", "timeout", "backoff"}),
    ("post", "/webhooks/events", "application/json",
     {"endpoint", "events", "duplicates", "order", "stale_timestamp", "bad_signature", "spacing"}),
]


@pytest.mark.parametrize(("method", "path", "media_type", "fields"), BODIES)
def test_openapi_declares_each_request_body(
    client: httpx.Client, method: str, path: str, media_type: str, fields: set[str]
) -> None:
    spec = client.get("/openapi.json").json()
    body = spec["paths"][path][method]["requestBody"]["content"][media_type]["schema"]
    assert set(schema_of(spec, body).get("properties", {})) == fields


# (path, parameter, keywords its schema must carry): rules the server enforces.
PARAMETERS = [
    ("/status/{code}", "code", {"type": "integer", "minimum": 200, "maximum": 599}),
    ("/anything/{path}", "path", {"type": "string"}),
    ("/basic-auth/{user}/{passwd}", "user", {"type": "string", "pattern": "^[^/]+$"}),
    ("/bytes/{n}", "n", {"type": "integer", "minimum": 0, "maximum": 100 * 1024 * 1024}),
]


@pytest.mark.parametrize(("path", "name", "keywords"), PARAMETERS)
def test_openapi_declares_every_path_parameter_with_its_bounds(
    client: httpx.Client, path: str, name: str, keywords: dict[str, Any]
) -> None:
    operation = client.get("/openapi.json").json()["paths"][path]["get"]
    (parameter,) = [parameter for parameter in operation["parameters"] if parameter["name"] == name]
    assert parameter["in"] == "path" and parameter["required"]
    assert keywords.items() <= parameter["schema"].items()


def test_every_operation_declares_its_answers_and_the_error_shape(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    error = spec["components"]["schemas"]["ErrorBody"]
    assert error["required"] == ["error", "message"] and error["additionalProperties"] is True
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert statuses - {"4XX", "5XX"}, f"{method.upper()} {path} declares no answer but errors"
            assert "4XX" in statuses and "default" not in statuses
    assert spec["paths"]["/html"]["get"]["responses"]["200"]["content"].keys() == {"text/html"}
    assert spec["paths"]["/users/{id}"]["delete"]["responses"]["204"].keys() == {"description"}


def test_docs_and_admin_are_never_journaled(client: httpx.Client) -> None:
    for path in ("/docs", "/openapi.json", "/__admin/health"):
        client.get(path)
    assert client.get("/__admin/stats").json()["requests"] == 0


def test_docs_use_the_right_article(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    texts = [spec["info"]["description"], *(tag["description"] for tag in spec["tags"])]
    for operations in spec["paths"].values():
        for operation in operations.values():
            texts += [operation["summary"], operation["description"]]
            texts += [parameter["description"] for parameter in operation["parameters"]]
    wrong = [text for text in texts if re.search(r"\ba [aeio]", text, re.IGNORECASE)]
    assert not wrong, f"'a' before a vowel sound (write 'an'): {wrong}"
