"""The OpenAPI 3 document of ``/api/v1``, written by hand to match ``views.py`` (a schemathesis
test runs every operation against the app and checks the answers against it)."""
from __future__ import annotations

MAX_ID = 2_147_483_647

ERROR_CODES = ["invalid", "unauthorized", "forbidden", "not_found", "method_not_allowed",
               "conflict", "post_full", "already_claimed", "deadline_passed", "post_closed",
               "time_conflict", "monthly_limit", "token_expired", "rate_limited", "too_large",
               "server_error"]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict:
    text = {400: "Invalid request (code `invalid`), including a query parameter this operation "
                 "does not declare, one given twice, or one given empty.",
            401: "No valid bearer token (code `unauthorized`).",
            403: "Not allowed, e.g. not a member or not approved (code `forbidden`).",
            404: "Unknown, or outside what the user may see (code `not_found`).",
            409: "Refused by the rules: `post_full`, `already_claimed`, `deadline_passed`, "
                 "`post_closed`, `time_conflict` (the member has claimed another session at "
                 "that time), `monthly_limit` (more sessions in that month than the member's "
                 "registration form allows), `token_expired` (the session's QR code is past its "
                 "end), `conflict` (the claim is no longer active, already checked in or out).",
            429: "Too many requests (code `rate_limited`)."}
    return {str(s): _json(_ref("Error"), text[s]) for s in statuses}


def _id_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}


def _query_int(name: str, description: str, maximum: int = MAX_ID) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "integer", "minimum": 1, "maximum": maximum}}


_TIME = {"type": "string", "format": "date-time"}
_TIME_OR_NULL = {"type": "string", "format": "date-time", "nullable": True}

SCHEMAS = {
    "Error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string", "enum": ERROR_CODES},
                       "message": {"type": "string",
                                   "description": "For people, in the user's language."}},
    },
    "TokenRequest": {
        "type": "object", "required": ["phone", "password"],
        "properties": {"phone": {"type": "string", "example": "13800000005"},
                       "password": {"type": "string"}},
    },
    "TokenResponse": {
        "type": "object", "required": ["token", "token_type", "expires_at", "user"],
        "properties": {
            "token": {"type": "string"}, "token_type": {"type": "string", "enum": ["Bearer"]},
            "expires_at": _TIME,
            "user": {"type": "object", "required": ["id", "name"],
                     "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
        },
    },
    "Named": {
        "type": "object", "required": ["id", "code", "name"],
        "properties": {"id": {"type": "integer"}, "code": {"type": "string"},
                       "name": {"type": "string"}},
    },
    "Session": {
        "type": "object",
        "required": ["id", "start", "end", "capacity", "places_left", "minutes_credit",
                     "claimed_by_me"],
        "properties": {
            "id": {"type": "integer"}, "start": _TIME, "end": _TIME,
            "capacity": {"type": "integer", "minimum": 1,
                         "description": "Places in this session."},
            "places_left": {"type": "integer", "minimum": 0},
            "minutes_credit": {"type": "integer", "minimum": 0},
            "claimed_by_me": {"type": "boolean"},
        },
    },
    "Post": {
        "type": "object",
        "required": ["id", "title", "description", "place", "status", "open_to_all",
                     "claim_deadline", "kind", "category", "community_code", "community_name",
                     "sessions"],
        "properties": {
            "id": {"type": "integer"}, "title": {"type": "string"},
            "description": {"type": "string"}, "place": {"type": "string"},
            "status": {"type": "string", "enum": ["draft", "published", "closed", "cancelled"]},
            "open_to_all": {"type": "boolean"}, "claim_deadline": _TIME_OR_NULL,
            "kind": _ref("Named"), "category": _ref("Named"),
            "community_code": {"type": "string"}, "community_name": {"type": "string"},
            "sessions": {"type": "array", "items": _ref("Session"),
                         "description": "In the list: sessions still ahead. For one post: "
                                        "every session that is not cancelled."},
        },
    },
    "PostList": {
        "type": "object", "required": ["items", "page", "per_page", "total"],
        "properties": {"items": {"type": "array", "items": _ref("Post")},
                       "page": {"type": "integer"}, "per_page": {"type": "integer"},
                       "total": {"type": "integer"}},
    },
    "Record": {
        "type": "object",
        "required": ["id", "minutes", "status", "source", "flags", "started_at", "ended_at"],
        "properties": {
            "id": {"type": "integer"}, "minutes": {"type": "integer", "minimum": 0},
            "status": {"type": "string", "enum": ["pending", "verified", "rejected", "revoked"]},
            "source": {"type": "string", "enum": ["attendance", "reported"]},
            "flags": {"type": "array", "items": {"type": "string",
                                                 "enum": ["overlap", "long_day", "far_checkin"]}},
            "started_at": _TIME, "ended_at": _TIME,
        },
    },
    "Claim": {
        "type": "object",
        "required": ["id", "post_id", "session_id", "post_title", "start", "end", "status",
                     "attendance", "promoted", "checked_in_at", "checked_out_at", "created_at",
                     "record"],
        "properties": {
            "id": {"type": "integer"}, "post_id": {"type": "integer"},
            "session_id": {"type": "integer"}, "post_title": {"type": "string"},
            "start": _TIME, "end": _TIME,
            "status": {"type": "string", "enum": ["active", "withdrawn", "cancelled"]},
            "attendance": {"type": "string", "enum": ["attended", "no_show"], "nullable": True},
            "promoted": {"type": "boolean",
                         "description": "The place came from the waiting list."},
            "checked_in_at": _TIME_OR_NULL, "checked_out_at": _TIME_OR_NULL,
            "created_at": _TIME,
            "record": {"allOf": [_ref("Record")], "nullable": True},
        },
    },
    "WaitlistEntry": {
        "type": "object", "required": ["id", "session_id", "status", "created_at"],
        "properties": {"id": {"type": "integer"}, "session_id": {"type": "integer"},
                       "status": {"type": "string",
                                  "enum": ["waiting", "promoted", "left", "expired"]},
                       "created_at": _TIME},
    },
    "ClaimRequest": {
        "type": "object",
        "properties": {
            "session_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID,
                           "description": "Claim this session only; without it, every "
                                          "future session of the post not yet claimed."},
            "waitlist": {"type": "boolean", "default": False,
                         "description": "Join the waiting list of full sessions."},
        },
    },
    "ClaimResult": {
        "type": "object",
        "required": ["claims", "waitlisted", "full_session_ids", "skipped_session_ids"],
        "properties": {
            "claims": {"type": "array", "items": _ref("Claim")},
            "waitlisted": {"type": "array", "items": _ref("WaitlistEntry")},
            "full_session_ids": {"type": "array", "items": {"type": "integer"},
                                 "description": "Sessions that were full and not claimed."},
            "skipped_session_ids": {
                "type": "array", "items": {"type": "integer"},
                "description": "Sessions not claimed because they overlap another claim of the "
                               "member or exceed the member's sessions a month."},
        },
    },
    "ClaimList": {
        "type": "object", "required": ["items"],
        "properties": {"items": {"type": "array", "items": _ref("Claim")}},
    },
    "CheckinRequest": {
        "type": "object", "required": ["token"],
        "properties": {
            "token": {"type": "string", "minLength": 1,
                      "description": "The token in the session's QR code (the last part of "
                                     "its URL)."},
            "action": {"type": "string", "enum": ["check_in", "check_out"],
                       "description": "Default: check in if not yet, else check out."},
            "walk_in": {"type": "boolean", "default": False,
                        "description": "Without a claim, sign up on the spot when the session "
                                       "has a free place (409 post_full when it has none)."},
            "latitude": {"type": "number", "minimum": -90, "maximum": 90,
                         "description": "The phone's position (optional, with longitude): the "
                                        "distance from the post's place is recorded. One "
                                        "coordinate without the other is not used."},
            "longitude": {"type": "number", "minimum": -180, "maximum": 180},
        },
    },
    "CheckinResult": {
        "type": "object", "required": ["action", "claim", "record"],
        "properties": {"action": {"type": "string", "enum": ["check_in", "check_out"]},
                       "claim": _ref("Claim"),
                       "record": {"allOf": [_ref("Record")], "nullable": True},
                       "walked_in": {"type": "boolean"},
                       "distance_m": {"type": "integer", "nullable": True},
                       "far": {"type": "boolean",
                               "description": "Beyond the allowed distance: flagged."}},
    },
    "Account": {
        "type": "object",
        "required": ["member", "balance_minutes", "service_minutes", "balance_hours",
                     "service_hours"],
        "properties": {
            "member": {"type": "object", "required": ["id", "name", "status", "community_code"],
                       "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                                      "status": {"type": "string"},
                                      "community_code": {"type": "string"}}},
            "balance_minutes": {"type": "integer"}, "service_minutes": {"type": "integer",
                "description": "measures.verified_service_minutes: verified service records "
                               "only, by the day served"},
            "historical_minutes": {"type": "integer",
                                   "description": "measures.historical_minutes (历史结转时长)"},
            "balance_hours": {"type": "number"}, "service_hours": {"type": "number"},
            "historical_hours": {"type": "number"},
        },
    },
    "StatementEntry": {
        "type": "object",
        "required": ["transaction_id", "at", "kind", "reason", "amount_minutes",
                     "balance_after_minutes"],
        "properties": {
            "transaction_id": {"type": "integer"}, "at": _TIME,
            "kind": {"type": "string", "enum": ["deposit", "redemption", "relay", "reversal"]},
            "reason": {"type": "string"}, "amount_minutes": {"type": "integer"},
            "balance_after_minutes": {"type": "integer"},
        },
    },
    "Statement": {
        "type": "object", "required": ["items", "page", "per_page", "total"],
        "properties": {"items": {"type": "array", "items": _ref("StatementEntry")},
                       "page": {"type": "integer"}, "per_page": {"type": "integer"},
                       "total": {"type": "integer"}},
    },
}

_PAGE = [_query_int("page", "Page number, from 1.", 100000),
         _query_int("per_page", "Items per page (default 20).", 100)]

PATHS = {
    "/auth/token": {
        "post": {
            "operationId": "createToken", "summary": "Log in: a bearer token for the API.",
            "security": [],
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": _ref("TokenRequest")}}},
            "responses": {"201": _json(_ref("TokenResponse"), "The token (shown only once)."),
                          **_errors(400, 401, 429)},
        },
        "delete": {
            "operationId": "revokeToken", "summary": "Log out: the token stops working.",
            "responses": {"204": {"description": "Revoked."}, **_errors(401)},
        },
    },
    "/posts": {
        "get": {
            "operationId": "listPosts",
            "summary": "Posts the member may claim, own community first, then the rest of the "
                       "street, then posts open to all; only posts with sessions ahead.",
            "parameters": [
                _query_int("category_id", "Only this category."),
                _query_int("kind_id", "Only this kind."),
                _query_int("skill_id", "Only posts requiring this skill."),
                {"name": "date", "in": "query", "required": False,
                 "description": "Only posts with a session on this day.",
                 "schema": {"type": "string", "format": "date"}},
                {"name": "fits", "in": "query", "required": False,
                 "description": "Only posts that fit the member's skills and availability.",
                 "schema": {"type": "boolean"}},
                *_PAGE],
            "responses": {"200": _json(_ref("PostList"), "A page of posts."),
                          **_errors(400, 401, 403)},
        },
    },
    "/posts/{post_id}": {
        "get": {
            "operationId": "getPost", "summary": "One post with its sessions.",
            "parameters": [_id_param("post_id")],
            "responses": {"200": _json(_ref("Post"), "The post."), **_errors(401, 404)},
        },
    },
    "/posts/{post_id}/claims": {
        "post": {
            "operationId": "createClaim",
            "summary": "Claim one session (``session_id``) or every future session of a post.",
            "parameters": [_id_param("post_id")],
            "requestBody": {"required": False, "content": {
                "application/json": {"schema": _ref("ClaimRequest")}}},
            "responses": {"201": _json(_ref("ClaimResult"), "What was claimed or waitlisted."),
                          **_errors(400, 401, 403, 404, 409, 429)},
        },
    },
    "/claims/{claim_id}": {
        "delete": {
            "operationId": "deleteClaim",
            "summary": "Withdraw a claim before the deadline (the place goes to the waiting "
                       "list).",
            "parameters": [_id_param("claim_id")],
            "responses": {"204": {"description": "Withdrawn."},
                          **_errors(400, 401, 403, 404, 409, 429)},
        },
    },
    "/me/claims": {
        "get": {
            "operationId": "myClaims", "summary": "The member's claims.",
            "parameters": [{"name": "scope", "in": "query", "required": False,
                            "schema": {"type": "string", "enum": ["upcoming", "past"],
                                       "default": "upcoming"}}],
            "responses": {"200": _json(_ref("ClaimList"), "Claims."),
                          **_errors(400, 401, 403)},
        },
    },
    "/checkins": {
        "post": {
            "operationId": "checkIn",
            "summary": "Check in or out with a session's QR token; checking out creates the "
                       "service record for the staff to verify.",
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": _ref("CheckinRequest")}}},
            "responses": {"200": _json(_ref("CheckinResult"), "Done."),
                          **_errors(400, 401, 403, 404, 409, 429)},
        },
    },
    "/me/account": {
        "get": {
            "operationId": "myAccount", "summary": "Time-bank balance and verified service.",
            "responses": {"200": _json(_ref("Account"), "The account."),
                          **_errors(401, 403)},
        },
    },
    "/me/statement": {
        "get": {
            "operationId": "myStatement",
            "summary": "Ledger entries, newest first, with the balance after each.",
            "parameters": _PAGE,
            "responses": {"200": _json(_ref("Statement"), "A page of entries."),
                          **_errors(400, 401, 403)},
        },
    },
    "/openapi.json": {
        "get": {
            "operationId": "openapi", "summary": "This document.", "security": [],
            "responses": {"200": _json({"type": "object"}, "OpenAPI 3 document.")},
        },
    },
}


def query_parameters(path: str, method: str) -> frozenset[str] | None:
    """The query parameters an operation declares (``path`` as in this document, e.g.
    ``/posts/{post_id}``), or None for a path or method the document does not have."""
    operation = PATHS.get(path, {}).get(method.lower())
    if operation is None:
        return None
    return frozenset(p["name"] for p in operation.get("parameters", []) if p["in"] == "query")


def document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Time bank API", "version": "1.0.0",
                 "description": "Posts, claims, check-in and the time-bank account for phone "
                                "clients. Errors are JSON `{code, message}` with a stable "
                                "`code`."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
        "paths": PATHS,
    }
