"""/docs and /openapi.json, built from the endpoint declarations and served with no CDN."""

from __future__ import annotations

import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from . import classroom, idempotency
from .config import Config
from .contract import CLIENT_KEY_DESCRIPTION, CLIENT_KEY_HEADER, CLIENT_KEY_PATTERN
from .endpoints import Content, Endpoint, Param, Status
from .errors import ErrorBody
from .reading import JSON
from .routes import GROUPS

TYPES = {int: "integer", float: "number", bool: "boolean", str: "string"}
CLIENT_KEY = {
    "name": CLIENT_KEY_HEADER,
    "in": "header",
    "required": False,
    "description": CLIENT_KEY_DESCRIPTION,
    "schema": {"type": "string", "pattern": f"^{CLIENT_KEY_PATTERN}$"},
}
# In classroom mode (--classroom) every request carries a learner key (POST /__admin/classroom/join gives one).
LEARNER_KEY = CLIENT_KEY | {
    "description": "your learner key, from POST /__admin/classroom/join (course.server.join), alone or as "
    "<learner key>/<anything>: this server runs a class, and anything else is 401 join_required",
    "schema": {"type": "string", "pattern": f"^{classroom.LEARNER_KEY.pattern}$"},
}
# The open paths of a classroom server (joining, the health probe, the instructor's calls) take either.
ANY_KEY = CLIENT_KEY | {"schema": {"type": "string",
                                   "pattern": f"^(?:{classroom.LEARNER_KEY.pattern}|{CLIENT_KEY_PATTERN})$"}}


def client_key_parameter(path: str, config: Config) -> dict[str, Any]:
    if not config.classroom:
        return CLIENT_KEY
    return ANY_KEY if not classroom.needs_learner(path) else LEARNER_KEY


IDEMPOTENCY_KEY = {
    "name": idempotency.HEADER,
    "in": "header",
    "required": False,
    "description": idempotency.DESCRIPTION,
    "schema": {"type": "string", "pattern": f"^{idempotency.KEY_PATTERN}$"},
}
# Every operation can refuse its input (400, 413, 415, 422, 431: all JSON errors), so each
# declares the error shape for 4XX unless it declares 4XX itself.
CLIENT_ERRORS = {JSON: ErrorBody}
# OpenAPI 3.0 gives a request body no meaning on these, so the document describes none there.
BODYLESS_METHODS = ("GET", "HEAD", "DELETE")
# Starlette's {name} matches one non-empty path segment; {name:path} matches the rest of the path.
SEGMENT = {"pattern": "^[^/]+$"}
PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Mock server API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true});</script>
</body></html>
"""


class Components:
    """The document's shared schemas: each pydantic model once, under its class name."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def schema(self, schema: Any) -> Any:
        """`schema` for the document: each model in it (at any depth of a dict) a $ref to its definition."""
        if isinstance(schema, Mapping):
            return {key: self.schema(value) for key, value in schema.items()}
        if isinstance(schema, list):
            return [self.schema(item) for item in schema]
        if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
            return schema
        tree = schema.model_json_schema(ref_template=REF + "{model}")
        for name, definition in tree.pop("$defs", {}).items():
            self.schemas[name] = openapi30(definition)
        self.schemas[schema.__name__] = openapi30(tree)
        return {"$ref": REF + schema.__name__}

    def content(self, content: Content) -> dict[str, Any]:
        """Media type -> {"schema": ...}; a body with no schema to state is any bytes."""
        return {
            media: {"schema": self.schema(schema) if schema is not None else {"type": "string", "format": "binary"}}
            for media, schema in content.items()
        }


REF = "#/components/schemas/"


def openapi30(schema: Any) -> Any:
    """A pydantic (JSON Schema 2020-12) schema in OpenAPI 3.0's dialect, which Swagger UI 4 reads.

    Pydantic writes an optional field as anyOf [X, {type: null}] and a constant as `const`;
    OpenAPI 3.0 says `nullable: true` and `enum: [value]`.
    """
    if isinstance(schema, list):
        return [openapi30(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: openapi30(value) for key, value in schema.items()}
    options = converted.get("anyOf")
    if options and {"type": "null"} in options:
        rest = [option for option in options if option != {"type": "null"}]
        del converted["anyOf"]
        converted |= (rest[0] if len(rest) == 1 and "$ref" not in rest[0] else {"anyOf": rest}) | {"nullable": True}
    if "const" in converted:
        converted["enum"] = [converted.pop("const")]
    return converted


def parameter(param: Param, path: str, config: Config) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": TYPES[param.type]}
    for key, bound in (("minimum", param.minimum), ("maximum", param.maximum)):
        if bound is not None:
            schema[key] = param.bound(bound, config)
    if param.choices:
        schema["enum"] = list(param.choices)
    if param.where == "path" and param.type is str and f"{{{param.name}}}" in path:
        schema |= SEGMENT
    schema |= param.rule
    if not param.required and param.default is not None:
        schema["default"] = param.default
    return {"name": param.name, "in": param.where, "required": param.where == "path" or param.required,
            "description": param.description, "schema": schema}


def any_query(description: str) -> dict[str, Any]:
    """Query arguments of any name (OpenAPI's form-exploded object: ?name=value&other=value)."""
    return {"name": "arguments", "in": "query", "required": False, "style": "form", "explode": True,
            "description": description, "schema": {"type": "object", "additionalProperties": {"type": "string"}}}


def operation(endpoint: Endpoint, method: str, config: Config, components: Components) -> dict[str, Any]:
    path = endpoint.path.replace(":path}", "}")
    responses = {"4XX": CLIENT_ERRORS, **endpoint.responses}
    spec: dict[str, Any] = {
        "tags": [endpoint.tag],
        "summary": endpoint.summary,
        "description": endpoint.description,
        "operationId": method.lower() + "_" + re.sub(r"\W+", "_", path).strip("_"),
        "parameters": [parameter(param, endpoint.path, config) for param in endpoint.params]
        + ([any_query(endpoint.any_query)] if endpoint.any_query else [])
        + ([IDEMPOTENCY_KEY] if endpoint.idempotent else []) + [client_key_parameter(endpoint.path, config)],
        "responses": {
            str(status): {"description": describe_status(status)}
            | ({} if content is None else {"content": components.content(content)})
            for status, content in sorted(responses.items(), key=lambda item: str(item[0]))
        },
    }
    if endpoint.body is not None and method not in BODYLESS_METHODS:
        spec["requestBody"] = {"required": endpoint.body_required, "content": components.content(endpoint.body)}
    return spec


def describe_status(status: Status) -> str:
    if isinstance(status, int):
        return HTTPStatus(status).phrase
    return {"2XX": "Success", "3XX": "A redirect", "4XX": "Refused: a JSON error that names the problem",
            "5XX": "A server error you asked for"}[status]


def openapi(config: Config) -> dict[str, Any]:
    components = Components()
    paths: dict[str, dict[str, Any]] = {}
    for group in GROUPS:
        for endpoint in group.endpoints:
            for method in endpoint.methods:
                paths.setdefault(endpoint.path.replace(":path}", "}"), {})[method.lower()] = operation(
                    endpoint, method, config, components
                )
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
        "components": {"schemas": dict(sorted(components.schemas.items()))},
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
