"""What travels over the wire: parsed requests, responses, and the platforms' error bodies."""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Upload:
    """One file part of a multipart body."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Request:
    """An HTTP request, its parameters merged the way the platforms read them."""

    method: str
    path: str
    query: dict[str, str]
    headers: Message
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)
    json: Any = None
    base_url: str = ""
    raw: bytes = b""                      # the body as sent (binary uploads: Facebook Reels' rupload)

    def param(self, name: str, default: str | None = None) -> str | None:
        """A body field, else a query parameter (Graph accepts either)."""
        if name in self.form:
            return self.form[name]
        return self.query.get(name, default)


@dataclass
class Response:
    status: int
    body: Any = None                      # JSON-serialisable, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"

    def encode(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8")


class ApiError(Exception):
    """Raised by a route to answer with a platform's error response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.body)
        self.response = response


def graph_error(message: str, code: int, subcode: int | None = None, *, status: int = 400,
                error_type: str = "OAuthException", transient: bool = False, user_msg: str | None = None,
                headers: dict[str, str] | None = None) -> ApiError:
    """A Graph API (Instagram, Facebook) error: {"error": {message, type, code, error_subcode, fbtrace_id}}."""
    body: dict[str, Any] = {"message": message, "type": error_type, "code": code}
    if subcode is not None:
        body["error_subcode"] = subcode
    body["is_transient"] = transient
    if user_msg:
        body["error_user_msg"] = user_msg
    body["fbtrace_id"] = "A" + secrets.token_urlsafe(16)[:22]
    return ApiError(Response(status, {"error": body}, dict(headers or {})))


def graph_not_found(object_id: str, method: str = "get") -> ApiError:
    """Graph's answer for an id it does not know (or may not see)."""
    return graph_error(
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation. Please read the Graph API documentation at "
        "https://developers.facebook.com/docs/graph-api", 100, 33, error_type="GraphMethodException")


def x_problem(status: int, title: str, detail: str, problem_type: str = "about:blank", *,
              errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None) -> ApiError:
    """An X API v2 error: an RFC 7807 problem {title, detail, type, status}, with `errors` when X lists them."""
    body: dict[str, Any] = {"title": title, "detail": detail, "type": problem_type, "status": status}
    if errors:
        body["errors"] = errors
    return ApiError(Response(status, body, dict(headers or {})))


def x_invalid(parameter: str, message: str, value: Any = None) -> ApiError:
    """X's 400 for a parameter it refuses."""
    error = {"parameters": {parameter: [] if value is None else [str(value)]}, "message": message}
    return x_problem(400, "Invalid Request", "One or more parameters to your request was invalid.",
                     "https://api.twitter.com/2/problems/invalid-request", errors=[error])


def parse_body(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, Upload], Any]:
    """Form fields, file parts and JSON of a request body, by its content type."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return {}, {}, None
    if kind == "application/x-www-form-urlencoded":
        return _first_values(parse_qs(body.decode("utf-8"), keep_blank_values=True)), {}, None
    if kind == "multipart/form-data":
        return _parse_multipart(content_type, body)
    if kind == "application/json":
        try:
            return {}, {}, json.loads(body)
        except ValueError as exc:
            raise ApiError(Response(400, {"title": "Invalid Request", "detail": f"Body is not JSON: {exc}",
                                          "type": "about:blank", "status": 400})) from exc
    return {}, {}, None


def _first_values(values: dict[str, list[str]]) -> dict[str, str]:
    return {key: items[0] for key, items in values.items()}


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, Upload], Any]:
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + body)
    fields: dict[str, str] = {}
    files: dict[str, Upload] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        data = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is None:
            try:
                fields[name] = data.decode(part.get_content_charset() or "utf-8")
                continue
            except UnicodeDecodeError:   # a file part sent without a filename
                filename = ""
        files[name] = Upload(filename, part.get_content_type(), data)
    return fields, files, None
