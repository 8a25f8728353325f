"""/docs and /openapi.json, built from the endpoint declarations and served with no CDN."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from . import idempotency
from .config import Config
from .contract import CLIENT_KEY_DESCRIPTION, CLIENT_KEY_HEADER, CLIENT_KEY_PATTERN
from .endpoints import Endpoint, Param
from .routes import GROUPS

TYPES = {int: "integer", float: "number", bool: "boolean", str: "string"}
CLIENT_KEY = {
    "name": CLIENT_KEY_HEADER,
    "in": "header",
    "required": False,
    "description": CLIENT_KEY_DESCRIPTION,
    "schema": {"type": "string", "pattern": f"^{CLIENT_KEY_PATTERN}$"},
}
IDEMPOTENCY_KEY = {
    "name": idempotency.HEADER,
    "in": "header",
    "required": False,
    "description": idempotency.DESCRIPTION,
    "schema": {"type": "string", "pattern": f"^{idempotency.KEY_PATTERN}$"},
}
PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Mock server API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true});</script>
</body></html>
"""


def parameter(param: Param, config: Config) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": TYPES[param.type]}
    for key, bound in (("minimum", param.minimum), ("maximum", param.maximum)):
        if bound is not None:
            schema[key] = param.bound(bound, config)
    if param.choices:
        schema["enum"] = list(param.choices)
    if not param.required and param.default is not None:
        schema["default"] = param.default
    return {"name": param.name, "in": param.where, "required": param.where == "path" or param.required,
            "description": param.description, "schema": schema}


def operation(endpoint: Endpoint, path: str, method: str, config: Config) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "tags": [endpoint.tag],
        "summary": endpoint.summary,
        "description": endpoint.description,
        "operationId": method.lower() + "_" + re.sub(r"\W+", "_", path).strip("_"),
        "parameters": [parameter(param, config) for param in endpoint.params]
        + ([IDEMPOTENCY_KEY] if endpoint.idempotent else []) + [CLIENT_KEY],
        "responses": {"default": {"description": "JSON; errors look like {\"error\": code, \"message\": text}"}},
    }
    if endpoint.body is not None:
        spec["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": endpoint.body.model_json_schema()}},
        }
    return spec


def openapi(config: Config) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for group in GROUPS:
        for endpoint in group.endpoints:
            path = endpoint.path.replace(":path}", "}")
            for method in endpoint.methods:
                paths.setdefault(path, {})[method.lower()] = operation(endpoint, path, method, config)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "HTTP clients course: mock server",
            "version": "1.0",
            "description": "A local API that behaves like the real, messy internet. Send "
            f"{CLIENT_KEY_HEADER} to get your own counters, records and journal.",
        },
        "tags": [{"name": group.name, "description": group.description} for group in GROUPS],
        "paths": paths,
    }


async def openapi_json(request: Request) -> Response:
    return JSONResponse(openapi(request.app.state.mock.config))


async def docs_page(request: Request) -> Response:
    return HTMLResponse(PAGE)


def routes() -> list[BaseRoute]:
    return [
        Route("/openapi.json", openapi_json, include_in_schema=False),
        Route("/docs", docs_page, include_in_schema=False),
        Mount("/docs/static", StaticFiles(directory=str(swagger_ui_path)), name="docs-static"),
    ]
