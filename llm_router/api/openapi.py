"""The OpenAPI document: FastAPI's routes plus every data-plane surface.

The surfaces are plain ASGI routes (see ``api/endpoint.py``), which FastAPI does not
describe by itself; their request bodies come from the same pydantic models that validate
them, so the document cannot drift from what is enforced.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from llm_router.api.surfaces import SurfaceRoute

_REF = "#/components/schemas/{model}"
_ERROR = {"description": "An error, in the surface's error shape.",
          "content": {"application/json": {"schema": {"type": "object"}}}}


def build_openapi(app: FastAPI, surfaces: tuple[SurfaceRoute, ...]) -> dict[str, Any]:
    """The whole document (OpenAPI 3.1)."""
    document = get_openapi(title=app.title, version=app.version, routes=app.routes,
                           description="llm-router: one API in front of many LLM providers.")
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    paths: dict[str, Any] = document.setdefault("paths", {})
    for surface in surfaces:
        schema = surface.request_model.model_json_schema(ref_template=_REF, by_alias=True)
        schemas.update(schema.pop("$defs", {}))
        name = surface.request_model.__name__
        schemas[name] = schema
        paths[surface.path] = {"post": _operation(surface, name)}
    return document


def _operation(surface: SurfaceRoute, schema_name: str) -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": {"type": "object"}}}
    if surface.streams:
        content["text/event-stream"] = {"schema": {"type": "string"}}
    return {
        "summary": surface.summary,
        "operationId": f"{surface.name}_{surface.path.strip('/').replace('/', '_')}",
        "tags": ["data plane"],
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": {"$ref": _REF.format(model=schema_name)}}}},
        "responses": {"200": {"description": "The answer, whole or streamed.", "content": content},
                      "400": _ERROR, "401": _ERROR, "413": _ERROR, "415": _ERROR, "429": _ERROR,
                      "502": _ERROR, "503": _ERROR},
    }
