"""X API v2 routes: media upload (one-shot images; chunked video and GIF), create post, look a post up, a user's
posts, a user.

Post lookup (docs.x.com, GET /2/tweets/:id and the Media object's fields): with expansions=attachments.media_keys
the post's data.attachments.media_keys, and includes.media with each media's media_key and type (photo, video,
animated_gif), plus the media.fields asked for: url (a photo's) and preview_image_url (a video's or GIF's). The
sandbox keeps no media ids with a post, so its media keys are made from the post id.

Chunked upload (docs.x.com, "Media upload chunked" quickstart and the X samples' media_upload_v2.py, 2025):
POST /2/media/upload/initialize {media_type, total_bytes, media_category} -> data.id;
POST /2/media/upload/{id}/append (multipart: media, segment_index); POST /2/media/upload/{id}/finalize ->
data.processing_info {state pending, check_after_secs}; GET /2/media/upload?command=STATUS&media_id={id} ->
processing_info state in_progress, then succeeded or failed (with error {code, name, message}). The received
file is probed (PyAV) against humas_dev.sandbox.videos.X_VIDEO (or the GIF size limit).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
from datetime import datetime, timezone
from typing import Any

from humas.profiles import x_weighted_length
from humas_dev.sandbox import images, videos
from humas_dev.sandbox.config import X_USER_ID, X_USERNAME, Sandbox
from humas_dev.sandbox.state import MediaUpload, Pending, Post, StoredImage
from humas_dev.sandbox.wire import Request, Response, x_invalid, x_problem

X_EPOCH_MS = 1288834974657            # X ids are snowflakes: milliseconds since this epoch, shifted 22 bits
URL_WEIGHT = 23                       # every URL counts as a t.co link of 23 characters
URL_PATTERN = re.compile(r"https?://\S+")
MEDIA_CATEGORIES = ("tweet_image", "dm_image")
MEDIA_EXPIRES_SECS = 86400
CHUNKED_CATEGORIES = {"tweet_video": ("video/mp4", "video/quicktime"), "tweet_gif": ("image/gif",)}
MAX_SEGMENT_BYTES = 5 * 1024 * 1024   # an APPEND carries at most 5 MB (docs.x.com media upload reference)
MAX_SEGMENTS = 1000                   # segment_index 0-999


def _snowflake(app: Sandbox, at: float) -> str:
    """An X-style id: the creation time in milliseconds, shifted 22 bits, plus a sequence number."""
    return str(((int(at * 1000) - X_EPOCH_MS) << 22) | (app.state.next_seq() % 4096))


def _shorten(text: str) -> str:
    """X shows every URL as a t.co link."""
    return URL_PATTERN.sub(lambda m: "https://t.co/" + hashlib.sha1(m.group().encode()).hexdigest()[:10], text)


def x_time(epoch: float) -> str:
    """X's timestamp format, e.g. 2026-05-01T03:04:05.000Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}Z"


# -- media upload -----------------------------------------------------------------------------------
def _media_bytes(req: Request) -> tuple[bytes, str | None]:
    """The uploaded bytes and media_category, from a multipart body or a JSON body with base64 `media`."""
    if "media" in req.files:
        return req.files["media"].data, req.form.get("media_category")
    body = req.json if isinstance(req.json, dict) else req.form
    encoded = body.get("media") or body.get("media_data")
    if not encoded:
        raise x_invalid("media", "The media field is required (a multipart file part or base64 data).")
    try:
        return base64.b64decode(encoded, validate=True), body.get("media_category")
    except (binascii.Error, ValueError) as exc:
        raise x_invalid("media", "The media field is not valid base64.") from exc


def x_media_upload(app: Sandbox, req: Request) -> Response:
    """POST /2/media/upload (one-shot image upload)."""
    data, category = _media_bytes(req)
    if category not in MEDIA_CATEGORIES:
        raise x_invalid("media_category", f"media_category must be one of {', '.join(MEDIA_CATEGORIES)}.", category)
    placement = app.profiles["x"].default
    if len(data) > placement.max_bytes:
        raise x_invalid("media", f"File size exceeds {placement.max_bytes} bytes (got {len(data)}).")
    info = images.inspect(data)
    if info is None or info.format not in placement.formats:
        raise x_invalid("media", f"Unsupported media type {info.format if info else 'unknown'}; "
                                 f"accepted: {', '.join(placement.formats)}.")
    now = time.time()
    media_id = _snowflake(app, now)
    app.state.put_pending(Pending(media_id, "x", X_USER_ID, StoredImage(info, data), now))
    return Response(200, {"data": {"id": media_id, "media_key": f"3_{media_id}", "size": len(data),
                                   "expires_after_secs": MEDIA_EXPIRES_SECS,
                                   "image": {"image_type": info.mime_type, "w": info.width, "h": info.height}}})


def x_media_initialize(app: Sandbox, req: Request) -> Response:
    """POST /2/media/upload/initialize: a media id for a chunked upload."""
    body = req.json if isinstance(req.json, dict) else req.form
    category, media_type, total = body.get("media_category"), body.get("media_type"), str(body.get("total_bytes"))
    if category not in CHUNKED_CATEGORIES:
        raise x_invalid("media_category", f"media_category must be one of {', '.join(CHUNKED_CATEGORIES)}.", category)
    if media_type not in CHUNKED_CATEGORIES[category]:
        raise x_invalid("media_type", f"media_type for {category} must be {' or '.join(CHUNKED_CATEGORIES[category])}.",
                        media_type)
    limit = videos.X_GIF_BYTES if category == "tweet_gif" else videos.X_VIDEO.max_bytes
    if not total.isdigit() or not 0 < int(total) <= limit:
        raise x_invalid("total_bytes", f"total_bytes must be between 1 and {limit} for {category}.", total)
    now = time.time()
    media_id = _snowflake(app, now)
    app.state.uploads[media_id] = MediaUpload(media_id, "x", X_USER_ID, int(total), now, category=category,
                                              media_type=media_type)
    return Response(200, {"data": {"id": media_id, "media_key": f"7_{media_id}",
                                   "expires_after_secs": MEDIA_EXPIRES_SECS}})


def _upload_of(app: Sandbox, media_id: str) -> MediaUpload:
    upload = app.state.uploads.get(media_id)
    if upload is None or upload.channel != "x":
        raise x_invalid("media_id", "The media id is unknown or has expired; start again with initialize.", media_id)
    if upload.expired or time.time() > upload.created_at + MEDIA_EXPIRES_SECS:
        raise x_invalid("media_id", "The media id has expired; start again with initialize.", media_id)
    return upload


def x_media_append(app: Sandbox, req: Request, media_id: str) -> Response:
    """POST /2/media/upload/{id}/append: one segment (an APPEND of the same index replaces it)."""
    with app.state.transaction():
        upload = _upload_of(app, media_id)
        raw = req.form.get("segment_index", "")
        chunk = req.files.get("media")
        if chunk is None:
            raise x_invalid("media", "The media field is required (a multipart file part).")
        upload.received += len(chunk.data)
        if not raw.isdigit() or int(raw) >= MAX_SEGMENTS or len(chunk.data) > MAX_SEGMENT_BYTES:
            raise x_invalid("segment_index", f"segment_index must be 0-{MAX_SEGMENTS - 1} and a segment at most "
                                             f"{MAX_SEGMENT_BYTES} bytes.", raw)
        if upload.finished:
            raise x_invalid("media_id", "The upload is already finalized.", media_id)
        upload.segments[int(raw)] = chunk.data
    return Response(200, {"data": {"expires_at": int(upload.created_at + MEDIA_EXPIRES_SECS)}})


def x_media_finalize(app: Sandbox, req: Request, media_id: str) -> Response:
    """POST /2/media/upload/{id}/finalize: the segments joined in index order must make total_bytes."""
    with app.state.transaction():
        upload = _upload_of(app, media_id)
        if not upload.finished:
            indexes = sorted(upload.segments)
            data = b"".join(upload.segments[i] for i in indexes)
            if indexes != list(range(len(indexes))) or len(data) != upload.total_bytes:
                raise x_invalid("media_id", f"File size mismatch: received {len(data)} bytes in segments "
                                            f"{indexes[:5]}..., expected {upload.total_bytes}.", media_id)
            spec = videos.X_VIDEO
            facts, problems = videos.check(data, spec)
            if upload.category == "tweet_gif":
                problems = [] if facts and facts.container == "GIF" else ["not an animated GIF"]
            upload.data, upload.segments = bytearray(data), {}
            upload.finished, upload.ready_at = True, time.time() + app.config.video_processing
            upload.error, upload.facts = "; ".join(problems), facts
    info = _processing(upload)
    if info["state"] == "in_progress":
        info["state"] = "pending"      # FINALIZE's answer: processing has not started yet
    return Response(200, {"data": {"id": media_id, "media_key": f"7_{media_id}", "size": upload.total_bytes,
                                   "expires_after_secs": MEDIA_EXPIRES_SECS, "processing_info": info}})


def _processing(upload: MediaUpload) -> dict[str, Any]:
    left = upload.ready_at - time.time()
    if left > 0:
        return {"state": "in_progress", "check_after_secs": max(1, int(left + 0.999)), "progress_percent": 50}
    if upload.error:
        return {"state": "failed", "progress_percent": 100,
                "error": {"code": 1, "name": "InvalidMedia", "message": f"Invalid media: {upload.error}"}}
    return {"state": "succeeded", "progress_percent": 100}


def x_media_status(app: Sandbox, req: Request) -> Response:
    """GET /2/media/upload?command=STATUS&media_id=...: processing_info of a finalized chunked upload."""
    if req.query.get("command") != "STATUS":
        raise x_invalid("command", "command must be STATUS.", req.query.get("command"))
    media_id = req.query.get("media_id", "")
    upload = _upload_of(app, media_id)
    if not upload.finished:
        raise x_invalid("media_id", "The upload is not finalized yet.", media_id)
    info = _processing(upload)
    if info["state"] == "succeeded":
        _store_processed(app, upload)
    return Response(200, {"data": {"id": media_id, "media_key": f"7_{media_id}", "processing_info": info}})


def _store_processed(app: Sandbox, upload: MediaUpload) -> None:
    """A processed video or GIF becomes media a post may carry."""
    facts = upload.facts
    if facts and upload.id not in app.state.pending:
        app.state.put_pending(Pending(upload.id, "x", X_USER_ID, StoredImage(facts.info(), bytes(upload.data)),
                                      upload.created_at))


# -- posts ------------------------------------------------------------------------------------------
def _tweet_parts(req: Request) -> tuple[str, list[str]]:
    body = req.json if isinstance(req.json, dict) else None
    if body is None:
        raise x_invalid("body", "The request body must be a JSON object.")
    media_ids = (body.get("media") or {}).get("media_ids") or []
    if not isinstance(media_ids, list):
        raise x_invalid("media.media_ids", "media.media_ids must be an array of strings.")
    return str(body.get("text") or ""), [str(m) for m in media_ids]


def _check_tweet(app: Sandbox, text: str, media_ids: list[str]) -> list[StoredImage]:
    limits, placement = app.profiles["x"].caption, app.profiles["x"].default
    if not text and not media_ids:
        raise x_invalid("text", "A post needs text or media.")
    if x_weighted_length(text) > limits.max_chars:
        raise x_invalid("text", f"Your post text is too long: {x_weighted_length(text)} characters (URLs count "
                                f"{URL_WEIGHT}, CJK and emoji 2); at most {limits.max_chars} are allowed.")
    if len(media_ids) > placement.max_items:
        raise x_invalid("media.media_ids", f"$.media.media_ids: array size {len(media_ids)} exceeds the maximum "
                                           f"{placement.max_items}.", ",".join(media_ids))
    for media_id in media_ids:
        upload = app.state.uploads.get(media_id)
        if upload is not None and media_id not in app.state.pending:
            if not upload.finished or _processing(upload)["state"] != "succeeded":
                raise x_invalid("media.media_ids", f"Media {media_id} is not ready: wait until STATUS says "
                                                   "processing_info.state succeeded.", media_id)
            _store_processed(app, upload)
    found = [app.state.pending.get(m) for m in media_ids]
    bad = [m for m, p in zip(media_ids, found) if p is None or p.channel != "x" or p.account_id != X_USER_ID]
    if bad:
        raise x_invalid("media.media_ids", "Your media IDs are invalid.", bad[0])
    moving = [p for p in found if p and (p.image.info.duration is not None or p.image.info.format == "GIF")]
    if moving and len(found) > 1:
        raise x_invalid("media.media_ids", "A post carries one video or one GIF, alone.", ",".join(media_ids))
    return [p.image for p in found if p]


def rate_headers(limit: int, remaining: int, reset: int) -> dict[str, str]:
    """X's rate-limit headers, sent with every answer of a limited endpoint."""
    return {"x-rate-limit-limit": str(limit), "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(reset)}


def _post_window(app: Sandbox) -> dict[str, str]:
    """Count one POST /2/tweets in X's per-user window; its headers, or 429 when the window is used up."""
    limit, window, now = app.config.x_post_limit, app.config.x_post_window, time.time()
    with app.state.lock:
        calls = app.x_post_calls
        while calls and calls[0] <= now - window:
            calls.popleft()
        reset = int((calls[0] if calls else now) + window) + 1
        if len(calls) >= limit:
            raise x_problem(429, "Too Many Requests", "Too Many Requests", headers=rate_headers(limit, 0, reset))
        calls.append(now)
        return rate_headers(limit, limit - len(calls), reset)


def x_create_tweet(app: Sandbox, req: Request) -> Response:
    """POST /2/tweets: 201 with {"data": {"id", "text", "edit_history_tweet_ids"}} and X's rate-limit headers
    (X counts every request to the endpoint in its window; 429 with x-rate-limit-reset once it is used up)."""
    headers = _post_window(app)
    text, media_ids = _tweet_parts(req)
    with app.state.transaction() as state:
        stored = _check_tweet(app, text, media_ids)
        shown = _shorten(text)
        if any(p.caption == shown for p in state.posts_of("x", X_USER_ID)):
            raise x_problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content.")
        now = time.time()
        tweet_id = _snowflake(app, now)
        state.add_post(Post("x", X_USER_ID, tweet_id, shown, f"https://x.com/{X_USERNAME}/status/{tweet_id}",
                            now, stored))
    return Response(201, {"data": {"id": tweet_id, "text": shown, "edit_history_tweet_ids": [tweet_id]}}, headers)


def _missing(resource: str, value: str) -> Response:
    """X's answer for an unknown user or post: 200 with a Not Found Error."""
    return Response(200, {"errors": [{
        "value": value, "detail": f"Could not find {resource} with id: [{value}].", "title": "Not Found Error",
        "resource_type": resource, "parameter": "id", "resource_id": value,
        "type": "https://api.twitter.com/2/problems/resource-not-found"}]})


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _timeline_params(req: Request) -> tuple[int, float, int, bool]:
    raw_max, raw_start, token = req.query.get("max_results", "10"), req.query.get("start_time"), req.query.get(
        "pagination_token")
    if not raw_max.isdigit() or not 5 <= int(raw_max) <= 100:
        raise x_invalid("max_results", f"The `max_results` query parameter value [{raw_max}] is not between 5 and 100",
                        raw_max)
    try:
        start = _utc(datetime.fromisoformat(raw_start)).timestamp() if raw_start else 0.0
        offset = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
    except ValueError as exc:
        raise x_invalid("start_time", "start_time must be ISO 8601 (YYYY-MM-DDTHH:mm:ssZ) and pagination_token "
                                      "one this API returned.", raw_start) from exc
    with_created = "created_at" in req.query.get("tweet.fields", "").split(",")
    return int(raw_max), start, offset, with_created


def x_user_tweets(app: Sandbox, req: Request, user_id: str) -> Response:
    """GET /2/users/{id}/tweets: newest first; supports max_results, start_time, pagination_token, tweet.fields."""
    if user_id != X_USER_ID:
        return _missing("user", user_id)
    max_results, start, offset, with_created = _timeline_params(req)
    posts = [p for p in app.state.posts_of("x", user_id) if p.created_at >= start]
    chunk = posts[offset:offset + max_results]
    data: list[dict[str, Any]] = []
    for post in chunk:
        row = {"id": post.id, "text": post.caption, "edit_history_tweet_ids": [post.id]}
        data.append(row | ({"created_at": x_time(post.created_at)} if with_created else {}))
    meta: dict[str, Any] = {"result_count": len(data)}
    if data:
        meta |= {"newest_id": data[0]["id"], "oldest_id": data[-1]["id"]}
    if offset + max_results < len(posts):
        meta["next_token"] = base64.urlsafe_b64encode(str(offset + max_results).encode()).decode()
    return Response(200, ({"data": data} if data else {}) | {"meta": meta})


MEDIA_KEY_PREFIX = {"photo": "3", "video": "7", "animated_gif": "16"}


def _x_media(post: Post, n: int, base_url: str) -> dict[str, Any]:
    """The n-th media of a post as X's Media object (type, url of a photo, preview_image_url of a video or GIF)."""
    info = post.images[n].info
    kind = "photo" if info.duration is None else "animated_gif" if info.format == "GIF" else "video"
    media = {"media_key": f"{MEDIA_KEY_PREFIX[kind]}_{post.id}{n:02d}", "type": kind,
             "width": info.width, "height": info.height}
    if kind == "photo":
        return media | {"url": f"{base_url}/_sandbox/media/x/{post.id}/{n}"}
    return media | {"preview_image_url": f"{base_url}/_sandbox/thumbnail/x/{post.id}/{n}"}


def x_tweet(app: Sandbox, req: Request, tweet_id: str) -> Response:
    """GET /2/tweets/{id} (X API v2, Post lookup): the post; with expansions=attachments.media_keys, its media
    keys in data.attachments and the Media objects in includes.media."""
    post = app.state.find_post(tweet_id, "x")
    if post is None:
        return _missing("tweet", tweet_id)
    data: dict[str, Any] = {"id": post.id, "text": post.caption, "edit_history_tweet_ids": [post.id]}
    media = [_x_media(post, n, req.base_url) for n in range(len(post.images))]
    if media:
        data["attachments"] = {"media_keys": [m["media_key"] for m in media]}
    body: dict[str, Any] = {"data": data}
    if media and "attachments.media_keys" in req.query.get("expansions", "").split(","):
        asked = set(req.query.get("media.fields", "").split(","))
        body["includes"] = {"media": [{k: v for k, v in m.items() if k in ("media_key", "type") or k in asked}
                                      for m in media]}
    return Response(200, body)


def x_user(app: Sandbox, req: Request, user_id: str) -> Response:
    """GET /2/users/{id}."""
    if user_id != X_USER_ID:
        return _missing("user", user_id)
    return Response(200, {"data": {"id": X_USER_ID, "name": "Humas Sandbox", "username": X_USERNAME}})
