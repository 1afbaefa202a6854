"""Graph API routes: Instagram content publishing and Facebook Page photos/feed.

Error codes follow Meta's Instagram error table (code / error_subcode) and Graph's generic codes:
100 invalid parameter, 33 unknown object, 24/2207006 container not found, 9/2207042 publishing limit,
9007/2207027 container not ready, 36000/2207004 too large, 36001/2207005 format, 36003/2207009 aspect,
36004/2207010 caption, 9004/2207052 download failed, 100/2207028 carousel size, 324 bad photo file.

Stories (media_type=STORIES) take one image_url and no caption. Meta's reference lists `caption` as "not
supported for stories" without saying whether it is refused or dropped; the sandbox refuses it (code 100), so
a client that believes it is posting text on a story fails in tests instead of losing the text in production.
Stories are listed by GET /{ig-user-id}/stories for 24 hours, never by /media, as on Instagram.

Video (Meta, Instagram Platform > Content Publishing and the IG User Media reference, checked 2026): a Reel is
media_type REELS with video_url (+ caption, cover_url); a video story is media_type STORIES with video_url; a
carousel video item is media_type VIDEO with is_carousel_item=true (VIDEO alone is refused: Meta retired it for
REELS in November 2023, Graph changelog of June 28 2022). The video is fetched like image_url, probed (PyAV), and
the container stays IN_PROGRESS for `video_processing` seconds, then FINISHED, or ERROR when the video breaks the
spec in humas_dev.sandbox.videos (status "Error: ... 2207026 ..."). A carousel takes its video items only once
they are FINISHED.

Reading back what a post shows (IG Media reference: media_url, a VIDEO's thumbnail_url, GET /{ig-media-id}/children
for a carousel's items; Page Post reference: attachments with Story Attachment media.image.src, an album's
subattachments; Video reference: picture). The sandbox serves the bytes it received (a video: its first frame as
a JPEG) from /_sandbox/media and /_sandbox/thumbnail, where the platforms give a CDN address of a re-encoded copy.

Facebook Page video (Meta, "Uploading Videos with the Graph API" / Video API publishing guide): POST
/{page-id}/videos with upload_phase start (file_size) -> upload_session_id, video_id, start_offset, end_offset;
transfer (upload_session_id, start_offset, video_file_chunk) -> the next start_offset/end_offset; finish
(upload_session_id, description, title) -> success. GET /{video-id}?fields=status gives video_status and the
uploading/processing/publishing phases (uploading_phase.bytes_transferred: the platform's offset). The post is
listed on the Page's feed once the video is processed.

Facebook Reels (Meta, Video API > "Reels Publishing API"): POST /{page-id}/video_reels upload_phase=start ->
video_id, upload_url; POST {upload_url} (rupload host; here /video-upload/{version}/{video-id}) with headers
Authorization: OAuth, offset, file_size and the bytes as the body; POST /{page-id}/video_reels upload_phase=finish
(video_id, video_state=PUBLISHED, description); the same GET /{video-id}?fields=status.
"""
from __future__ import annotations

import base64
import json
import random
import re
import time
from typing import Any
from urllib.parse import urlencode

from humas.profiles import Placement
from humas_dev.sandbox import images, videos
from humas_dev.sandbox.config import (
    FACEBOOK_PAGE_ID, FACEBOOK_PAGE_NAME, INSTAGRAM_USER_ID, INSTAGRAM_USERNAME, Sandbox,
)
from humas_dev.sandbox.state import Container, MediaUpload, Pending, Post, StoredImage
from humas_dev.sandbox.wire import Request, Response, graph_error, graph_not_found

SHORTCODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
STORY_LIFETIME = 86400            # seconds a story stays visible (and listed by /stories)


# -- shared helpers ---------------------------------------------------------------------------------
def graph_time(epoch: float) -> str:
    """Graph's timestamp format, e.g. 2026-05-01T03:04:05+0000."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(epoch))


def _fields(req: Request, default: str) -> list[str]:
    return [f.strip() for f in (req.param("fields") or default).split(",") if f.strip()]


def _pick(obj: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    return {"id": obj["id"], **{f: obj[f] for f in fields if f in obj}}


def _since(req: Request) -> float:
    raw = req.param("since")
    try:
        return float(raw) if raw else 0.0
    except ValueError as exc:
        raise graph_error(f"(#100) The parameter since must be a unix timestamp, got {raw!r}", 100) from exc


def _page(req: Request, items: list[dict[str, Any]]) -> dict[str, Any]:
    """One page of a Graph edge, with cursor paging (`limit`, `after`)."""
    raw_after = req.param("after")
    try:
        limit = min(max(int(req.param("limit") or 25), 1), 100)
        start = int(base64.urlsafe_b64decode(raw_after.encode()).decode()) if raw_after else 0
    except ValueError as exc:
        raise graph_error("(#100) The parameters limit/after are invalid", 100) from exc
    chunk = items[start:start + limit]
    body: dict[str, Any] = {"data": chunk}
    if chunk:
        after = base64.urlsafe_b64encode(str(start + len(chunk)).encode()).decode()
        body["paging"] = {"cursors": {"before": base64.urlsafe_b64encode(str(start).encode()).decode(),
                                      "after": after}}
        if start + limit < len(items):
            query = {k: v for k, v in req.query.items() if k != "after"} | {"after": after}
            body["paging"]["next"] = f"{req.base_url}{req.path}?{urlencode(query)}"
    return body


def _fetch(url: str | None, placement: Placement, channel: str) -> bytes:
    if not url:
        raise graph_error("(#100) The parameter image_url is required" if channel == "instagram"
                          else "(#324) Requires upload file", 100 if channel == "instagram" else 324)
    try:
        return images.download(url, placement.max_bytes)
    except images.DownloadError as exc:
        if exc.too_large:
            raise graph_error("The image size is too large.", 36000, 2207004,
                              user_msg=f"The image is too large to download. It should be at most "
                                       f"{placement.max_bytes} bytes.") from exc
        raise graph_error("Media download has failed. The media URI doesn't meet our requirements.", 9004, 2207052,
                          user_msg=f"The media could not be fetched from the URL: {exc}") from exc


# -- Instagram --------------------------------------------------------------------------------------
def _ig_account(account_id: str, method: str) -> None:
    if account_id != INSTAGRAM_USER_ID:
        raise graph_not_found(account_id, method)


def _ig_image(data: bytes, placement: Placement) -> StoredImage:
    """Check a downloaded image as Instagram does: real format by bytes, aspect ratio, width."""
    info = images.inspect(data)
    if info is None or info.format not in placement.formats:
        found = info.format if info else "not an image"
        raise graph_error(f"The image format is not supported. Supported formats are: {', '.join(placement.formats)}",
                          36001, 2207005, user_msg=f"The downloaded file is {found}.")
    aspect = images.aspect_problem(info, placement)
    if aspect:
        raise graph_error(f"The submitted image with aspect ratio ('{info.width}/{info.height}',) cannot be "
                          "published. Please submit an image with a valid aspect ratio.", 36003, 2207009,
                          user_msg=f"The image {aspect} (allowed {placement.min_aspect}..{placement.max_aspect}).")
    width = images.width_problem(info, placement)
    if width:   # the live API rescales instead; the sandbox rejects so renditions are held to the profile
        raise graph_error(f"The submitted image cannot be published: {width}.", 36003, 2207009)
    return StoredImage(info, data)


def check_ig_caption(app: Sandbox, caption: str) -> None:
    """Instagram's caption limits, read from the profile: characters, hashtags, @mentions."""
    limits = app.profiles["instagram"].caption
    counts = {"characters": len(caption), "hashtags": len(re.findall(r"#\w+", caption)),
              "@ tags": len(re.findall(r"@[\w.]+", caption))}
    maxima = {"characters": limits.max_chars, "hashtags": limits.max_hashtags, "@ tags": limits.max_mentions}
    over = [f"{counts[k]} {k} (max {maxima[k]})" for k in counts if maxima[k] is not None and counts[k] > maxima[k]]
    if over:
        raise graph_error(f"The submitted caption was too long. Please submit a caption with at most "
                          f"{limits.max_chars} characters, {limits.max_hashtags} hashtags and {limits.max_mentions} "
                          "@ tags.", 36004, 2207010, user_msg="Caption has " + ", ".join(over) + ".")


def _child_ids(raw: str | None) -> list[str]:
    return [c.strip().strip('"') for c in (raw or "").strip("[]").split(",") if c.strip()]


def ig_create_container(app: Sandbox, req: Request, account_id: str) -> Response:
    """POST /{ig-user-id}/media: an image, a carousel item, a CAROUSEL of existing items, or a STORIES image."""
    _ig_account(account_id, "post")
    placement = app.profiles["instagram"].default
    media_type = (req.param("media_type") or "").upper()
    if media_type == "CAROUSEL":
        return _ig_carousel(app, req, account_id, placement)
    if media_type in ("REELS", "VIDEO") or req.param("video_url"):
        return _ig_video(app, req, account_id, media_type)
    if media_type == "STORIES":
        return _ig_story(app, req, account_id)
    is_item = (req.param("is_carousel_item") or "").lower() in ("true", "1")
    caption = "" if is_item else (req.param("caption") or "")
    check_ig_caption(app, caption)
    image = _ig_image(_fetch(req.param("image_url"), placement, "instagram"), placement)
    container = _made(app, Container(f"17{app.state.next_seq():015d}", account_id,
                                      "CAROUSEL_ITEM" if is_item else "IMAGE", caption, [image]))
    app.state.put_container(container)
    return Response(200, {"id": container.id})


IG_VIDEO_KINDS = {"REELS": ("REELS", videos.IG_REELS), "STORIES": ("STORIES", videos.IG_STORY),
                  "VIDEO": ("CAROUSEL_ITEM", videos.IG_CAROUSEL_VIDEO)}


def _ig_video(app: Sandbox, req: Request, account_id: str, media_type: str) -> Response:
    """A REELS, STORIES (video) or VIDEO carousel-item container: the video is fetched, then processed."""
    is_item = (req.param("is_carousel_item") or "").lower() in ("true", "1")
    if media_type not in IG_VIDEO_KINDS or (media_type == "VIDEO") != is_item:
        raise graph_error("(#100) The parameter media_type must be REELS or STORIES for a video (VIDEO only with "
                          "is_carousel_item=true)", 100, user_msg=f"media_type {media_type or '(none)'} with a video_url.")
    kind, spec = IG_VIDEO_KINDS[media_type]
    caption = req.param("caption") or ""
    if caption and kind != "REELS":
        raise graph_error(f"(#100) The parameter caption is not supported for media_type {media_type}", 100)
    check_ig_caption(app, caption)
    data = _fetch_video(req.param("video_url"), spec)
    facts, problems = videos.check(data, spec)
    if req.param("cover_url"):   # a Reel's cover is an image Instagram fetches like image_url
        cover = images.inspect(_fetch(req.param("cover_url"), app.profiles["instagram"].default, "instagram"))
        if cover is None or cover.format != "JPEG":
            problems.append(f"cover_url is {cover.format if cover else 'not an image'} (a JPEG is required)")
    stored = [StoredImage(facts.info(), data)] if facts else []
    container = Container(f"17{app.state.next_seq():015d}", account_id, kind, caption, stored,
                          ready_at=time.time() + app.config.video_processing, error="; ".join(problems))
    app.state.put_container(container)
    return Response(200, {"id": container.id})


def _fetch_video(url: str | None, spec: videos.VideoSpec) -> bytes:
    if not url:
        raise graph_error("(#100) The parameter video_url is required", 100)
    try:
        return images.download(url, spec.max_bytes)
    except images.DownloadError as exc:
        if exc.too_large:
            raise graph_error("The video file is too large.", 36000, 2207004,
                              user_msg=f"{spec.name}: at most {spec.max_bytes} bytes.") from exc
        raise graph_error("Media download has failed. The media URI doesn't meet our requirements.", 9004, 2207052,
                          user_msg=f"The media could not be fetched from the URL: {exc}") from exc


def _ig_story(app: Sandbox, req: Request, account_id: str) -> Response:
    """A STORIES container: one image, judged by the story placement; no caption, no carousel."""
    if req.param("caption"):
        raise graph_error("(#100) The parameter caption is not supported for media_type STORIES", 100,
                          user_msg="A story carries no caption; send the image alone.")
    if req.param("children") or (req.param("is_carousel_item") or "").lower() in ("true", "1"):
        raise graph_error("(#100) A STORIES container takes one image_url; stories cannot be carousel items", 100)
    placement = app.profiles["instagram"].placements["story"]
    image = _ig_image(_fetch(req.param("image_url"), placement, "instagram"), placement)
    container = _made(app, Container(f"17{app.state.next_seq():015d}", account_id, "STORIES", "", [image]))
    app.state.put_container(container)
    return Response(200, {"id": container.id})


def _ig_carousel(app: Sandbox, req: Request, account_id: str, placement: Placement) -> Response:
    children, caption = _child_ids(req.param("children")), req.param("caption") or ""
    if not 2 <= len(children) <= placement.max_items:
        raise graph_error("Your post won't be able to be shared as a carousel. Carousels need at least 2 photos/"
                          f"videos and no more than {placement.max_items} photos/videos.", 100, 2207028,
                          user_msg=f"The carousel has {len(children)} items.")
    check_ig_caption(app, caption)
    with app.state.transaction() as state:
        items = [state.containers.get(c) for c in children]
        bad = [c for c, item in zip(children, items)
               if item is None or item.account_id != account_id or item.kind != "CAROUSEL_ITEM"]
        if bad:
            raise graph_error(f"The media with id {bad[0]} cannot be found (it must be a carousel item container "
                              "of this account).", 24, 2207006)
        unready = [c for c, item in zip(children, items) if item and _is_video(item) and
                   (item.error or not _ready(app, item))]
        if unready:
            raise graph_error("Media ID is not available", 9007, 2207027,
                              user_msg=f"The carousel item {unready[0]} is not FINISHED; check its status_code.")
        parent = _made(app, Container(f"17{state.next_seq():015d}", account_id, "CAROUSEL", caption,
                                      [img for item in items if item for img in item.images], children))
        state.put_container(parent)
    return Response(200, {"id": parent.id})


def _container_status(app: Sandbox, container: Container) -> str:
    if container.media_id:
        return "PUBLISHED"
    container.polls += 1
    if not _ready(app, container):
        return "IN_PROGRESS"
    return "ERROR" if container.error else "FINISHED"


def _is_video(container: Container) -> bool:
    return bool(container.error) or any(image.info.duration is not None for image in container.images)


def _status_text(status: str, container: Container) -> str:
    """The container's `status` field: Instagram's words for an ERROR, the status code otherwise."""
    if status == "ERROR":
        return f"Error: Media upload has failed with error code 2207026 (the video does not meet the spec: " \
               f"{container.error})"
    return status


def _ready(app: Sandbox, container: Container) -> bool:
    """Polled often enough, and (with realistic processing times) processed by now."""
    return container.polls > app.config.in_progress_polls and time.time() >= container.ready_at


def _made(app: Sandbox, container: Container) -> Container:
    """A new container, given its processing time when the sandbox imitates one."""
    if app.config.processing:
        container.ready_at = time.time() + random.uniform(*app.config.processing)
    return container


def ig_publish(app: Sandbox, req: Request, account_id: str) -> Response:
    """POST /{ig-user-id}/media_publish: turn a FINISHED container into a post (once)."""
    _ig_account(account_id, "post")
    creation_id = req.param("creation_id") or ""
    with app.state.transaction() as state:
        container = state.containers.get(creation_id)
        if container is None or container.account_id != account_id or container.kind == "CAROUSEL_ITEM":
            raise graph_error(f"The media with id {creation_id or '(none)'} cannot be found", 24, 2207006)
        if container.media_id:
            raise graph_error(f"The media with id {creation_id} cannot be found: the container was already "
                              f"published as media {container.media_id}", 24, 2207006)
        if container.error and _ready(app, container):
            raise graph_error("Media upload has failed with error code 2207026", 9007, 2207026,
                              user_msg=f"The video failed processing: {container.error}")
        if not _ready(app, container):
            raise graph_error("Media ID is not available", 9007, 2207027,
                              user_msg="The media is not ready for publishing, please wait for a moment")
        if ig_quota_usage(app, account_id) >= app.config.instagram_quota_total:
            raise graph_error("Application request limit reached", 9, 2207042,
                              user_msg="You reached maximum number of posts that is allowed to be published by "
                                       "Content Publishing API.")
        media_id = f"18{state.next_seq():015d}"
        story = container.kind == "STORIES"
        permalink = (f"https://www.instagram.com/stories/{INSTAGRAM_USERNAME}/{media_id}/" if story
                     else f"https://www.instagram.com/{'reel' if container.kind == 'REELS' else 'p'}/"
                          f"{_shortcode(int(media_id))}/")
        container.media_id = media_id
        state.put_container(container)
        placement = "story" if story else "reels" if container.kind == "REELS" else "feed"
        state.add_post(Post("instagram", account_id, media_id, container.caption, permalink, time.time(),
                            container.images, placement))
    return Response(200, {"id": media_id})


def usage_header(channel: str, retry_after: int) -> dict[str, str]:
    """Graph's X-Business-Use-Case-Usage header of a throttled account: the limit is reached, and access comes
    back after `retry_after` seconds (Graph says it in whole minutes)."""
    account, kind = (FACEBOOK_PAGE_ID, "pages") if channel == "facebook" else (INSTAGRAM_USER_ID, "instagram")
    minutes = max(1, -(-retry_after // 60))
    usage = {account: [{"type": kind, "call_count": 100, "total_cputime": 100, "total_time": 100,
                        "estimated_time_to_regain_access": minutes}]}
    return {"X-Business-Use-Case-Usage": json.dumps(usage)}


def _shortcode(number: int) -> str:
    code = ""
    while number:
        number, digit = divmod(number, 64)
        code = SHORTCODE_ALPHABET[digit] + code
    return code


def ig_quota_usage(app: Sandbox, account_id: str) -> int:
    """Posts this account published in the rolling quota window."""
    cutoff = time.time() - app.config.instagram_quota_duration
    return sum(1 for p in app.state.posts_of("instagram", account_id) if p.created_at >= cutoff)


def ig_publishing_limit(app: Sandbox, req: Request, account_id: str) -> Response:
    """GET /{ig-user-id}/content_publishing_limit."""
    _ig_account(account_id, "get")
    row: dict[str, Any] = {"quota_usage": ig_quota_usage(app, account_id)}
    if "config" in _fields(req, "quota_usage"):
        row["config"] = {"quota_total": app.config.instagram_quota_total, "quota_duration": app.config.instagram_quota_duration}
    return Response(200, {"data": [row]})


def _ig_media_fields(post: Post, base_url: str) -> dict[str, Any]:
    story = post.placement == "story"
    fields = {"id": post.id, "caption": post.caption, "permalink": post.permalink,
              "timestamp": graph_time(post.created_at),
              "media_type": ("CAROUSEL_ALBUM" if len(post.images) > 1 else
                             "VIDEO" if post.images and post.images[0].info.duration else "IMAGE"),
              "media_product_type": "STORY" if story else "REELS" if post.placement == "reels" else "FEED",
              "media_url": f"{base_url}/_sandbox/media/instagram/{post.id}/0",   # Instagram: a CDN address
              "shortcode": post.permalink.rstrip("/").rsplit("/", 1)[-1], "username": INSTAGRAM_USERNAME}
    if fields["media_type"] == "VIDEO":   # a video's cover picture: its first frame, as a JPEG
        fields["thumbnail_url"] = f"{base_url}/_sandbox/thumbnail/instagram/{post.id}"
    if story:
        del fields["caption"]           # a story has none
    return fields


def _ig_child_fields(post: Post, n: int, base_url: str) -> dict[str, Any]:
    """The n-th item of a carousel as IG Media (the sandbox keeps no ids of its own for them)."""
    video = post.images[n].info.duration is not None
    fields = {"id": f"{post.id}{n:02d}", "media_type": "VIDEO" if video else "IMAGE",
              "media_url": f"{base_url}/_sandbox/media/instagram/{post.id}/{n}",
              "timestamp": graph_time(post.created_at)}
    if video:
        fields["thumbnail_url"] = f"{base_url}/_sandbox/thumbnail/instagram/{post.id}/{n}"
    return fields


def ig_media_children(app: Sandbox, req: Request, media_id: str) -> Response:
    """GET /{ig-media-id}/children (IG Media > Children edge): a carousel's items, in order; none for other media."""
    post = app.state.find_post(media_id, "instagram")
    if post is None:
        raise graph_not_found(media_id)
    rows = [_ig_child_fields(post, n, req.base_url) for n in range(len(post.images))] if len(post.images) > 1 else []
    return Response(200, _page(req, [_pick(row, _fields(req, "id")) for row in rows]))


def ig_list_media(app: Sandbox, req: Request, account_id: str) -> Response:
    """GET /{ig-user-id}/media: the account's feed posts, newest first (supports `since`, `limit`, `after`)."""
    _ig_account(account_id, "get")
    fields, since = _fields(req, "id"), _since(req)
    posts = [p for p in app.state.posts_of("instagram", account_id)
             if p.created_at >= since and p.placement != "story"]
    return Response(200, _page(req, [_pick(_ig_media_fields(p, req.base_url), fields) for p in posts]))


def ig_list_stories(app: Sandbox, req: Request, account_id: str) -> Response:
    """GET /{ig-user-id}/stories: the stories of the last 24 hours, newest first (`limit`, `after`)."""
    _ig_account(account_id, "get")
    fields, cutoff = _fields(req, "id"), time.time() - STORY_LIFETIME
    stories = [p for p in app.state.posts_of("instagram", account_id)
               if p.placement == "story" and p.created_at >= cutoff]
    return Response(200, _page(req, [_pick(_ig_media_fields(p, req.base_url), fields) for p in stories]))


# -- Facebook Page ----------------------------------------------------------------------------------
def _fb_page(page_id: str, method: str) -> None:
    if page_id != FACEBOOK_PAGE_ID:
        raise graph_not_found(page_id, method)


def _fb_check_message(app: Sandbox, message: str, param: str) -> None:
    limit = app.profiles["facebook"].caption.max_chars
    if len(message) > limit:
        raise graph_error(f"(#100) Param {param} must be at most {limit} characters long", 100,
                          user_msg=f"The {param} has {len(message)} characters.")


def _fb_image(req: Request, placement: Placement) -> StoredImage:
    upload = req.files.get("source")
    if upload is None:
        data = _fetch(req.param("url"), placement, "facebook")
    elif len(upload.data) > placement.max_bytes:
        raise graph_error(f"(#100) The photo is too large: {len(upload.data)} bytes, a Page photo may have at most "
                          f"{placement.max_bytes} bytes", 100)
    else:
        data = upload.data
    info = images.inspect(data)
    if info is None or info.format not in placement.formats:
        raise graph_error("(#324) Missing or invalid image file", 324,
                          user_msg=f"Accepted formats: {', '.join(placement.formats)}.")
    return StoredImage(info, data)


def _fb_permalink(post_id: str) -> str:
    page_id, _, story = post_id.partition("_")
    return f"https://www.facebook.com/{page_id}/posts/{story}"


def fb_photos(app: Sandbox, req: Request, page_id: str) -> Response:
    """POST /{page-id}/photos: a published photo post, or an unpublished photo to attach later."""
    _fb_page(page_id, "post")
    caption = req.param("caption") or req.param("message") or ""
    _fb_check_message(app, caption, "caption")
    image = _fb_image(req, app.profiles["facebook"].default)
    published = (req.param("published") or "true").lower() not in ("false", "0")
    photo_id = f"122{app.state.next_seq():013d}"
    with app.state.transaction() as state:
        if not published:
            state.put_pending(Pending(photo_id, "facebook", page_id, image, time.time()))
            return Response(200, {"id": photo_id})
        post_id = f"{page_id}_{photo_id}"
        state.add_post(Post("facebook", page_id, post_id, caption, _fb_permalink(post_id), time.time(), [image]))
    return Response(200, {"id": photo_id, "post_id": post_id})


def _attached_ids(req: Request) -> list[str]:
    raw = req.param("attached_media")
    entries = json.loads(raw) if raw else []
    indexed = sorted((k for k in req.form if k.startswith("attached_media[")),
                     key=lambda k: int(k[len("attached_media["):-1]))
    entries += [json.loads(req.form[k]) for k in indexed]
    return [str(e["media_fbid"]) for e in entries]


def fb_feed_post(app: Sandbox, req: Request, page_id: str) -> Response:
    """POST /{page-id}/feed: a text post, or a multi-photo post from unpublished photos."""
    _fb_page(page_id, "post")
    message = req.param("message") or ""
    _fb_check_message(app, message, "message")
    try:
        photo_ids = _attached_ids(req)
    except (ValueError, KeyError, TypeError) as exc:
        raise graph_error('(#100) attached_media must be a list of {"media_fbid": id}', 100) from exc
    max_items = app.profiles["facebook"].default.max_items
    if not message and not photo_ids:
        raise graph_error("(#100) A post needs a message or attached_media", 100)
    if len(photo_ids) > max_items:
        raise graph_error(f"(#100) attached_media may hold at most {max_items} photos", 100)
    with app.state.transaction() as state:
        photos = [state.pending.get(p) for p in photo_ids]
        bad = [p for p, photo in zip(photo_ids, photos) if photo is None or photo.account_id != page_id]
        if bad:
            raise graph_error(f"(#100) param attached_media: media_fbid {bad[0]} is not an unpublished photo of "
                              "this Page", 100)
        post_id = f"{page_id}_122{state.next_seq():013d}"
        state.add_post(Post("facebook", page_id, post_id, message, _fb_permalink(post_id), time.time(),
                            [p.image for p in photos if p]))
        for photo_id in photo_ids:
            state.drop_pending(photo_id)
    return Response(200, {"id": post_id})


def _fb_post_fields(post: Post, base_url: str = "") -> dict[str, Any]:
    fields = {"id": post.id, "message": post.caption, "created_time": graph_time(post.created_at),
              "permalink_url": post.permalink}
    photos = [_fb_photo_attachment(post, n, base_url) for n in range(len(post.images))]
    if len(photos) == 1:
        fields["attachments"] = {"data": photos}
    elif photos:
        fields["attachments"] = {"data": [{"type": "album", "subattachments": {"data": photos}}]}
    return fields


def _fb_photo_attachment(post: Post, n: int, base_url: str) -> dict[str, Any]:
    """A Page post's n-th picture as a story attachment (Graph reference, Story Attachment: media.image.src;
    a video's image is its thumbnail, and media.source the video)."""
    info = post.images[n].info
    if info.duration is None:
        image = {"src": f"{base_url}/_sandbox/media/facebook/{post.id}/{n}", "width": info.width,
                 "height": info.height}
        return {"type": "photo", "media": {"image": image}}
    image = {"src": f"{base_url}/_sandbox/thumbnail/facebook/{post.id}/{n}", "width": info.width,
             "height": info.height}
    return {"type": "video_inline", "media": {"image": image,
                                               "source": f"{base_url}/_sandbox/media/facebook/{post.id}/{n}"}}


def fb_list_feed(app: Sandbox, req: Request, page_id: str) -> Response:
    """GET /{page-id}/feed: the Page's posts, newest first (supports `since`, `limit`, `after`)."""
    _fb_page(page_id, "get")
    fields, since = _fields(req, "id,message,created_time"), _since(req)
    now = time.time()
    posts = [p for p in app.state.posts_of("facebook", page_id) if p.created_at >= since and p.visible_at <= now]
    return Response(200, _page(req, [_pick(_fb_post_fields(p, req.base_url), fields) for p in posts]))


# -- Facebook Page video: resumable upload ------------------------------------------------------------
def fb_videos(app: Sandbox, req: Request, page_id: str) -> Response:
    """POST /{page-id}/videos with upload_phase start, transfer or finish (the resumable protocol)."""
    _fb_page(page_id, "post")
    phase = (req.param("upload_phase") or "").lower()
    if phase == "start":
        return _fb_video_start(app, req, page_id)
    if phase not in ("transfer", "finish"):
        raise graph_error("(#100) upload_phase must be start, transfer or finish (the sandbox takes only resumable "
                          "uploads)", 100)
    with app.state.transaction() as state:
        session = state.uploads.get(req.param("upload_session_id") or "")
        if session is None or session.channel != "facebook" or session.account_id != page_id:
            raise graph_error("(#100) Invalid upload_session_id", 100)
        if session.expired:
            raise graph_error("Your upload session has expired; start a new one.", 6000, 1363047, transient=False,
                              user_msg="The upload session expired before the video was complete.")
        return _fb_video_transfer(app, req, session) if phase == "transfer" else _fb_video_finish(app, req, session)


def _fb_video_start(app: Sandbox, req: Request, page_id: str) -> Response:
    raw = req.param("file_size") or ""
    if not raw.isdigit() or int(raw) < 1:
        raise graph_error("(#100) file_size must be a positive number of bytes", 100)
    size, spec = int(raw), videos.FB_PAGE_VIDEO
    if size > spec.max_bytes:
        raise graph_error("There was a problem uploading your video file: it is too large.", 6000, 1363023,
                          user_msg=f"{spec.name}: at most {spec.max_bytes} bytes, got {size}.")
    seq = app.state.next_seq()
    session = MediaUpload(f"156{seq:013d}", "facebook", page_id, size, time.time(), video_id=f"157{seq:013d}")
    app.state.uploads[session.id] = session
    return Response(200, {"upload_session_id": session.id, "video_id": session.video_id,
                          **_offsets(app, session)})


def _offsets(app: Sandbox, session: MediaUpload) -> dict[str, str]:
    """The next chunk the platform wants: [start_offset, end_offset) (both equal to the size when complete)."""
    start = len(session.data)
    return {"start_offset": str(start), "end_offset": str(min(start + app.config.fb_chunk_bytes,
                                                                session.total_bytes))}


def _fb_video_transfer(app: Sandbox, req: Request, session: MediaUpload) -> Response:
    chunk = req.files.get("video_file_chunk")
    if chunk is None:
        raise graph_error("(#100) video_file_chunk is required", 100)
    session.received += len(chunk.data)
    expected = _offsets(app, session)
    if session.finished or req.param("start_offset") != expected["start_offset"] or \
            len(chunk.data) != int(expected["end_offset"]) - int(expected["start_offset"]):
        raise graph_error("There was a problem uploading your video file. Please try again.", 6001, 1363037,
                          user_msg=f"The chunk must start at {expected['start_offset']} and end at "
                                   f"{expected['end_offset']}; ask the video's status for the bytes received.")
    session.data += chunk.data
    return Response(200, _offsets(app, session))


def fb_video_reels(app: Sandbox, req: Request, page_id: str) -> Response:
    """POST /{page-id}/video_reels with upload_phase start or finish."""
    _fb_page(page_id, "post")
    phase = (req.param("upload_phase") or "").lower()
    if phase == "start":
        video_id = f"157{app.state.next_seq():013d}"
        app.state.uploads[video_id] = MediaUpload(video_id, "facebook", page_id, 0, time.time(), video_id=video_id,
                                                  category="reels")
        version = req.path.split("/")[1]
        return Response(200, {"video_id": video_id, "upload_url": f"{req.base_url}/video-upload/{version}/{video_id}"})
    if phase != "finish":
        raise graph_error("(#100) upload_phase must be start or finish", 100)
    if (req.param("video_state") or "").upper() != "PUBLISHED":
        raise graph_error("(#100) The sandbox publishes reels at once: video_state must be PUBLISHED", 100)
    with app.state.transaction() as state:
        session = state.uploads.get(req.param("video_id") or "")
        if session is None or session.category != "reels" or session.account_id != page_id:
            raise graph_not_found(req.param("video_id") or "(none)", "post")
        if not session.total_bytes:
            raise graph_error("(#100) The reel has not been uploaded", 100)
        return _fb_video_finish(app, req, session)


def fb_reel_upload(app: Sandbox, req: Request, video_id: str) -> Response:
    """POST /video-upload/{version}/{video-id}: the reel's bytes from the `offset` header on (rupload)."""
    with app.state.transaction() as state:
        session = state.uploads.get(video_id)
        if session is None or session.category != "reels":
            raise graph_not_found(video_id, "post")
        offset, size = req.headers.get("offset", ""), req.headers.get("file_size", "")
        if not offset.isdigit() or not size.isdigit() or int(size) > videos.FB_REELS.max_bytes:
            raise graph_error("(#100) The offset and file_size headers are required (bytes)", 100)
        session.received += len(req.raw)
        if session.expired or session.finished or int(offset) != len(session.data):
            raise graph_error("There was a problem uploading your video file. Please try again.", 6001, 1363037,
                              user_msg=f"The upload must resume at byte {len(session.data)}.")
        session.total_bytes = int(size)
        session.data += req.raw[:session.total_bytes - len(session.data)]
    return Response(200, {"success": True})


def _fb_video_finish(app: Sandbox, req: Request, session: MediaUpload) -> Response:
    if len(session.data) != session.total_bytes:
        raise graph_error("(#100) The upload is not complete", 100,
                          user_msg=f"{len(session.data)} of {session.total_bytes} bytes received.")
    if session.finished:
        raise graph_error("(#100) This upload session is already finished", 100)
    message = req.param("description") or ""
    _fb_check_message(app, message, "description")
    reel = session.category == "reels"
    facts, problems = videos.check(bytes(session.data), videos.FB_REELS if reel else videos.FB_PAGE_VIDEO)
    now = time.time()
    session.finished, session.message = True, message
    session.ready_at, session.error = now + app.config.video_processing, "; ".join(problems)
    if facts and not problems:
        session.post_id = f"{session.account_id}_{session.video_id}"
        app.state.add_post(Post("facebook", session.account_id, session.post_id, message,
                                _fb_video_permalink(session), now, [StoredImage(facts.info(), bytes(session.data))],
                                "reels" if reel else "video", visible_at=session.ready_at))
    return Response(200, {"success": True})


def _fb_video_permalink(session: MediaUpload) -> str:
    if session.category == "reels":
        return f"https://www.facebook.com/reel/{session.video_id}/"
    return f"https://www.facebook.com/{session.account_id}/videos/{session.video_id}/"


def _fb_video_fields(app: Sandbox, session: MediaUpload, base_url: str = "") -> dict[str, Any]:
    """A video node: its status in Graph's shape (video_status and the three phases), permalink when ready."""
    processed = session.finished and time.time() >= session.ready_at
    if session.expired and not session.finished:
        video_status = "expired"
    elif not session.finished:
        video_status = "upload_in_progress"
    elif not processed:
        video_status = "processing"
    else:
        video_status = "error" if session.error else "ready"
    processing: dict[str, Any] = {"status": "not_started" if not session.finished else
                                  "in_progress" if not processed else "error" if session.error else "complete"}
    if processed and session.error:
        processing["errors"] = [{"code": 1363008, "message": f"The video does not meet the spec: {session.error}"}]
    status = {"video_status": video_status,
              "uploading_phase": {"status": "complete" if session.finished or 0 < session.total_bytes == len(
                                      session.data) else "in_progress",
                                  "bytes_transferred": len(session.data)},
              "processing_phase": processing,
              "publishing_phase": {"status": "complete" if video_status == "ready" else "not_started"}}
    node: dict[str, Any] = {"id": session.video_id, "status": status, "description": session.message,
                            "created_time": graph_time(session.created_at)}
    if video_status == "ready":   # `picture`: the video's thumbnail (Graph reference, Video)
        node |= {"permalink_url": _fb_video_permalink(session), "post_id": session.post_id,
                 "picture": f"{base_url}/_sandbox/thumbnail/facebook/{session.post_id}"}
    return node


# -- any node ---------------------------------------------------------------------------------------
def get_node(app: Sandbox, req: Request, object_id: str) -> Response:
    """GET /{id}: a container's status, an Instagram media, a Page post, or one of the accounts."""
    container = app.state.containers.get(object_id)
    if container is not None:
        with app.state.transaction() as state:
            status = _container_status(app, container)
            state.put_container(container)
        return Response(200, _pick({"id": object_id, "status_code": status,
                                    "status": _status_text(status, container)}, _fields(req, "id")))
    video = next((u for u in app.state.uploads.values() if u.video_id == object_id), None)
    if video is not None:
        return Response(200, _pick(_fb_video_fields(app, video, req.base_url), _fields(req, "id")))
    post = app.state.find_post(object_id)
    if post is not None:
        node = (_ig_media_fields(post, req.base_url) if post.channel == "instagram"
                else _fb_post_fields(post, req.base_url))
        return Response(200, _pick(node, _fields(req, "id")))
    accounts = {INSTAGRAM_USER_ID: {"id": INSTAGRAM_USER_ID, "username": INSTAGRAM_USERNAME},
                FACEBOOK_PAGE_ID: {"id": FACEBOOK_PAGE_ID, "name": FACEBOOK_PAGE_NAME}}
    if object_id in accounts:
        return Response(200, _pick(accounts[object_id], _fields(req, "id,username,name")))
    raise graph_not_found(object_id)
