"""Clients for the platforms' publishing APIs: Instagram Graph API, Facebook Page API, X API v2.

Plain ``requests`` code, no Airflow. Each client speaks to ``ClientConfig.base_url`` exactly as it would to the
real host (https://graph.facebook.com, https://api.x.com) or to the local sandbox (``humas_dev.sandbox``).

Failure contract, relied on by ``humas.publish``:

- the platform refused: ``PlatformError`` with ``retryable`` True for rate limits and 5xx, False for content
  or configuration problems; the message names the channel, the step, the API's own words and what to do;
- no answer (timeout, dropped connection) or a 5xx on the request that creates the post (``media_publish``,
  ``/photos`` or ``/feed``, ``/2/tweets``): ``PublishUncertainError`` -- the post may exist, ask
  ``find_existing`` before sending it again; on a preparatory request: ``PlatformError(retryable=True)``.
  A connection that was never opened (refused, connect timeout) cannot have published: ``PlatformError``.

Finding a post again: none of these APIs stores custom metadata, so every text post ends with the item's
reference, a short code derived from the item id (``post_text``); ``find_existing`` matches that code, never
the caption, so two items with the same caption on one account are told apart. An Instagram story carries no
text: each story's container id is kept in the caller's ``Progress`` before it is published, the container's
``status_code`` says whether it was published, and the story itself is found among the account's stories by
its picture (a difference hash, which survives the platform's re-encoding).

Video (issue 18): an Instagram Reel, video story or carousel video is a container the platform processes; a
Facebook Page video goes up through a resumable upload session; an X video or GIF through the chunked media
upload. Each step the platform confirms (container id, upload session and the offset it confirmed, media id)
is put in ``Progress`` before the next, and when the platform is still processing the client raises
``StillProcessing`` instead of holding a worker: the next call resumes from ``Progress``. Uploads stream from
``MediaRef.path`` one chunk at a time.

The access token travels only in the ``Authorization`` header and never appears in a message or log line.
"""
from __future__ import annotations

import hashlib
import html
import io
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from humas.exceptions import HumasError, PlatformError, PublishUncertainError, QuotaExhausted, StillProcessing
from humas.profiles import load_profiles

log = logging.getLogger(__name__)

USER_AGENT = "humas-uploader/0.1"
MAX_PAGES = 10                      # pages read when looking for an existing post
X_EPOCH_MS = 1288834974657          # X ids are snowflakes: (milliseconds since this epoch) << 22
VIDEO_POLL_DELAYS = (0.0,)          # a video is looked at once per call; still processing: the call defers
VIDEO_CHECK_AFTER = 30.0            # seconds until a deferred video is looked at again, unless the platform says


@dataclass(frozen=True)
class MediaRef:
    """One rendition to publish: an image, a video, or an animated GIF (posted as GIF on X only).

    Field order keeps ``MediaRef(name, url, data, content_type)`` working for images; large media are named by
    ``path`` and streamed from it in chunks, never read whole.
    """

    name: str
    url: str               # publicly reachable (presigned) URL, used where the API takes a URL (Instagram)
    data: bytes = b""      # small images' bytes, used where the API takes an upload (X, Facebook multipart)
    content_type: str = "image/jpeg"
    path: str | None = None        # a local file for large media (video): uploads stream from it
    kind: str = "image"            # 'image' | 'video' | 'gif'
    duration: float | None = None  # seconds, for video and GIF
    cover_url: str | None = None   # a presigned JPEG shown before a video plays (Instagram Reels' cover_url)
    # Brings the file to ``path`` when it is not there yet: the uploader leaves a video it already checked on an
    # earlier try in the bucket until a client needs its bytes (a deferred try that only polls never does).
    fetch: Callable[[], None] | None = field(default=None, compare=False, repr=False)


def media_file(media: MediaRef) -> str | None:
    """The media's local file (fetched first if it is not on disk yet), or None for in-memory media."""
    if media.path and media.fetch is not None and not os.path.exists(media.path):
        media.fetch()
    return media.path


def media_size(media: MediaRef) -> int:
    """The media's size in bytes: its file's, else its in-memory bytes'."""
    path = media_file(media)
    return os.path.getsize(path) if path else len(media.data)


def media_chunk(media: MediaRef, offset: int, size: int) -> bytes:
    """`size` bytes of the media from `offset` (fewer at its end): read from its file, never the whole of it."""
    path = media_file(media)
    if not path:
        return media.data[offset:offset + size]
    with open(path, "rb") as source:
        source.seek(offset)
        return source.read(size)


def _moving(post: PostRequest) -> bool:
    """Whether the post carries a video or an animated GIF (uploaded and processed, so deferred)."""
    return any(media.kind in ("video", "gif") for media in post.images)


def _later(seconds: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(seconds=max(seconds, 1))


@dataclass(frozen=True)
class PostRequest:
    item_id: str
    caption: str           # the brief's caption; the clients post `post_text(...)` of it
    images: tuple[MediaRef, ...]
    placement: str | None = None   # a placement of the channel in include/platforms.yaml; None: its default


@dataclass(frozen=True)
class PublishedPost:
    channel: str
    remote_id: str
    permalink: str
    published_at: str      # ISO 8601 UTC
    parts: tuple[str, ...] = ()    # when one item became several posts (Instagram stories): every permalink

    def to_dict(self) -> dict[str, Any]:
        """The post as the publish record and the receipt keep it (`parts` only when there are some)."""
        raw = asdict(self)
        raw["parts"] = list(self.parts)
        return raw if self.parts else {k: v for k, v in raw.items() if k != "parts"}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> PublishedPost:
        return cls(**{**raw, "parts": tuple(raw.get("parts") or ())})


@dataclass
class Progress:
    """What one publish has done so far, kept by the caller across retries.

    ``publish_once`` keeps it in the channel's publish record and writes the record on every ``put``, so a step
    the platform confirmed (an Instagram story's container, then its media id) is still known after a crash.
    """

    steps: dict[str, Any] = field(default_factory=dict)
    save: Callable[[], None] | None = None

    def get(self, key: str) -> dict[str, Any]:
        return dict(self.steps.get(key) or {})

    def put(self, key: str, value: dict[str, Any]) -> None:
        self.steps[key] = value
        if self.save:
            self.save()


@dataclass(frozen=True)
class ClientConfig:
    base_url: str          # e.g. https://graph.facebook.com, https://api.x.com, or the sandbox http://127.0.0.1:8090
    access_token: str
    account_id: str        # ig-user-id / page-id / x user id
    api_version: str = "v21.0"   # Graph only
    timeout: float = 30.0
    check_after: float = VIDEO_CHECK_AFTER   # seconds until a video still processing is looked at again

    def __repr__(self) -> str:   # keep the token out of logs and tracebacks
        return (f"ClientConfig(base_url={self.base_url!r}, access_token='***', account_id={self.account_id!r}, "
                f"api_version={self.api_version!r}, timeout={self.timeout!r}, check_after={self.check_after!r})")


class PlatformClient(Protocol):
    channel: str

    def publish(self, post: PostRequest, progress: Progress | None = None) -> PublishedPost: ...

    def find_existing(self, post: PostRequest, since: datetime,
                      progress: Progress | None = None) -> PublishedPost | None: ...

    def remaining_quota(self) -> int | None: ...

    def quota_until(self, rank: int = 0) -> datetime | None: ...

    def observed_until(self) -> datetime | None: ...

    def shown_pictures(self, post: PublishedPost, request: PostRequest, progress: Progress) -> list[bytes]: ...


# -- the item's reference in the posted text -------------------------------------------------------------
REFERENCE_LABEL = "Ref."
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"   # Crockford base 32: no I, L, O, U to misread
REFERENCE_LENGTH = 8                                      # characters: the first 40 bits of the item id's SHA-256
TEXTLESS_PLACEMENTS = {("instagram", "story")}            # posts that carry no text at all


def item_reference(item_id: str) -> str:
    """The item's reference as posted, e.g. 'Ref. 7K3Q9FX2': the same for the same item id, always."""
    bits = 5 * REFERENCE_LENGTH
    number = int.from_bytes(hashlib.sha256(item_id.encode("utf-8")).digest(), "big") >> (256 - bits)
    code = "".join(REFERENCE_ALPHABET[(number >> shift) & 31] for shift in range(bits - 5, -1, -5))
    return f"{REFERENCE_LABEL} {code}"


def post_text(caption: str, item_id: str, channel: str, placement: str | None = None) -> str:
    """Exactly the text posted for this item on this channel (and placement): the caption, a blank line,
    the item's reference. An Instagram story carries no text, so '' there. Applying it twice changes nothing."""
    if (channel, placement) in TEXTLESS_PLACEMENTS:
        return ""
    return text_with_reference(caption, item_id)


def text_with_reference(caption: str, item_id: str) -> str:
    """The caption as every text-carrying post of the item carries it: a blank line, then its reference."""
    body = caption.strip()
    if carries_reference(body, item_id):
        return body
    return f"{body}\n\n{item_reference(item_id)}" if body else item_reference(item_id)


def carries_reference(text: str, item_id: str) -> bool:
    """Whether a post's text (as the platform shows it) ends with this item's reference."""
    shown, reference = html.unescape(text or "").rstrip(), item_reference(item_id)
    return shown.endswith(reference) and (len(shown) == len(reference) or shown[-len(reference) - 1].isspace())


def placement_of(channel: str, post: PostRequest) -> str:
    """The post's placement on `channel`; PlatformError when the channel has no such placement."""
    profile = load_profiles()[channel]
    name = post.placement or profile.default_placement
    if name not in profile.placements:
        raise PlatformError(channel, f"{post.item_id}: {profile.display_name} has no placement {name!r}; use one of "
                            f"{', '.join(sorted(profile.placements))} (brief field placements)", retryable=False)
    return name


# -- time ---------------------------------------------------------------------------------------------
def parse_time(value: str) -> datetime:
    """A platform timestamp (2026-05-01T03:04:05+0000, ...05.000Z) as an aware UTC datetime."""
    moment = datetime.fromisoformat(value)
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat()


def _whole_second(moment: datetime) -> datetime:
    """`moment` rounded down: Graph timestamps have no fractions, so a post made in the same second counts."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return aware.replace(microsecond=0)


# -- transport ----------------------------------------------------------------------------------------
def _never_sent(exc: requests.RequestException) -> bool:
    """True when the connection was never made, so the platform cannot have received the request."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    return isinstance(reason, MaxRetryError) and isinstance(reason.reason, NewConnectionError)


def _describe(exc: requests.RequestException, timeout: float) -> str:
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout:g} s ({type(exc).__name__})"
    return f"connection failed ({type(exc).__name__})"


# -- quotas and rate limits -------------------------------------------------------------------------------
DEFAULT_LIMIT_WAIT = timedelta(minutes=15)   # a limit refused without saying when it frees: X's window length
GRAPH_USAGE_HEADERS = ("X-Business-Use-Case-Usage", "X-Page-Usage", "X-App-Usage")
X_LIMIT_HEADERS = ("x-rate-limit", "x-user-limit-24hour", "x-app-limit-24hour")


def _epoch(value: str | None) -> datetime | None:
    return datetime.fromtimestamp(int(value), timezone.utc) if value and value.strip().isdigit() else None


def _retry_after(value: str | None, now: datetime) -> datetime | None:
    """Retry-After as a moment: delta-seconds or an HTTP date (RFC 9110); None if absent or unreadable."""
    if not value:
        return None
    if value.strip().isdigit():
        return now + timedelta(seconds=int(value))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _graph_regain(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """Graph's usage headers: the longest ``estimated_time_to_regain_access`` (minutes) they report."""
    minutes: list[int] = []
    for name in GRAPH_USAGE_HEADERS:
        try:
            usage = json.loads(headers.get(name) or "{}")
        except ValueError:
            continue
        rows = [usage] + [row for value in usage.values() if isinstance(value, list) for row in value]
        minutes += [int(row.get("estimated_time_to_regain_access") or 0) for row in rows if isinstance(row, dict)]
    longest = max(minutes, default=0)
    return now + timedelta(minutes=longest) if longest > 0 else None


def limit_frees_at(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """When the limit a refusal reports frees: Retry-After, X's ``x-rate-limit-reset`` (epoch seconds) or Graph's
    ``estimated_time_to_regain_access``, the latest of those present; None when the headers say nothing."""
    found = [_retry_after(headers.get("Retry-After"), now), _epoch(headers.get("x-rate-limit-reset")),
             _graph_regain(headers, now)]
    return max((moment for moment in found if moment), default=None)


def exhausted_until(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """On an accepted request: when the limit frees if the headers say it is now used up (X: a ``*-remaining``
    of 0, with its ``*-reset``; Graph: a time to regain access), else None."""
    found = [_epoch(headers.get(f"{name}-reset")) or now + DEFAULT_LIMIT_WAIT for name in X_LIMIT_HEADERS
             if (headers.get(f"{name}-remaining") or "").strip() == "0"]
    found.append(_graph_regain(headers, now))
    return max((moment for moment in found if moment), default=None)


def _limit_message(refusal: str, until: datetime) -> str:
    return f"{refusal}. The limit frees about {until:%Y-%m-%d %H:%M:%S} UTC; the item waits until then (nothing to do)"


class _ApiClient:
    """HTTP plumbing shared by the clients: auth header, timeout, failure mapping, limits seen in headers."""

    channel = ""

    def __init__(self, config: ClientConfig, session: requests.Session | None = None) -> None:
        self.config = config
        self.session = session or requests.Session()
        self._observed: datetime | None = None

    def observed_until(self) -> datetime | None:
        """When the limit frees if a post this client made was answered with headers saying it is used up."""
        if self._observed and self._observed > datetime.now(timezone.utc):
            return self._observed
        return None

    def quota_until(self, rank: int = 0) -> datetime | None:
        """None when a post may be sent now; else when the platform will take it. Here: what headers said."""
        return self.observed_until()

    def _download(self, url: str) -> bytes:
        """A picture the platform shows (a CDN address: no token is sent there); b'' if unreadable."""
        if not url.startswith(("http://", "https://")):
            return b""
        try:
            response = self.session.get(url, timeout=self.config.timeout, headers={"User-Agent": USER_AGENT})
        except requests.RequestException:
            return b""
        return response.content if response.status_code == 200 else b""

    def text_of(self, post: PostRequest) -> str:
        """The text this client posts for `post` (see `post_text`)."""
        return post_text(post.caption, post.item_id, self.channel, placement_of(self.channel, post))

    def _call(self, method: str, path: str, step: str, *, commits: bool = False, empty_ok: bool = False,
              **kwargs: Any) -> dict[str, Any]:
        """Send one request and return its JSON body; raise PlatformError / PublishUncertainError on failure."""
        headers = {"Authorization": f"Bearer {self.config.access_token}", "User-Agent": USER_AGENT}
        try:
            response = self.session.request(method, self.config.base_url.rstrip("/") + path, headers=headers,
                                            timeout=self.config.timeout, **kwargs)
        except requests.RequestException as exc:
            raise self._transport_error(exc, step, commits) from exc
        if commits:
            self._observed = exhausted_until(response.headers, datetime.now(timezone.utc)) or self._observed
        if response.status_code >= 400:
            raise self._failed(response, step, commits)
        if empty_ok and not response.content.strip():
            return {}
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise self._unreadable(response, step, commits)
        return body

    def _transport_error(self, exc: requests.RequestException, step: str, commits: bool) -> HumasError:
        what = _describe(exc, self.config.timeout)
        if commits and not _never_sent(exc):
            return PublishUncertainError(
                f"{self.channel}: {step}: {what}. The post may have been published; look for it (find_existing) "
                "before sending it again.")
        return PlatformError(self.channel, f"{step}: {what}; nothing was published. Retry later.", retryable=True)

    def _failed(self, response: requests.Response, step: str, commits: bool) -> HumasError:
        """A refusal; but a 5xx on the request that creates the post may come after the post was made."""
        error = self._refused(response, step)
        if response.status_code == 429 and not isinstance(error, QuotaExhausted):
            error = self._limit(step, response, str(error).split(": ", 1)[-1])
        if commits and response.status_code >= 500:
            return PublishUncertainError(f"{error}. The platform failed while creating the post, so the post may "
                                         "exist; look for it (find_existing) before sending it again.")
        return error

    def _unreadable(self, response: requests.Response, step: str, commits: bool) -> HumasError:
        if commits:
            return PublishUncertainError(f"{self.channel}: {step}: HTTP {response.status_code} with an unreadable "
                                         "body. The post may have been published; look for it before sending again.")
        return PlatformError(self.channel, f"{step}: HTTP {response.status_code} with an unreadable body; retry later",
                             status=response.status_code, retryable=True)

    def _refused(self, response: requests.Response, step: str) -> PlatformError:
        raise NotImplementedError

    def _limit(self, step: str, response: requests.Response, api_message: str,
               default: timedelta = DEFAULT_LIMIT_WAIT) -> QuotaExhausted:
        """A refusal because a quota or rate limit is used up: when it frees, from the headers or `default`."""
        now = datetime.now(timezone.utc)
        until = limit_frees_at(response.headers, now) or now + default
        refusal = self._redact(f"{step} was refused (HTTP {response.status_code}): {api_message.rstrip('. ')}")
        return QuotaExhausted(self.channel, _limit_message(refusal, until), until=until, status=response.status_code)

    def _redact(self, text: str) -> str:
        """Belt and braces: should a platform ever echo the token, blank it (tokens are long; skip toy ones)."""
        token = self.config.access_token
        return text.replace(token, "***") if len(token) >= 8 else text

    def _error(self, step: str, status: int, api_message: str, advice: str, retryable: bool) -> PlatformError:
        api_message = api_message.rstrip(". ")
        message = self._redact(f"{step} was refused (HTTP {status}): {api_message}. What to do: {advice}")
        return PlatformError(self.channel, message, status=status, retryable=retryable)


# -- Graph API (Instagram, Facebook) -------------------------------------------------------------------
GRAPH_AUTH_CODES = frozenset({102, 104, 190})
GRAPH_RATE_LIMIT_CODES = frozenset({4, 17, 32, 613})
GRAPH_TRANSIENT_CODES = frozenset({-2, -1, 1, 2})
ADVICE_AUTH = "renew the access token in this channel's Airflow connection (password field) and retry"
ADVICE_RATE = "wait; the platform limits how often we may call it. The task's retries will try again later"
ADVICE_TRANSIENT = "temporary platform problem; the task's retries will try again later"


def _graph_advice(status: int, error: dict[str, Any]) -> tuple[str, bool]:
    """What to do about a Graph error, and whether a later retry may succeed."""
    code, subcode = error.get("code"), error.get("error_subcode")
    if code in GRAPH_AUTH_CODES:
        return ADVICE_AUTH, False
    if code in GRAPH_RATE_LIMIT_CODES:
        return ADVICE_RATE, True
    if code == 9:
        return "the account's 24-hour publishing limit is used up; publish after the window rolls on", True
    if code == 9007:
        return "the media was not ready yet; retry in a minute", True
    if status >= 500 or error.get("is_transient") or code in GRAPH_TRANSIENT_CODES:
        return ADVICE_TRANSIENT, True
    if code == 100 and subcode == 33:
        return "check account_id (and api_version) in this channel's Airflow connection", False
    if code == 9004:
        return "make sure the image URL (presigned) is reachable from the internet and not expired", False
    if code in (36000, 36001, 36003, 324):
        return "re-export the image within this platform's limits (include/platforms.yaml) and publish again", False
    if code == 36004 or "caption" in str(error.get("message", "")):
        return "shorten the caption (characters, hashtags, @mentions) and publish again", False
    return "correct the content or settings named above and publish again", False


class _GraphClient(_ApiClient):
    """What Instagram and Facebook Pages share. The class attributes name the fields that differ."""

    list_edge = "media"          # the account's posts
    text_field = "caption"       # the post's text
    link_field = "permalink"     # the post's public link
    time_field = "timestamp"     # when it was created

    def _path(self, *parts: str) -> str:
        return "/" + "/".join((self.config.api_version, *parts))

    def _refused(self, response: requests.Response, step: str) -> PlatformError:
        try:
            error = response.json().get("error") or {}
        except (ValueError, AttributeError):
            error = {}
        if not isinstance(error, dict):   # not Graph's shape (a proxy's or load balancer's answer)
            error = {"message": str(error)}
        detail = error.get("message") or response.reason or "no message"
        if error.get("error_user_msg"):
            detail += f" ({error['error_user_msg']})"
        ident = f"code {error.get('code')}" + (f"/{error['error_subcode']}" if error.get("error_subcode") else "")
        if error.get("code") in GRAPH_RATE_LIMIT_CODES or error.get("code") == 9:
            limit = self._limit(step, response, f"{detail} [{ident}]")
            limit.shared = error.get("code") != 9   # Instagram's publishing limit: each waiting item has its turn
            return limit
        advice, retryable = _graph_advice(response.status_code, error)
        return self._error(step, response.status_code, f"{detail} [{ident}]", advice, retryable)

    def _edge(self, path: str, params: dict[str, Any], step: str) -> Iterator[dict[str, Any]]:
        """The rows of a Graph edge, following `paging.cursors.after` for at most MAX_PAGES pages."""
        params = dict(params)
        for _ in range(MAX_PAGES):
            body = self._call("GET", path, step, params=params)
            yield from body.get("data", [])
            paging = body.get("paging", {})
            if not paging.get("next"):
                return
            params["after"] = paging["cursors"]["after"]

    def _post(self, post_id: str, node: dict[str, Any]) -> PublishedPost:
        return PublishedPost(self.channel, post_id, node[self.link_field], _iso(parse_time(node[self.time_field])))

    def _confirmed(self, post_id: str) -> PublishedPost:
        """Read the new post's permalink; failing that, the post exists but we cannot say where."""
        log.info("%s: published %s", self.channel, post_id)
        try:
            node = self._call("GET", self._path(post_id), f"reading post {post_id}",
                              params={"fields": f"{self.link_field},{self.time_field}"})
            return self._post(post_id, node)
        except (PlatformError, KeyError, ValueError) as exc:
            raise PublishUncertainError(f"{self.channel}: published as {post_id} but its permalink could not be "
                                        f"read ({exc}); find_existing will find it") from exc

    def find_existing(self, post: PostRequest, since: datetime,
                      progress: Progress | None = None) -> PublishedPost | None:
        """The account's newest post carrying this item's reference, created at or after `since`, else None."""
        cutoff = _whole_second(since)
        fields = f"id,{self.text_field},{self.time_field},{self.link_field}"
        params = {"fields": fields, "since": int(cutoff.timestamp()), "limit": 50}
        path = self._path(self.config.account_id, self.list_edge)
        for row in self._edge(path, params, f"{post.item_id}: listing posts"):
            if parse_time(row[self.time_field]) < cutoff:
                return None
            if carries_reference(row.get(self.text_field) or "", post.item_id):
                return self._post(row["id"], row)
        return None


class InstagramClient(_GraphClient):
    """Instagram Content Publishing: container(s), wait until FINISHED, media_publish, permalink."""

    channel = "instagram"
    POLL_DELAYS: tuple[float, ...] = (0.0, 0.5, 1, 2, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5)   # about a minute

    def publish(self, post: PostRequest, progress: Progress | None = None) -> PublishedPost:
        """Publish one image, a carousel, or (placement story) one story per image; return the post(s)."""
        if not post.images:
            raise PlatformError(self.channel, f"{post.item_id}: Instagram needs at least one image; add one",
                                retryable=False)
        if placement_of(self.channel, post) == "story":
            return _series([self._story(post, n, progress or Progress()) for n in range(len(post.images))])
        if _moving(post):
            return self._publish_video(post, progress or Progress())
        return self._publish_container(post, self._container(post))

    def find_existing(self, post: PostRequest, since: datetime,
                      progress: Progress | None = None) -> PublishedPost | None:
        """The item's post (found by its reference), or all of its stories (see `_known_story`); else None."""
        if placement_of(self.channel, post) != "story":
            return super().find_existing(post, since, progress)
        stories = []
        for n in range(len(post.images)):
            story = self._known_story(post, n, since, progress or Progress())
            if story is None:
                return None
            stories.append(story)
        return _series(stories) if stories else None

    def shown_pictures(self, post: PublishedPost, request: PostRequest, progress: Progress) -> list[bytes]:
        """What the post shows, one picture per media (IG Media reference: an IMAGE's media_url, a VIDEO's
        thumbnail_url; a carousel's items by its children edge; each story by the media id in `progress`).
        Instagram re-encodes: compare by picture, not bytes."""
        step, fields = f"{request.item_id}: reading what post {post.remote_id} shows", "media_url,thumbnail_url"
        if placement_of(self.channel, request) == "story":
            ids = [progress.get(f"story-{n}").get("media") for n in range(len(request.images))]
            rows = [self._call("GET", self._path(str(i)), step, params={"fields": fields}) if i else {} for i in ids]
        elif len(request.images) > 1:
            rows = list(self._edge(self._path(post.remote_id, "children"), {"fields": fields}, step))
        else:
            rows = [self._call("GET", self._path(post.remote_id), step, params={"fields": fields})]
        return [self._download(row.get("thumbnail_url") or row.get("media_url") or "") for row in rows]

    def _publish_container(self, post: PostRequest, container_id: str) -> PublishedPost:
        """Wait until the container is FINISHED, publish it, and read the new media's permalink."""
        media_id = self._media_publish(post, container_id)
        log.info("instagram: item %s published as media %s", post.item_id, media_id)
        return self._confirmed(media_id)

    def _media_publish(self, post: PostRequest, container_id: str, deferred: bool = False) -> str:
        if deferred:
            self._await_finished(container_id, post.item_id)
        else:
            self._wait_until_finished(container_id, post.item_id)
        try:
            body = self._call("POST", self._path(self.config.account_id, "media_publish"),
                              f"{post.item_id}: publishing container {container_id}", commits=True,
                              data={"creation_id": container_id})
        except QuotaExhausted as exc:   # the 24-hour limit ran out since it was read: when does it free?
            if exc.shared:
                raise
            until = self._quota_read().get("until") or exc.until
            refusal = str(exc).split(": ", 1)[-1].split(". The limit frees about")[0]
            raise QuotaExhausted(self.channel, _limit_message(refusal, until), until=until, status=exc.status,
                                 shared=False) from exc
        return _committed_id(self.channel, body, "id")

    def _container(self, post: PostRequest) -> str:
        caption = self.text_of(post)
        if len(post.images) == 1:
            return self._create(post, {"image_url": post.images[0].url, "caption": caption}, post.images[0].name)
        children = [self._create(post, {"image_url": image.url, "is_carousel_item": "true"}, image.name)
                    for image in post.images]
        return self._create(post, {"media_type": "CAROUSEL", "children": ",".join(children),
                                   "caption": caption}, "the carousel")

    # -- video: Reels, carousels with videos; each container in `progress`, processing deferred ----------
    # Meta, Instagram Platform > Content Publishing and the IG User Media reference (checked 2026): a Reel is
    # media_type REELS + video_url (+ caption, cover_url); a video story STORIES + video_url; a carousel video item
    # VIDEO + video_url + is_carousel_item; containers are polled (status_code) until FINISHED, then published.
    def _publish_video(self, post: PostRequest, progress: Progress) -> PublishedPost:
        """A Reel (one video) or a carousel mixing images and videos; StillProcessing while Instagram works."""
        container = progress.get("container").get("id")
        status = self._earlier_container(post, container, f"container {container}", (progress, "container"))
        if status not in ("FINISHED", "IN_PROGRESS"):
            container = self._video_container(post, progress)
        media_id = self._media_publish(post, container, deferred=True)
        log.info("instagram: item %s published as media %s", post.item_id, media_id)
        return self._confirmed(media_id)

    def _earlier_container(self, post: PostRequest, container: str | None, what: str,
                           forget: tuple[Progress, str] | None) -> str | None:
        """The status of a container an earlier try made (None: there is none). PUBLISHED means the post exists
        but was not found yet: never sent again. A failed video container says why and, via ``forget``, is
        dropped from ``progress`` so the next try starts over."""
        status = self._status(container, post.item_id) if container else None
        if status == "PUBLISHED":
            raise PublishUncertainError(
                f"instagram: {post.item_id}: {what} was published but could not be found yet; it will not be sent "
                "again, find_existing looks for it")
        if status in ("ERROR", "EXPIRED") and forget is not None:
            self._await_finished(container, post.item_id, forget=forget)
        return status

    def _video_container(self, post: PostRequest, progress: Progress) -> str:
        """The Reel's container, or the carousel's once every item is FINISHED; each id kept in `progress`."""
        caption = self.text_of(post)
        if len(post.images) == 1:
            media = post.images[0]
            fields = {"media_type": "REELS", "video_url": media.url, "caption": caption}
            fields |= {"cover_url": media.cover_url} if media.cover_url else {}
            container = self._create(post, fields, media.name)
            progress.put("container", {"id": container})
            return container
        children = list(progress.get("container").get("children") or [])
        for media in post.images[len(children):]:
            fields = ({"media_type": "VIDEO", "video_url": media.url} if media.kind != "image"
                      else {"image_url": media.url})
            children.append(self._create(post, fields | {"is_carousel_item": "true"}, media.name))
            progress.put("container", {"children": children})
        for child, media in zip(children, post.images):
            if media.kind != "image":
                self._await_finished(child, post.item_id, forget=(progress, "container"))
        container = self._create(post, {"media_type": "CAROUSEL", "children": ",".join(children),
                                        "caption": caption}, "the carousel")
        progress.put("container", {"id": container, "children": children})
        return container

    def _await_finished(self, container_id: str, item_id: str,
                        forget: tuple[Progress, str] | None = None) -> None:
        """Look at a video container briefly: FINISHED returns, IN_PROGRESS defers (StillProcessing), ERROR or
        EXPIRED raise PlatformError (with `forget`, that progress entry is dropped so the next try starts over)."""
        step = f"{item_id}: checking container {container_id}"
        for delay in VIDEO_POLL_DELAYS:
            time.sleep(delay)
            body = self._call("GET", self._path(container_id), step, params={"fields": "status_code,status"})
            status = body.get("status_code")
            if status == "FINISHED":
                return
            if status in ("ERROR", "EXPIRED"):
                if forget:
                    forget[0].put(forget[1], {})
                raise PlatformError(self.channel, f"{step}: Instagram reports {status}: {body.get('status') or ''}. "
                                    "What to do: make a rendition within Instagram's video limits (include/"
                                    "platforms.yaml) and publish again", retryable=status == "EXPIRED")
        raise StillProcessing(self.channel, _later(self.config.check_after), f"{item_id}: container {container_id}")

    # -- stories: one per image, no caption, each recorded in `progress` so none is posted twice --------
    def _story(self, post: PostRequest, n: int, progress: Progress) -> PublishedPost:
        """Story `n` of the item: the one already recorded, else a new one (re-using a FINISHED container)."""
        key, image = f"story-{n}", post.images[n]
        entry = progress.get(key)
        if entry.get("post"):
            return PublishedPost.from_dict(entry["post"])
        if entry.get("media"):
            return self._story_confirmed(key, entry, progress)
        container = entry.get("container")
        status = self._earlier_container(post, container, f"story {n + 1} ({image.name}) from container {container}",
                                         (progress, key) if image.kind != "image" else None)
        if status not in ("FINISHED", "IN_PROGRESS"):
            source = {"video_url": image.url} if image.kind != "image" else {"image_url": image.url}
            container = self._create(post, source | {"media_type": "STORIES"}, f"story {image.name}")
            progress.put(key, {"container": container})
        media_id = self._media_publish(post, container, deferred=image.kind != "image")
        log.info("instagram: item %s story %d published as media %s", post.item_id, n + 1, media_id)
        return self._story_confirmed(key, {"container": container, "media": media_id}, progress)

    def _story_confirmed(self, key: str, entry: dict[str, Any], progress: Progress) -> PublishedPost:
        progress.put(key, entry)                       # the media id first: it is what proves the story exists
        story = self._confirmed(entry["media"])
        progress.put(key, {**entry, "post": story.to_dict()})
        return story

    def _known_story(self, post: PostRequest, n: int, since: datetime, progress: Progress) -> PublishedPost | None:
        """Story `n` if it exists: recorded, or its recorded container was PUBLISHED and its picture is among the
        account's stories since `since`. None when it was never published (or cannot be identified yet)."""
        key = f"story-{n}"
        entry = progress.get(key)
        if entry.get("post") or entry.get("media"):
            return self._story(post, n, progress)
        container = entry.get("container")
        if not container or self._status(container, post.item_id) != "PUBLISHED":
            return None
        claimed = {step.get("media") for step in progress.steps.values() if isinstance(step, dict)}
        media_id = self._story_by_picture(post, post.images[n], since, claimed)
        return None if media_id is None else self._story_confirmed(key, {**entry, "media": media_id}, progress)

    def _story_by_picture(self, post: PostRequest, image: MediaRef, since: datetime,
                          claimed: set[str | None]) -> str | None:
        """The oldest unclaimed story since `since` whose picture looks like `image` (difference hash); for a
        video, its first frame against the story's thumbnail_url (IG Media reference: a VIDEO's thumbnail)."""
        video = image.kind != "image"
        wanted = first_frame_hash(image) if video else picture_hash(image.data)
        cutoff = _whole_second(since)
        if wanted is None:
            return None
        path = self._path(self.config.account_id, "stories")
        rows = self._edge(path, {"fields": "id,media_type,media_url,thumbnail_url,timestamp", "limit": 50},
                          f"{post.item_id}: listing stories")
        recent = [r for r in rows if r["id"] not in claimed and parse_time(r[self.time_field]) >= cutoff
                  and (r.get("media_type") == "VIDEO") == video]
        for row in sorted(recent, key=lambda r: parse_time(r[self.time_field])):
            seen = picture_hash(self._download(row.get("thumbnail_url" if video else "media_url") or ""))
            if seen is not None and bin(seen ^ wanted).count("1") <= PICTURE_MATCH_BITS:
                return str(row["id"])
        return None

    def _status(self, container_id: str, item_id: str) -> str | None:
        """A container's status_code: IN_PROGRESS, FINISHED, PUBLISHED, ERROR or EXPIRED."""
        body = self._call("GET", self._path(container_id), f"{item_id}: checking container {container_id}",
                          params={"fields": "status_code"})
        return body.get("status_code")

    def _create(self, post: PostRequest, data: dict[str, str], what: str) -> str:
        step = f"{post.item_id}: creating the media container for {what}"
        return str(self._call("POST", self._path(self.config.account_id, "media"), step, data=data)["id"])

    def _wait_until_finished(self, container_id: str, item_id: str) -> None:
        """Poll status_code until FINISHED; ERROR/EXPIRED or a minute of IN_PROGRESS raise PlatformError."""
        step = f"{item_id}: checking container {container_id}"
        for delay in self.POLL_DELAYS:
            time.sleep(delay)
            status = self._status(container_id, item_id)
            if status == "FINISHED":
                return
            if status in ("ERROR", "EXPIRED"):
                raise PlatformError(self.channel, f"{step}: Instagram reports {status}; check the image and publish "
                                    "again", retryable=status == "EXPIRED")
        raise PlatformError(self.channel, f"{step}: still not FINISHED after {sum(self.POLL_DELAYS):g} s; retry later",
                            retryable=True)

    def remaining_quota(self) -> int | None:
        """Posts still allowed in Instagram's rolling 24-hour publishing window."""
        free = self._quota_read().get("free")
        return None if free is None else max(free, 0)

    def quota_until(self, rank: int = 0) -> datetime | None:
        """None when the rolling publishing limit takes a post from the item `rank` places down the line of
        items waiting for it (0: the first); else when it will: as each post in the window turns 24 hours
        old, one more post is allowed."""
        return self._quota_read(rank).get("until")

    def _quota_read(self, rank: int = 0) -> dict[str, Any]:
        """``free``: posts still allowed now (None if Instagram does not say); ``until``: see `quota_until`."""
        body = self._call("GET", self._path(self.config.account_id, "content_publishing_limit"),
                          "reading the publishing limit", params={"fields": "quota_usage,config"})
        row = (body.get("data") or [{}])[0]
        config = row.get("config") or {}
        if config.get("quota_total") is None:
            return {"free": None, "until": None}
        free = int(config["quota_total"]) - int(row.get("quota_usage", 0))
        if rank < free:
            return {"free": free, "until": None}
        window = timedelta(seconds=int(config.get("quota_duration") or 86400))
        frees = sorted(moment + window for moment in self._posted_within(window))
        if not frees:     # the posts that count are not listed (made by another app): look again later
            return {"free": free, "until": datetime.now(timezone.utc) + DEFAULT_LIMIT_WAIT}
        cycles, place = divmod(rank - free, len(frees))
        return {"free": free, "until": frees[place] + cycles * window + timedelta(seconds=1)}

    def _posted_within(self, window: timedelta) -> list[datetime]:
        """When each of the account's posts and stories of the last `window` was made."""
        since = datetime.now(timezone.utc) - window
        account = self.config.account_id
        rows = [*self._edge(self._path(account, "media"), {"fields": "timestamp", "since": int(since.timestamp()),
                                                            "limit": 50}, "listing posts for the publishing limit"),
                *self._edge(self._path(account, "stories"), {"fields": "timestamp", "limit": 50},
                            "listing stories for the publishing limit")]
        return [moment for moment in (parse_time(row[self.time_field]) for row in rows) if moment >= since]


class FacebookClient(_GraphClient):
    """Facebook Page: one image as a photo post; several as unpublished photos attached to a feed post."""

    channel = "facebook"
    list_edge, text_field, link_field, time_field = "feed", "message", "permalink_url", "created_time"

    def publish(self, post: PostRequest, progress: Progress | None = None) -> PublishedPost:
        """Publish the images (or the text alone, or one video) on the Page; return the post with its permalink."""
        if _moving(post) and placement_of(self.channel, post) == "reels":
            return self._reel_post(post, progress or Progress())
        if _moving(post):
            return self._video_post(post, progress or Progress())
        if len(post.images) == 1:
            return self._single_photo(post)
        photo_ids = [self._unpublished_photo(post, image) for image in post.images]
        data = {"message": self.text_of(post)}
        data |= {f"attached_media[{n}]": json.dumps({"media_fbid": pid}) for n, pid in enumerate(photo_ids)}
        body = self._call("POST", self._path(self.config.account_id, "feed"), f"{post.item_id}: creating the post",
                          commits=True, data=data)
        return self._confirmed(_committed_id(self.channel, body, "id"))

    def shown_pictures(self, post: PublishedPost, request: PostRequest, progress: Progress) -> list[bytes]:
        """What the post shows, one picture per media: a video's `picture` (Graph reference, Video), else the
        pictures of the post's attachments (Page Post > attachments: media.image.src, a video's thumbnail there;
        an album's subattachments).
        Facebook re-encodes and resizes: compare by picture, not bytes."""
        step = f"{request.item_id}: reading what post {post.remote_id} shows"
        if "_" not in post.remote_id:    # a video's own id (a Page post's is {page-id}_{post-id})
            node = self._call("GET", self._path(post.remote_id), step, params={"fields": "picture"})
            return [self._download(node.get("picture") or "")]
        node = self._call("GET", self._path(post.remote_id), step, params={"fields": "attachments"})
        shown = [sub for a in (node.get("attachments") or {}).get("data") or []
                 for sub in ((a.get("subattachments") or {}).get("data") or [a])]
        return [self._download(((s.get("media") or {}).get("image") or {}).get("src") or "") for s in shown]

    def _single_photo(self, post: PostRequest) -> PublishedPost:
        image = post.images[0]
        body = self._call("POST", self._path(self.config.account_id, "photos"),
                          f"{post.item_id}: publishing photo {image.name}", commits=True,
                          data={"caption": self.text_of(post), "published": "true"},
                          files={"source": (image.name, image.data, image.content_type)})
        return self._confirmed(_committed_id(self.channel, body, "post_id"))

    def _unpublished_photo(self, post: PostRequest, image: MediaRef) -> str:
        body = self._call("POST", self._path(self.config.account_id, "photos"),
                          f"{post.item_id}: uploading photo {image.name}", data={"published": "false"},
                          files={"source": (image.name, image.data, image.content_type)})
        return str(body["id"])

    def remaining_quota(self) -> int | None:
        """Facebook Pages have no published-post quota to read; always None."""
        return None

    # -- Page video: the resumable upload protocol ----------------------------------------------------------
    # Meta, "Uploading Videos with the Graph API" (developers.facebook.com/docs/graph-api/video-uploads) and the
    # Video API publishing guide: POST /{page-id}/videos upload_phase=start (file_size) -> upload_session_id,
    # video_id, start_offset, end_offset; upload_phase=transfer (upload_session_id, start_offset,
    # video_file_chunk) -> the next offsets; upload_phase=finish (upload_session_id, description); then
    # GET /{video-id}?fields=status (video_status, uploading_phase.bytes_transferred) until ready.
    def _video_post(self, post: PostRequest, progress: Progress) -> PublishedPost:
        """One video on the Page: resume the recorded session at the platform's offset (or start a new one if it
        expired), send the rest in the chunks the platform asks for, finish, and wait (deferred) until processed."""
        media = self._only_video(post)
        entry = self._resumed(post, progress.get("video"))
        if not entry.get("finished"):
            if not entry:
                entry = self._video_start(post, media)
                progress.put("video", entry)
            self._video_transfer(post, media, entry, progress)
            self._call("POST", self._path(self.config.account_id, "videos"),
                       f"{post.item_id}: finishing the upload of {media.name}", commits=True,
                       data={"upload_phase": "finish", "upload_session_id": entry["session"],
                             "description": self.text_of(post)})
            entry["finished"] = True
            progress.put("video", entry)
        return self._video_ready(post, entry["video_id"], progress, "video")

    # -- Reels: Meta, Video API > "Reels Publishing API": POST /{page-id}/video_reels upload_phase=start -> video_id,
    # upload_url; POST {upload_url} (rupload.facebook.com) with headers offset and file_size, the bytes as the body;
    # POST /{page-id}/video_reels upload_phase=finish, video_id, video_state=PUBLISHED, description.
    def _reel_post(self, post: PostRequest, progress: Progress) -> PublishedPost:
        """One reel on the Page: resume at the platform's offset (a new upload if it expired), finish, wait."""
        media = self._only_video(post)
        entry = self._resumed(post, progress.get("reel"))
        if not entry.get("finished"):
            if not entry:
                body = self._call("POST", self._path(self.config.account_id, "video_reels"),
                                  f"{post.item_id}: starting the upload of reel {media.name}",
                                  data={"upload_phase": "start"})
                entry = {"video_id": str(body["video_id"]), "upload_url": self._upload_url(body), "offset": 0}
                progress.put("reel", entry)
            if entry["offset"] < media_size(media):
                self._reel_upload(post, media, entry)
                entry["offset"] = media_size(media)
                progress.put("reel", entry)
            self._call("POST", self._path(self.config.account_id, "video_reels"),
                       f"{post.item_id}: publishing reel {media.name}", commits=True,
                       data={"upload_phase": "finish", "video_id": entry["video_id"], "video_state": "PUBLISHED",
                             "description": self.text_of(post)})
            entry["finished"] = True
            progress.put("reel", entry)
        return self._video_ready(post, entry["video_id"], progress, "reel")

    def _upload_url(self, body: dict[str, Any]) -> str:
        """The rupload address the platform gave; the token goes only to Facebook's hosts or our configured one."""
        url = str(body.get("upload_url") or "")
        host = urlsplit(url).hostname or ""
        if host != urlsplit(self.config.base_url).hostname and not host.endswith(".facebook.com"):
            raise PlatformError(self.channel, f"the reel's upload address is on {host or 'no host'}, not Facebook; "
                                "nothing was sent there. Check base_url in this channel's Airflow connection",
                                retryable=False)
        return url

    def _reel_upload(self, post: PostRequest, media: MediaRef, entry: dict[str, Any]) -> None:
        """The rest of the file from the platform's offset, streamed from disk in one request."""
        size, offset = media_size(media), int(entry["offset"])
        headers = {"Authorization": f"OAuth {self.config.access_token}", "User-Agent": USER_AGENT,
                   "offset": str(offset), "file_size": str(size)}
        step = f"{post.item_id}: uploading reel {media.name} from byte {offset}"
        path = media_file(media)
        source = open(path, "rb") if path else io.BytesIO(media.data)
        with source:
            source.seek(offset)
            try:
                response = self.session.post(entry["upload_url"], data=source, headers=headers,
                                             timeout=self.config.timeout)
            except requests.RequestException as exc:
                raise self._transport_error(exc, step, False) from exc
        if response.status_code >= 400:
            raise self._failed(response, step, False)

    def _only_video(self, post: PostRequest) -> MediaRef:
        if len(post.images) != 1:
            raise PlatformError(self.channel, f"{post.item_id}: a Facebook video or reel carries one video and "
                                "nothing else; publish the other media in another item", retryable=False)
        return post.images[0]

    def _resumed(self, post: PostRequest, entry: dict[str, Any]) -> dict[str, Any]:
        """The recorded upload as the platform sees it now: its offset, whether it was finished; {} if expired."""
        if not entry.get("video_id"):
            return {}
        try:
            status = self._video_status(post, entry["video_id"])
        except PlatformError as exc:
            if entry.get("finished") or exc.retryable:
                raise
            log.info("facebook: item %s: video %s is unknown to Facebook now (%s); starting a new upload",
                     post.item_id, entry["video_id"], exc)
            return {}
        phase = status.get("video_status")
        if phase == "expired" and not entry.get("finished"):
            log.info("facebook: item %s: upload session of video %s expired; starting a new one", post.item_id,
                     entry["video_id"])
            return {}
        uploaded = (status.get("uploading_phase") or {})
        finished = entry.get("finished") or phase in ("processing", "ready", "error")
        return {**entry, "offset": int(uploaded.get("bytes_transferred") or entry.get("offset") or 0),
                "finished": bool(finished)}

    def _video_status(self, post: PostRequest, video_id: str) -> dict[str, Any]:
        body = self._call("GET", self._path(video_id), f"{post.item_id}: reading the status of video {video_id}",
                          params={"fields": "status,permalink_url,created_time"})
        return dict(body.get("status") or {})

    def _video_start(self, post: PostRequest, media: MediaRef) -> dict[str, Any]:
        body = self._call("POST", self._path(self.config.account_id, "videos"),
                          f"{post.item_id}: starting the upload of {media.name}",
                          data={"upload_phase": "start", "file_size": str(media_size(media))})
        start, end = int(body["start_offset"]), int(body["end_offset"])
        return {"video_id": str(body["video_id"]), "session": str(body["upload_session_id"]), "offset": start,
                "chunk": end - start}

    def _video_transfer(self, post: PostRequest, media: MediaRef, entry: dict[str, Any], progress: Progress) -> None:
        """Send chunks from the platform's offset until it has the whole file; each confirmed offset is recorded."""
        size = media_size(media)
        while entry["offset"] < size:
            start = entry["offset"]
            chunk = media_chunk(media, start, entry["chunk"])
            body = self._call("POST", self._path(self.config.account_id, "videos"),
                              f"{post.item_id}: uploading {media.name} from byte {start}",
                              data={"upload_phase": "transfer", "upload_session_id": entry["session"],
                                    "start_offset": str(start)},
                              files={"video_file_chunk": (media.name, chunk, "application/octet-stream")})
            entry["offset"], end = int(body["start_offset"]), int(body["end_offset"])
            if end > entry["offset"]:        # the platform names the next chunk; at the end both are the size
                entry["chunk"] = end - entry["offset"]
            progress.put("video", entry)

    def _video_ready(self, post: PostRequest, video_id: str, progress: Progress, key: str) -> PublishedPost:
        """The video's post once Facebook has processed it; StillProcessing before, PlatformError if it failed."""
        for delay in VIDEO_POLL_DELAYS:
            time.sleep(delay)
            body = self._call("GET", self._path(video_id), f"{post.item_id}: reading the status of video {video_id}",
                              params={"fields": "status,permalink_url,created_time"})
            status = body.get("status") or {}
            if status.get("video_status") == "ready" and body.get("permalink_url"):
                link = body["permalink_url"]
                link = link if link.startswith("http") else f"https://www.facebook.com{link}"
                return PublishedPost(self.channel, video_id, link, _iso(parse_time(body["created_time"])))
            if status.get("video_status") == "error":
                errors = (status.get("processing_phase") or {}).get("errors") or []
                why = "; ".join(str(e.get("message")) for e in errors) or "no reason given"
                progress.put(key, {})         # a new rendition starts a new upload
                raise PlatformError(self.channel, f"{post.item_id}: Facebook could not process video {video_id}: "
                                    f"{why}. What to do: make a rendition within the Page video limits "
                                    "(include/platforms.yaml) and publish again", retryable=False)
        raise StillProcessing(self.channel, _later(self.config.check_after), f"{post.item_id}: video {video_id}")


# -- X API v2 ----------------------------------------------------------------------------------------
def _x_problem(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason or "no message"
    listed = [e.get("message") or e.get("detail") or "" for e in body.get("errors", [])]
    messages = [m.rstrip(". ") for m in listed if m] or [body.get("detail") or body.get("title") or ""]
    return "; ".join(m for m in messages if m) or "no message"


def _reset_time(response: requests.Response) -> str:
    reset = response.headers.get("x-rate-limit-reset", "")
    if not reset.isdigit():
        return "later"
    return "after " + datetime.fromtimestamp(int(reset), timezone.utc).strftime("%H:%M:%S UTC")


def _snowflake_time(tweet_id: str) -> str:
    """When an X id was made (ids are snowflakes); now if the id is not one."""
    millis = (int(tweet_id) >> 22) + X_EPOCH_MS if tweet_id.isdigit() else 0
    if abs(millis / 1000 - time.time()) > 86400 * 365 * 20:
        return _iso(datetime.now(timezone.utc))
    return _iso(datetime.fromtimestamp(millis / 1000, timezone.utc))


class XClient(_ApiClient):
    """X: upload each image (POST /2/media/upload), then create the post (POST /2/tweets)."""

    channel = "x"

    def __init__(self, config: ClientConfig, session: requests.Session | None = None) -> None:
        super().__init__(config, session)
        self._username: str | None = None

    def _refused(self, response: requests.Response, step: str) -> PlatformError:
        status, problem = response.status_code, _x_problem(response)
        if status == 401:
            return self._error(step, status, problem, ADVICE_AUTH, False)
        if status == 429:
            return self._limit(step, response, f"{problem}; rate limit reached, X allows more {_reset_time(response)}")
        if status >= 500:
            return self._error(step, status, problem, ADVICE_TRANSIENT, True)
        if "duplicate" in problem.lower():
            return self._error(step, status, problem, "this text is already on the account: look for the existing "
                               "post (find_existing) instead of posting again", False)
        return self._error(step, status, problem, "correct the text or images named above (limits in "
                           "include/platforms.yaml) and publish again", False)

    def publish(self, post: PostRequest, progress: Progress | None = None) -> PublishedPost:
        """Upload the images, create the post; return it with its permalink."""
        username = self._account_username(post.item_id)
        text = self.text_of(post)
        media_ids = [self._upload(post, image, progress, n) for n, image in enumerate(post.images)]
        body: dict[str, Any] = {"text": text}
        if media_ids:
            body["media"] = {"media_ids": media_ids}
        answer = self._call("POST", "/2/tweets", f"{post.item_id}: creating the post", commits=True, json=body)
        tweet_id = _committed_id(self.channel, answer.get("data") or {}, "id")
        log.info("x: item %s published as post %s", post.item_id, tweet_id)
        return PublishedPost(self.channel, tweet_id, f"https://x.com/{username}/status/{tweet_id}",
                             _snowflake_time(tweet_id))

    def shown_pictures(self, post: PublishedPost, request: PostRequest, progress: Progress) -> list[bytes]:
        """What the post shows, one picture per media (X API v2 post lookup with expansions=attachments.media_keys:
        a photo's url, a video's or GIF's preview_image_url). X re-encodes: compare by picture, not bytes."""
        step = f"{request.item_id}: reading what post {post.remote_id} shows"
        body = self._call("GET", f"/2/tweets/{post.remote_id}", step, params={
            "expansions": "attachments.media_keys", "media.fields": "type,url,preview_image_url"})
        keys = ((self._data(body, step).get("attachments") or {}).get("media_keys")) or []
        media = {m.get("media_key"): m for m in (body.get("includes") or {}).get("media", [])}
        return [self._download(media.get(k, {}).get("url") or media.get(k, {}).get("preview_image_url") or "")
                for k in keys]

    def _upload(self, post: PostRequest, image: MediaRef, progress: Progress | None = None, n: int = 0) -> str:
        if image.kind in ("video", "gif"):
            return self._chunked(post, image, progress or Progress(), f"media-{n}")
        body = self._call("POST", "/2/media/upload", f"{post.item_id}: uploading image {image.name}",
                          data={"media_category": "tweet_image"},
                          files={"media": (image.name, image.data, image.content_type)})
        return str(self._data(body, "uploading image")["id"])

    # -- video and GIF: the chunked media upload -----------------------------------------------------------
    # docs.x.com, "Media upload chunked" quickstart (INIT, APPEND, FINALIZE, STATUS) with the dedicated v2
    # endpoints of the X samples' media_upload_v2.py (2025): POST /2/media/upload/initialize (JSON media_type,
    # total_bytes, media_category), POST /2/media/upload/{id}/append (multipart media, segment_index),
    # POST /2/media/upload/{id}/finalize, GET /2/media/upload?command=STATUS&media_id={id}; processing_info.state
    # pending/in_progress (check_after_secs), succeeded or failed. media_category tweet_video, or tweet_gif for an
    # animated GIF posted as GIF.
    chunk_bytes = 4 * 1024 * 1024     # an APPEND segment (X takes up to 5 MB); read from the file one at a time

    def _chunked(self, post: PostRequest, media: MediaRef, progress: Progress, key: str) -> str:
        """The media id of `media`, uploaded in segments (resuming after the last one X confirmed) and processed;
        StillProcessing while X processes it. An upload X has forgotten (expired) starts again."""
        entry = progress.get(key)
        if entry.get("ready"):
            return str(entry["id"])
        try:
            return self._chunked_from(post, media, progress, key, entry)
        except PlatformError as exc:
            if not entry.get("id") or exc.status != 400 or "expired" not in str(exc).lower():
                raise
            log.info("x: item %s: media %s expired; uploading again", post.item_id, entry["id"])
            return self._chunked_from(post, media, progress, key, {})

    def _chunked_from(self, post: PostRequest, media: MediaRef, progress: Progress, key: str,
                      entry: dict[str, Any]) -> str:
        gif = media.kind == "gif"
        size = 0 if entry.get("finalized") else media_size(media)   # all sent: the file is not needed
        if not entry.get("id"):
            body = self._call("POST", "/2/media/upload/initialize", f"{post.item_id}: starting the upload of "
                              f"{media.name}", json={"media_type": "image/gif" if gif else "video/mp4",
                                                     "total_bytes": size,
                                                     "media_category": "tweet_gif" if gif else "tweet_video"})
            entry = {"id": str(self._data(body, "starting the upload")["id"]), "segments": 0}
            progress.put(key, entry)
        media_id, step = entry["id"], f"{post.item_id}: uploading {media.name}"
        while not entry.get("finalized") and entry["segments"] * self.chunk_bytes < size:
            index = entry["segments"]
            self._call("POST", f"/2/media/upload/{media_id}/append", f"{step} (segment {index})", empty_ok=True,
                       data={"segment_index": str(index)},
                       files={"media": (media.name, media_chunk(media, index * self.chunk_bytes, self.chunk_bytes),
                                        "application/octet-stream")})
            entry["segments"] = index + 1
            progress.put(key, entry)
        if not entry.get("finalized"):
            body = self._call("POST", f"/2/media/upload/{media_id}/finalize", f"{step} (finalize)")
            entry["finalized"] = True
            progress.put(key, entry)
            info = self._data(body, f"{step} (finalize)").get("processing_info")
        else:
            info = {"state": "pending", "check_after_secs": 0}
        self._processed(post, media, progress, key, entry, info)
        return media_id

    def _processed(self, post: PostRequest, media: MediaRef, progress: Progress, key: str, entry: dict[str, Any],
                   info: dict[str, Any] | None) -> None:
        """Return once X says the media succeeded; StillProcessing while it works; PlatformError if it failed."""
        step = f"{post.item_id}: processing {media.name}"
        for delay in (*VIDEO_POLL_DELAYS, None):
            if not info or info.get("state") == "succeeded":
                progress.put(key, {**entry, "ready": True})
                return
            if info.get("state") == "failed":
                progress.put(key, {})         # a new rendition starts a new upload
                error = info.get("error") or {}
                raise self._error(step, 400, str(error.get("message") or error.get("name") or "failed"),
                                  "make a rendition within X's video limits (include/platforms.yaml) and publish "
                                  "again", False)
            if delay is None:
                break
            time.sleep(delay)
            body = self._call("GET", "/2/media/upload", step, params={"command": "STATUS", "media_id": entry["id"]})
            info = self._data(body, step).get("processing_info")
        wait = float((info or {}).get("check_after_secs") or self.config.check_after)
        raise StillProcessing(self.channel, _later(wait), f"{post.item_id}: media {entry['id']}")

    def _data(self, body: dict[str, Any], step: str) -> dict[str, Any]:
        if isinstance(body.get("data"), dict):
            return body["data"]
        problem = "; ".join(e.get("detail", "") for e in body.get("errors", [])) or "no data in the answer"
        raise self._error(step, 200, problem, "check account_id in this channel's Airflow connection", False)

    def _account_username(self, item_id: str) -> str:
        """The account's @name, for permalinks (read once, before anything is posted)."""
        if self._username is None:
            step = f"{item_id}: reading X account {self.config.account_id}"
            self._username = str(self._data(self._call("GET", f"/2/users/{self.config.account_id}", step),
                                            step)["username"])
        return self._username

    def find_existing(self, post: PostRequest, since: datetime,
                      progress: Progress | None = None) -> PublishedPost | None:
        """The account's post carrying this item's reference, created at or after `since`, else None."""
        for row in self._timeline(post.item_id, since):
            if carries_reference(row.get("text", ""), post.item_id):
                return PublishedPost(self.channel, row["id"],
                                     f"https://x.com/{self._account_username(post.item_id)}/status/{row['id']}",
                                     _iso(parse_time(row["created_at"])))
        return None

    def _timeline(self, item_id: str, since: datetime) -> Iterator[dict[str, Any]]:
        start = _whole_second(since).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        params = {"max_results": 100, "tweet.fields": "created_at", "start_time": start}
        path = f"/2/users/{self.config.account_id}/tweets"
        for _ in range(MAX_PAGES):
            body = self._call("GET", path, f"{item_id}: listing posts", params=params)
            if "meta" not in body:
                self._data(body, f"{item_id}: listing posts")
            yield from body.get("data", [])
            token = body.get("meta", {}).get("next_token")
            if not token:
                return
            params["pagination_token"] = token

    def remaining_quota(self) -> int | None:
        """X publishes no per-account post quota to read here; always None."""
        return None


PICTURE_MATCH_BITS = 6   # of the 64 bits of a difference hash: a re-encoded copy differs by a few at most


def picture_hash(data: bytes) -> int | None:
    """The picture's 64-bit difference hash (as the asset checks compute it), or None if it is no image (or one
    too large to decode safely: what a platform serves is read here too)."""
    from PIL import Image, UnidentifiedImageError

    from humas.assets.checks import dhash
    try:
        with Image.open(io.BytesIO(data)) as picture:
            return dhash(picture)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


def first_frame_hash(media: MediaRef) -> int | None:
    """The difference hash of a video's first frame (decoded with PyAV from its file, else its bytes), or None."""
    path = media_file(media)
    if not path and not media.data:
        return None
    import av
    from humas.assets.checks import dhash
    try:
        with av.open(path or io.BytesIO(media.data)) as box:
            frame = next(box.decode(video=0))
            return dhash(frame.to_image())
    except (av.FFmpegError, StopIteration, OSError):
        return None


def _series(posts: list[PublishedPost]) -> PublishedPost:
    """Several posts of one item (stories) as one result: the first, with every permalink in `parts`."""
    if len(posts) == 1:
        return posts[0]
    return PublishedPost(posts[0].channel, posts[0].remote_id, posts[0].permalink, posts[0].published_at,
                         tuple(p.permalink for p in posts))


def _committed_id(channel: str, body: dict[str, Any], key: str) -> str:
    """The id of a post the platform just created; without it, we cannot know whether the post exists."""
    value = body.get(key)
    if not value:
        raise PublishUncertainError(f"{channel}: the platform accepted the post but its answer has no {key!r}; "
                                    "look for the post before sending it again")
    return str(value)


CLIENTS: dict[str, type[InstagramClient] | type[FacebookClient] | type[XClient]] = {
    "instagram": InstagramClient, "facebook": FacebookClient, "x": XClient,
}


def make_client(channel: str, config: ClientConfig, session: requests.Session | None = None) -> PlatformClient:
    """The API client for `channel` (instagram, facebook, x)."""
    try:
        return CLIENTS[channel](config, session)
    except KeyError:
        raise HumasError(f"unknown channel {channel!r}: expected one of {', '.join(CLIENTS)}; "
                         "fix the item's channels or the platform profile") from None
