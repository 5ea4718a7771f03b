"""The OpenAPI 3.0 description of the token API, served at ``openapi.json``.

Built per request so the permission codes it lists are the ones declared now.
tests/test_openapi.py checks the running API against it.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from tokens_app import permissions as registry
from tokens_app.api import MAX_ID, MAX_PAGE_SIZE, PAGE_SIZE, REVOKE_MAX_TOKENS, api_view
from tokens_app.conf import policy
from tokens_app.forms import NAME_MAX_LENGTH


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


def _auth_error(description: str) -> dict[str, Any]:
    return _json(_ref("AuthError"), description)


UNAUTHORIZED = _auth_error("No token, or an invalid, expired or revoked one (RFC 6750).")
FORBIDDEN = _auth_error("The token lacks a permission; `scope` names the missing ones.")
BAD_REQUEST = _error("The body or a parameter is malformed or breaks a rule.")
TOO_LARGE = _error("The body is too large.")
NOT_FOUND = _error("The caller owns no token with this id.")
NO_CONTENT = {"description": "Done; the token is revoked at once."}


def _body(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _expiry_properties() -> dict[str, Any]:
    days = policy().max_lifetime_days
    return {
        "expires_in_days": {
            "type": "integer",
            "minimum": 1,
            "maximum": days,
            "description": f"Lifetime in days; defaults to {policy().default_expiration}.",
        },
        "expires_at": {
            "type": "string",
            "format": "date-time",
            "description": f"An exact expiry with an offset, at most {days} days ahead. "
            "Send this or expires_in_days, not both.",
        },
    }


def _schemas() -> dict[str, Any]:
    permission = {
        "type": "string",
        "enum": [registry.FULL_ACCESS, *sorted(registry.codes())],
        "description": "'*' is Full Access (alone); otherwise declared codes.",
    }
    timestamp = {"type": "string", "format": "date-time"}
    optional_timestamp = {**timestamp, "nullable": True}
    name = {"type": "string", "minLength": 1, "maxLength": NAME_MAX_LENGTH}
    return {
        "Token": {
            "type": "object",
            "required": [
                "id",
                "name",
                "identifier",
                "permissions",
                "created_at",
                "expires_at",
                "last_used_at",
                "regenerated_at",
            ],
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "identifier": {
                    "type": "string",
                    "description": "Prefix and public id; not secret.",
                },
                "permissions": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "['*'] for Full Access, [] for No Access, else granted codes.",
                },
                "created_at": timestamp,
                "expires_at": timestamp,
                "last_used_at": optional_timestamp,
                "regenerated_at": optional_timestamp,
            },
        },
        "IssuedToken": {
            "type": "object",
            "required": ["token", "secret"],
            "properties": {
                "token": _ref("Token"),
                "secret": {
                    "type": "string",
                    "description": "The full token. Shown in this response only.",
                },
            },
        },
        "TokenPage": {
            "type": "object",
            "required": ["count", "page", "per_page", "next", "previous", "results"],
            "properties": {
                "count": {"type": "integer", "minimum": 0},
                "page": {"type": "integer", "minimum": 1},
                "per_page": {"type": "integer", "minimum": 1},
                "next": {"type": "string", "nullable": True},
                "previous": {"type": "string", "nullable": True},
                "results": {"type": "array", "items": _ref("Token")},
            },
        },
        "NewToken": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name"],
            "properties": {
                "name": name,
                "permissions": {"type": "array", "items": permission, "default": []},
                **_expiry_properties(),
            },
            "not": {"required": ["expires_at", "expires_in_days"]},
        },
        "TokenChange": {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {
                "name": name,
                "permissions": {"type": "array", "items": permission},
            },
        },
        "Rotation": {
            "type": "object",
            "additionalProperties": False,
            "properties": _expiry_properties(),
            "not": {"required": ["expires_at", "expires_in_days"]},
        },
        "LeakReport": {
            "description": f"Up to {REVOKE_MAX_TOKENS} token strings, in any of three shapes.",
            "oneOf": [
                {"type": "array", "items": {"type": "string"}},
                {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["token"],
                        "properties": {"token": {"type": "string"}},
                    },
                },
                {
                    "type": "object",
                    "required": ["tokens"],
                    "properties": {"tokens": {"type": "array", "items": {"type": "string"}}},
                },
            ],
        },
        "Accepted": {
            "type": "object",
            "required": ["status", "message"],
            "properties": {"status": {"type": "string"}, "message": {"type": "string"}},
        },
        "Error": {
            "type": "object",
            "required": ["error", "message"],
            "properties": {
                "error": {"type": "string", "description": "A stable code to branch on."},
                "message": {"type": "string", "description": "What went wrong, for people."},
                "field": {"type": "string", "description": "The field at fault, if one is."},
            },
        },
        "AuthError": {
            "type": "object",
            "required": ["error", "error_description"],
            "properties": {
                "error": {
                    "type": "string",
                    "enum": [
                        "unauthorized",
                        "invalid_token",
                        "invalid_request",
                        "insufficient_scope",
                    ],
                },
                "error_description": {"type": "string"},
                "scope": {"type": "string"},
            },
        },
    }


def _token_id() -> dict[str, Any]:
    return {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    }


def _paths() -> dict[str, Any]:
    token = _json(_ref("Token"), "The token.")
    issued = _json(_ref("IssuedToken"), "The token and its new secret, shown this once.")
    return {
        "/tokens/self": {
            "get": {
                "operationId": "getSelf",
                "summary": "The calling token: name, identifier, permissions and dates.",
                "responses": {"200": token, "401": UNAUTHORIZED},
            },
            "delete": {
                "operationId": "deleteSelf",
                "summary": "Revoke the calling token.",
                "responses": {"204": NO_CONTENT, "401": UNAUTHORIZED},
            },
        },
        "/tokens/self/rotate": {
            "post": {
                "operationId": "rotateSelf",
                "summary": "A new secret for the calling token; the calling secret dies at once.",
                "requestBody": _body(_ref("Rotation"), required=False),
                "responses": {
                    "200": issued,
                    "400": BAD_REQUEST,
                    "401": UNAUTHORIZED,
                    "409": _error("Rotated by another request meanwhile."),
                    "413": TOO_LARGE,
                },
            },
        },
        "/tokens": {
            "get": {
                "operationId": "listTokens",
                "summary": "The owner's tokens, newest first. Needs tokens:read.",
                "parameters": [
                    {
                        "name": "page",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
                    },
                    {
                        "name": "per_page",
                        "in": "query",
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_PAGE_SIZE,
                            "default": PAGE_SIZE,
                        },
                    },
                ],
                "responses": {
                    "200": _json(_ref("TokenPage"), "One page of tokens."),
                    "400": BAD_REQUEST,
                    "401": UNAUTHORIZED,
                    "403": FORBIDDEN,
                },
            },
            "post": {
                "operationId": "createToken",
                "summary": "Create a token. Needs tokens:write, and only grants what the "
                "caller holds.",
                "requestBody": _body(_ref("NewToken")),
                "responses": {
                    "201": issued,
                    "400": BAD_REQUEST,
                    "401": UNAUTHORIZED,
                    "403": _json(
                        {"oneOf": [_ref("AuthError"), _ref("Error")]},
                        "Missing tokens:write, or asked for a permission the caller lacks.",
                    ),
                    "409": _error("The owner has the maximum number of active tokens."),
                    "413": TOO_LARGE,
                },
            },
        },
        "/tokens/{id}": {
            "parameters": [_token_id()],
            "get": {
                "operationId": "getToken",
                "summary": "One of the owner's tokens. Needs tokens:read.",
                "responses": {
                    "200": token,
                    "401": UNAUTHORIZED,
                    "403": FORBIDDEN,
                    "404": NOT_FOUND,
                },
            },
            "patch": {
                "operationId": "updateToken",
                "summary": "Rename or re-scope a token. Needs tokens:write.",
                "requestBody": _body(_ref("TokenChange")),
                "responses": {
                    "200": token,
                    "400": BAD_REQUEST,
                    "401": UNAUTHORIZED,
                    "403": _json(
                        {"oneOf": [_ref("AuthError"), _ref("Error")]},
                        "Missing tokens:write, or asked for a permission the caller lacks.",
                    ),
                    "404": NOT_FOUND,
                    "413": TOO_LARGE,
                },
            },
            "delete": {
                "operationId": "deleteToken",
                "summary": "Revoke a token. Needs tokens:write.",
                "responses": {
                    "204": NO_CONTENT,
                    "401": UNAUTHORIZED,
                    "403": FORBIDDEN,
                    "404": NOT_FOUND,
                },
            },
        },
        "/tokens/revoke": {
            "post": {
                "operationId": "reportLeakedTokens",
                "summary": "Report leaked tokens. No authentication; valid ones are revoked.",
                "description": "The answer is the same 202 whatever the body holds, so it "
                "tells nobody whether a string was a valid token.",
                "security": [],
                "requestBody": _body(_ref("LeakReport")),
                "responses": {
                    "202": _json(_ref("Accepted"), "Always, for any body."),
                    "429": _error("Too many reports from this address; see Retry-After."),
                },
            },
        },
    }


def document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Access tokens API",
            "version": "1",
            "description": "Manage personal access tokens with a token. Send it as "
            "`Authorization: Bearer <token>`.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": _schemas(),
        },
        "paths": _paths(),
    }


@api_view(["GET"])
def view(request: HttpRequest) -> HttpResponse:
    return JsonResponse(document(), json_dumps_params={"indent": 2})
