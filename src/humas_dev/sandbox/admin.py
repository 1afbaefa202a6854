"""Admin routes under /_sandbox/ for tests and demos; no real platform has them."""
from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from humas_dev.sandbox import videos
from humas_dev.sandbox.config import FACEBOOK_PAGE_ID, INSTAGRAM_USER_ID, X_USER_ID, Sandbox
from humas_dev.sandbox.state import Post, check_fault
from humas_dev.sandbox.wire import ApiError, Request, Response
from humas_dev.sandbox.xapi import x_time


def _problem(status: int, message: str) -> ApiError:
    return ApiError(Response(status, {"error": message}))


def post_summary(post: Post) -> dict[str, Any]:
    """A published post as GET /_sandbox/posts lists it."""
    return {"channel": post.channel, "placement": post.placement or None, "account_id": post.account_id,
            "id": post.id, "caption": post.caption,
            "permalink": post.permalink, "created_at": x_time(post.created_at),
            "images": [image.info.as_dict() for image in post.images]}


def health(app: Sandbox, req: Request) -> Response:
    """GET /_sandbox/health."""
    accounts = {"instagram": INSTAGRAM_USER_ID, "facebook": FACEBOOK_PAGE_ID, "x": X_USER_ID}
    return Response(200, {"status": "ok", "accounts": accounts, "posts": len(app.state.posts)})


def list_posts(app: Sandbox, req: Request) -> Response:
    """GET /_sandbox/posts: every published post, oldest first."""
    with app.state.lock:
        posts = list(app.state.posts)
    return Response(200, [post_summary(p) for p in posts])


def media(app: Sandbox, req: Request, channel: str, post_id: str, index: str) -> Response:
    """GET /_sandbox/media/{channel}/{id}/{n}: the n-th (0-based) image of a post, as stored."""
    post = app.state.find_post(post_id, channel)
    if post is None or int(index) >= len(post.images):
        raise _problem(404, f"no image {index} for {channel} post {post_id}")
    image = post.images[int(index)]
    return Response(200, image.data, content_type=image.info.mime_type)


def thumbnail(app: Sandbox, req: Request, channel: str, post_id: str, index: str | None = None) -> Response:
    """GET /_sandbox/thumbnail/{channel}/{id}[/{n}]: the first frame of a post's (n-th) video as a JPEG (its
    thumbnail_url, picture or preview_image_url)."""
    post, n = app.state.find_post(post_id, channel), int(index or 0)
    if post is None or n >= len(post.images) or post.images[n].info.duration is None:
        raise _problem(404, f"no video {n} for {channel} post {post_id}")
    return Response(200, videos.first_frame_jpeg(post.images[n].data), content_type="image/jpeg")


def reset(app: Sandbox, req: Request) -> Response:
    """POST /_sandbox/reset: forget posts, containers, uploads and faults."""
    app.state.reset()
    app.x_post_calls.clear()
    return Response(200, {"reset": True})


def add_fault(app: Sandbox, req: Request) -> Response:
    """POST /_sandbox/faults {"channel", "operation", "mode", "count", "delay_seconds", "after"}."""
    try:
        fault = check_fault(req.json if isinstance(req.json, dict) else {})
    except (ValueError, TypeError) as exc:
        raise _problem(400, f"bad fault: {exc}") from exc
    app.state.add_fault(fault)
    return Response(201, {"armed": asdict(fault)})


def list_faults(app: Sandbox, req: Request) -> Response:
    """GET /_sandbox/faults: faults still armed."""
    with app.state.lock:
        return Response(200, [asdict(f) for f in app.state.faults])


def clear_faults(app: Sandbox, req: Request) -> Response:
    """DELETE /_sandbox/faults: disarm every fault still armed (a chaos run on a shared stack leaves none)."""
    with app.state.lock:
        cleared = len(app.state.faults)
        app.state.faults.clear()
    return Response(200, {"cleared": cleared})


LIMITS = ("instagram_quota_total", "instagram_quota_duration", "x_post_limit", "x_post_window")


def set_limits(app: Sandbox, req: Request) -> Response:
    """POST /_sandbox/limits {"instagram_quota_total", "instagram_quota_duration", "x_post_limit",
    "x_post_window"}: change the platforms' publishing limits of a running sandbox (any of them; whole numbers
    >= 1). Answers with the limits now in force."""
    body = req.json if isinstance(req.json, dict) else {}
    unknown = sorted(set(body) - set(LIMITS))
    if unknown or not all(isinstance(body[k], int) and body[k] >= 1 for k in body):
        raise _problem(400, f"limits are whole numbers >= 1 named {', '.join(LIMITS)}; got {body!r}")
    app.config = replace(app.config, **body)
    return get_limits(app, req)


def get_limits(app: Sandbox, req: Request) -> Response:
    """GET /_sandbox/limits."""
    return Response(200, {name: getattr(app.config, name) for name in LIMITS})


def list_uploads(app: Sandbox, req: Request) -> Response:
    """GET /_sandbox/uploads: chunked uploads (Facebook sessions, X media ids) and the bytes each was sent."""
    with app.state.lock:
        uploads = list(app.state.uploads.values())
    return Response(200, [{"id": u.id, "channel": u.channel, "video_id": u.video_id or None,
                           "total_bytes": u.total_bytes, "received": u.received, "finished": u.finished,
                           "expired": u.expired, "error": u.error or None} for u in uploads])


def expire_uploads(app: Sandbox, req: Request) -> Response:
    """POST /_sandbox/uploads/expire: every unfinished upload session expires now (as after a long pause)."""
    with app.state.lock:
        open_ones = [u for u in app.state.uploads.values() if not u.finished]
        for upload in open_ones:
            upload.expired = True
    return Response(200, {"expired": len(open_ones)})
