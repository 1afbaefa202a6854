"""The sandbox HTTP server: routing, the platforms' authentication, and fault injection."""
from __future__ import annotations

import hmac
import logging
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from humas_dev.sandbox import admin, graph, messages, xapi
from humas_dev.sandbox.config import Sandbox, SandboxConfig
from humas_dev.sandbox.state import Fault
from humas_dev.sandbox.wire import ApiError, Request, Response, graph_error, parse_body, x_problem

log = logging.getLogger("humas_dev.sandbox")

GRAPH = r"/v\d+(?:\.\d+)?"
ACCESS_TOKEN_IN_URL = re.compile(r"(access_token=|/bot)[^&\s/]+")  # Graph's query token, Telegram's path token
RouteFunc = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    family: str                   # "graph", "x", "telegram" (token in the path) or "admin": authentication, errors
    func: RouteFunc
    channel: str | None = None    # with `operation`: where /_sandbox/faults can inject a failure
    operation: str | None = None


def _route(method: str, path: str, family: str, func: RouteFunc, channel: str | None = None,
           operation: str | None = None) -> Route:
    return Route(method, re.compile(f"^{path}$"), family, func, channel, operation)


ROUTES: tuple[Route, ...] = (
    _route("POST", rf"{GRAPH}/(?P<account_id>\d+)/media", "graph", graph.ig_create_container, "instagram", "media"),
    _route("POST", rf"{GRAPH}/(?P<account_id>\d+)/media_publish", "graph", graph.ig_publish,
           "instagram", "media_publish"),
    _route("GET", rf"{GRAPH}/(?P<account_id>\d+)/media", "graph", graph.ig_list_media),
    _route("GET", rf"{GRAPH}/(?P<account_id>\d+)/stories", "graph", graph.ig_list_stories),
    _route("GET", rf"{GRAPH}/(?P<account_id>\d+)/content_publishing_limit", "graph", graph.ig_publishing_limit),
    _route("POST", rf"{GRAPH}/(?P<page_id>\d+)/photos", "graph", graph.fb_photos, "facebook", "photos"),
    _route("POST", rf"{GRAPH}/(?P<page_id>\d+)/feed", "graph", graph.fb_feed_post, "facebook", "feed"),
    _route("GET", rf"{GRAPH}/(?P<page_id>\d+)/feed", "graph", graph.fb_list_feed),
    _route("GET", rf"{GRAPH}/(?P<media_id>\d+)/children", "graph", graph.ig_media_children),
    _route("GET", rf"{GRAPH}/(?P<object_id>[0-9_]+)", "graph", graph.get_node),
    _route("POST", rf"{GRAPH}/(?P<phone_number_id>\d+)/messages", "graph", messages.whatsapp_send),
    _route("POST", r"/bot(?P<token>[^/]+)/sendMessage", "telegram", messages.telegram_send),
    _route("POST", rf"{GRAPH}/(?P<page_id>\d+)/videos", "graph", graph.fb_videos, "facebook", "videos"),
    _route("POST", rf"{GRAPH}/(?P<page_id>\d+)/video_reels", "graph", graph.fb_video_reels, "facebook",
           "video_reels"),
    _route("POST", rf"/video-upload{GRAPH}/(?P<video_id>\d+)", "graph", graph.fb_reel_upload, "facebook",
           "reel_upload"),
    _route("POST", r"/2/media/upload", "x", xapi.x_media_upload, "x", "media_upload"),
    _route("GET", r"/2/media/upload", "x", xapi.x_media_status),
    _route("POST", r"/2/media/upload/initialize", "x", xapi.x_media_initialize, "x", "media_initialize"),
    _route("POST", r"/2/media/upload/(?P<media_id>\d+)/append", "x", xapi.x_media_append, "x", "media_append"),
    _route("POST", r"/2/media/upload/(?P<media_id>\d+)/finalize", "x", xapi.x_media_finalize, "x", "media_finalize"),
    _route("POST", r"/2/tweets", "x", xapi.x_create_tweet, "x", "tweets"),
    _route("GET", r"/2/users/(?P<user_id>\d+)/tweets", "x", xapi.x_user_tweets),
    _route("GET", r"/2/tweets/(?P<tweet_id>\d+)", "x", xapi.x_tweet),
    _route("GET", r"/2/users/(?P<user_id>\d+)", "x", xapi.x_user),
    _route("GET", r"/_sandbox/health", "admin", admin.health),
    _route("GET", r"/_sandbox/posts", "admin", admin.list_posts),
    _route("GET", r"/_sandbox/media/(?P<channel>\w+)/(?P<post_id>[0-9_]+)/(?P<index>\d+)", "admin", admin.media),
    _route("GET", r"/_sandbox/thumbnail/(?P<channel>\w+)/(?P<post_id>[0-9_]+)(?:/(?P<index>\d+))?", "admin",
           admin.thumbnail),
    _route("POST", r"/_sandbox/reset", "admin", admin.reset),
    _route("GET", r"/_sandbox/uploads", "admin", admin.list_uploads),
    _route("POST", r"/_sandbox/uploads/expire", "admin", admin.expire_uploads),
    _route("POST", r"/_sandbox/faults", "admin", admin.add_fault),
    _route("GET", r"/_sandbox/faults", "admin", admin.list_faults),
    _route("DELETE", r"/_sandbox/faults", "admin", admin.clear_faults),
    _route("GET", r"/_sandbox/messages", "admin", messages.list_messages),
    _route("GET", r"/_sandbox/messages/page", "admin", messages.messages_page),
    _route("POST", r"/_sandbox/messages/reset", "admin", messages.clear_messages),
    _route("POST", r"/_sandbox/limits", "admin", admin.set_limits),
    _route("GET", r"/_sandbox/limits", "admin", admin.get_limits),
)


def match(method: str, path: str) -> tuple[Route | None, dict[str, str]]:
    """The route for a request and its path parameters."""
    for route in ROUTES:
        found = route.pattern.match(path)
        if found and route.method == method:
            return route, found.groupdict()
    return None, {}


def _unknown(path: str) -> ApiError:
    if re.match(GRAPH + "/", path):
        return graph_error("Unknown path components: " + path, 2500, error_type="OAuthException")
    if path.startswith("/2/"):
        return x_problem(404, "Not Found Error", f"Unknown endpoint {path}",
                         "https://api.twitter.com/2/problems/resource-not-found")
    return ApiError(Response(404, {"error": f"no such sandbox endpoint: {path}"}))


# -- authentication ---------------------------------------------------------------------------------
def _bearer(req: Request) -> str | None:
    scheme, _, value = (req.headers.get("Authorization") or "").partition(" ")
    return value.strip() if scheme.lower() in ("bearer", "oauth") and value.strip() else None


def check_auth(app: Sandbox, route: Route, req: Request) -> None:
    """Refuse a missing or wrong token the way each platform does (Graph: 400/190, X: 401)."""
    if route.family == "graph":
        token = _bearer(req) or req.param("access_token")
        if not token:
            raise graph_error("An access token is required to request this resource.", 104)
        if not hmac.compare_digest(token.encode(), app.config.token.encode()):
            message = "Invalid OAuth access token - Cannot parse access token"
            raise graph_error(message, 190, headers={
                "WWW-Authenticate": f'OAuth "Facebook Platform" "invalid_token" "{message}"'})
    elif route.family == "x":
        token = _bearer(req)
        if not token or not hmac.compare_digest(token.encode(), app.config.token.encode()):
            raise x_problem(401, "Unauthorized", "Unauthorized")


# -- faults -----------------------------------------------------------------------------------------
def fault_error(route: Route, fault: Fault) -> ApiError:
    """The error a `rate_limit`, `http_429` or `error_500` fault (or its `_after_commit` kind) answers with, in
    the route's platform shape."""
    server_error = fault.mode.startswith("error_500")
    if server_error and route.family == "graph":
        return graph_error("An unexpected error has occurred. Please retry your request later.", 2, status=500,
                           transient=True)
    if server_error:
        return x_problem(500, "Internal Server Error", "Internal Server Error")
    if fault.mode.startswith("http_429"):
        return ApiError(Response(429, {"error": "Too Many Requests"}, {"Retry-After": str(fault.retry_after)}))
    if route.family == "x":
        return x_problem(429, "Too Many Requests", "Too Many Requests",
                         headers=xapi.rate_headers(100, 0, int(time.time()) + fault.retry_after))
    usage = graph.usage_header(route.channel or "", fault.retry_after)
    if route.channel == "facebook":
        return graph_error("(#32) Page request limit reached", 32, transient=True, headers=usage)
    return graph_error("(#4) Application request limit reached", 4, transient=True, headers=usage)


# -- HTTP -------------------------------------------------------------------------------------------
class SandboxHandler(BaseHTTPRequestHandler):
    """Parses a request, runs its route, and writes the response (or drops it, for a timeout fault)."""

    protocol_version = "HTTP/1.1"
    # The headers and the body are written apart: with Nagle's algorithm a kept-alive client's delayed ACK holds
    # the body back 40 ms per response (real APIs answer at once).
    disable_nagle_algorithm = True
    server: SandboxHTTPServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature of the base class
        log.info("%s %s", self.address_string(), ACCESS_TOKEN_IN_URL.sub(r"\1***", format % args))

    def _read(self) -> Request:
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        req = Request(self.command, url.path, query, self.headers, base_url=f"http://{self.headers.get('Host', '')}")
        req.form, req.files, req.json = parse_body(self.headers.get("Content-Type", ""), body)
        req.raw = body
        if isinstance(req.json, dict) and url.path.startswith("/v"):   # Graph also takes JSON bodies
            req.form = {k: v if isinstance(v, str) else str(v) for k, v in req.json.items()}
        return req

    def _dispatch(self) -> None:
        app = self.server.app
        fault: Fault | None = None
        try:
            req = self._read()
            route, params = match(req.method, req.path)
            if route is None:
                raise _unknown(req.path)
            check_auth(app, route, req)
            if app.config.latency and route.family != "admin":   # a platform's answer takes its time
                time.sleep(random.uniform(*app.config.latency))
            if route.operation:
                fault = app.state.take_fault(route.channel or "", route.operation)
                if fault and not fault.mode.endswith("_after_commit") and fault.mode != "swap_media":
                    raise fault_error(route, fault)
            response = route.func(app, req, **params)
        except ApiError as err:
            response = err.response
        except Exception:  # a sandbox bug: answer 500 rather than drop the connection
            log.exception("sandbox error on %s", ACCESS_TOKEN_IN_URL.sub(r"\1***", self.path))
            response = Response(500, {"error": "sandbox internal error; see the sandbox log"})
        if fault and fault.mode == "swap_media" and response.status < 400:
            app.state.swap_newest(fault.channel)
        if fault and fault.mode == "timeout_after_commit" and response.status < 400:
            self._drop(fault)
            return
        if fault and fault.mode.endswith("_after_commit") and response.status < 400:
            log.info("fault %s on %s/%s: committed, answering with an error", fault.mode, fault.channel,
                     fault.operation)
            response = fault_error(route, fault).response
        self._send(response)

    def _drop(self, fault: Fault) -> None:
        """The action is done; let the client wait, then close without an answer."""
        log.info("fault %s on %s/%s: committed, dropping the response", fault.mode, fault.channel, fault.operation)
        time.sleep(fault.delay_seconds)
        self.close_connection = True

    def _send(self, response: Response) -> None:
        payload = response.encode()
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: Sandbox) -> None:
        super().__init__(address, SandboxHandler)
        self.app = app

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def make_server(config: SandboxConfig, host: str = "127.0.0.1", port: int = 8090) -> SandboxHTTPServer:
    """A sandbox bound to host:port (port 0 picks a free one); call serve_forever() or serve_in_thread()."""
    return SandboxHTTPServer((host, port), Sandbox(config))


def serve_in_thread(server: SandboxHTTPServer) -> threading.Thread:
    """Run the server in a daemon thread (tests); stop it with server.shutdown()."""
    thread = threading.Thread(target=server.serve_forever, name="humas-sandbox", daemon=True)
    thread.start()
    return thread
