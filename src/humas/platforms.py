"""Clients for the platforms' publishing APIs: Instagram Graph API, Facebook Page API, X API v2.

Plain ``requests`` code, no Airflow. Each client speaks to ``ClientConfig.base_url`` exactly as it would to the
real host (https://graph.facebook.com, https://api.x.com) or to the local sandbox (``humas.sandbox``).

Failure contract, relied on by ``humas.publish``:

- the platform refused: ``PlatformError`` with ``retryable`` True for rate limits and 5xx, False for content
  or configuration problems; the message names the channel, the step, the API's own words and what to do;
- no answer (timeout, dropped connection) or a 5xx on the request that creates the post (``media_publish``,
  ``/photos`` or ``/feed``, ``/2/tweets``): ``PublishUncertainError`` -- the post may exist, ask
  ``find_existing`` before sending it again; on a preparatory request: ``PlatformError(retryable=True)``.
  A connection that was never opened (refused, connect timeout) cannot have published: ``PlatformError``.

The access token travels only in the ``Authorization`` header and never appears in a message or log line.
"""
from __future__ import annotations

import html
import json
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from humas.exceptions import HumasError, PlatformError, PublishUncertainError

log = logging.getLogger(__name__)

USER_AGENT = "humas-uploader/0.1"
MAX_PAGES = 10                      # pages read when looking for an existing post
X_EPOCH_MS = 1288834974657          # X ids are snowflakes: (milliseconds since this epoch) << 22


@dataclass(frozen=True)
class ImageRef:
    """One rendition to publish."""

    name: str
    url: str               # publicly reachable (presigned) URL, used where the API takes a URL (Instagram)
    data: bytes            # the JPEG/PNG bytes, used where the API takes an upload (X, Facebook multipart)
    content_type: str = "image/jpeg"


@dataclass(frozen=True)
class PostRequest:
    item_id: str
    caption: str
    images: tuple[ImageRef, ...]


@dataclass(frozen=True)
class PublishedPost:
    channel: str
    remote_id: str
    permalink: str
    published_at: str      # ISO 8601 UTC


@dataclass(frozen=True)
class ClientConfig:
    base_url: str          # e.g. https://graph.facebook.com, https://api.x.com, or the sandbox http://127.0.0.1:8090
    access_token: str
    account_id: str        # ig-user-id / page-id / x user id
    api_version: str = "v21.0"   # Graph only
    timeout: float = 30.0

    def __repr__(self) -> str:   # keep the token out of logs and tracebacks
        return (f"ClientConfig(base_url={self.base_url!r}, access_token='***', account_id={self.account_id!r}, "
                f"api_version={self.api_version!r}, timeout={self.timeout!r})")


class PlatformClient(Protocol):
    channel: str

    def publish(self, post: PostRequest) -> PublishedPost: ...

    def find_existing(self, post: PostRequest, since: datetime) -> PublishedPost | None: ...

    def remaining_quota(self) -> int | None: ...


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


class _ApiClient:
    """HTTP plumbing shared by the clients: auth header, timeout, failure mapping."""

    channel = ""

    def __init__(self, config: ClientConfig, session: requests.Session | None = None) -> None:
        self.config = config
        self.session = session or requests.Session()

    def _call(self, method: str, path: str, step: str, *, commits: bool = False, **kwargs: Any) -> dict[str, Any]:
        """Send one request and return its JSON body; raise PlatformError / PublishUncertainError on failure."""
        headers = {"Authorization": f"Bearer {self.config.access_token}", "User-Agent": USER_AGENT}
        try:
            response = self.session.request(method, self.config.base_url.rstrip("/") + path, headers=headers,
                                            timeout=self.config.timeout, **kwargs)
        except requests.RequestException as exc:
            raise self._transport_error(exc, step, commits) from exc
        if response.status_code >= 400:
            raise self._failed(response, step, commits)
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
        detail = error.get("message") or response.reason or "no message"
        if error.get("error_user_msg"):
            detail += f" ({error['error_user_msg']})"
        ident = f"code {error.get('code')}" + (f"/{error['error_subcode']}" if error.get("error_subcode") else "")
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

    def find_existing(self, post: PostRequest, since: datetime) -> PublishedPost | None:
        """The account's newest post with exactly this caption created at or after `since`, else None."""
        cutoff = _whole_second(since)
        fields = f"id,{self.text_field},{self.time_field},{self.link_field}"
        params = {"fields": fields, "since": int(cutoff.timestamp()), "limit": 50}
        path = self._path(self.config.account_id, self.list_edge)
        for row in self._edge(path, params, f"{post.item_id}: listing posts"):
            if parse_time(row[self.time_field]) < cutoff:
                return None
            if (row.get(self.text_field) or "").strip() == post.caption.strip():
                return self._post(row["id"], row)
        return None


class InstagramClient(_GraphClient):
    """Instagram Content Publishing: container(s), wait until FINISHED, media_publish, permalink."""

    channel = "instagram"
    POLL_DELAYS: tuple[float, ...] = (0.0, 0.5, 1, 2, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5)   # about a minute

    def publish(self, post: PostRequest) -> PublishedPost:
        """Publish one image or a carousel; return the post with its permalink."""
        container_id = self._container(post)
        self._wait_until_finished(container_id, post.item_id)
        body = self._call("POST", self._path(self.config.account_id, "media_publish"),
                          f"{post.item_id}: publishing container {container_id}", commits=True,
                          data={"creation_id": container_id})
        media_id = _committed_id(self.channel, body, "id")
        log.info("instagram: item %s published as media %s", post.item_id, media_id)
        return self._confirmed(media_id)

    def _container(self, post: PostRequest) -> str:
        if not post.images:
            raise PlatformError(self.channel, f"{post.item_id}: Instagram needs at least one image; add one",
                                retryable=False)
        if len(post.images) == 1:
            return self._create(post, {"image_url": post.images[0].url, "caption": post.caption}, post.images[0].name)
        children = [self._create(post, {"image_url": image.url, "is_carousel_item": "true"}, image.name)
                    for image in post.images]
        return self._create(post, {"media_type": "CAROUSEL", "children": ",".join(children),
                                   "caption": post.caption}, "the carousel")

    def _create(self, post: PostRequest, data: dict[str, str], what: str) -> str:
        step = f"{post.item_id}: creating the media container for {what}"
        return str(self._call("POST", self._path(self.config.account_id, "media"), step, data=data)["id"])

    def _wait_until_finished(self, container_id: str, item_id: str) -> None:
        """Poll status_code until FINISHED; ERROR/EXPIRED or a minute of IN_PROGRESS raise PlatformError."""
        step = f"{item_id}: checking container {container_id}"
        for delay in self.POLL_DELAYS:
            time.sleep(delay)
            status = self._call("GET", self._path(container_id), step, params={"fields": "status_code"}).get(
                "status_code")
            if status == "FINISHED":
                return
            if status in ("ERROR", "EXPIRED"):
                raise PlatformError(self.channel, f"{step}: Instagram reports {status}; check the image and publish "
                                    "again", retryable=status == "EXPIRED")
        raise PlatformError(self.channel, f"{step}: still not FINISHED after {sum(self.POLL_DELAYS):g} s; retry later",
                            retryable=True)

    def remaining_quota(self) -> int | None:
        """Posts still allowed in Instagram's rolling 24-hour publishing window."""
        body = self._call("GET", self._path(self.config.account_id, "content_publishing_limit"),
                          "reading the publishing limit", params={"fields": "quota_usage,config"})
        row = (body.get("data") or [{}])[0]
        total = (row.get("config") or {}).get("quota_total")
        return None if total is None else max(int(total) - int(row.get("quota_usage", 0)), 0)


class FacebookClient(_GraphClient):
    """Facebook Page: one image as a photo post; several as unpublished photos attached to a feed post."""

    channel = "facebook"
    list_edge, text_field, link_field, time_field = "feed", "message", "permalink_url", "created_time"

    def publish(self, post: PostRequest) -> PublishedPost:
        """Publish the images (or the text alone) on the Page; return the post with its permalink."""
        if len(post.images) == 1:
            return self._single_photo(post)
        photo_ids = [self._unpublished_photo(post, image) for image in post.images]
        data = {"message": post.caption}
        data |= {f"attached_media[{n}]": json.dumps({"media_fbid": pid}) for n, pid in enumerate(photo_ids)}
        body = self._call("POST", self._path(self.config.account_id, "feed"), f"{post.item_id}: creating the post",
                          commits=True, data=data)
        return self._confirmed(_committed_id(self.channel, body, "id"))

    def _single_photo(self, post: PostRequest) -> PublishedPost:
        image = post.images[0]
        body = self._call("POST", self._path(self.config.account_id, "photos"),
                          f"{post.item_id}: publishing photo {image.name}", commits=True,
                          data={"caption": post.caption, "published": "true"},
                          files={"source": (image.name, image.data, image.content_type)})
        return self._confirmed(_committed_id(self.channel, body, "post_id"))

    def _unpublished_photo(self, post: PostRequest, image: ImageRef) -> str:
        body = self._call("POST", self._path(self.config.account_id, "photos"),
                          f"{post.item_id}: uploading photo {image.name}", data={"published": "false"},
                          files={"source": (image.name, image.data, image.content_type)})
        return str(body["id"])

    def remaining_quota(self) -> int | None:
        """Facebook Pages have no published-post quota to read; always None."""
        return None


# -- X API v2 ----------------------------------------------------------------------------------------
URL_PATTERN = re.compile(r"https?://\S+")


def same_x_text(shown: str, sent: str) -> bool:
    """Whether X's stored text is the text we sent: X rewrites URLs to t.co links and escapes &, <, >."""
    def norm(text: str) -> str:
        return URL_PATTERN.sub("<url>", html.unescape(text)).strip()
    return norm(shown) == norm(sent)


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
            return self._error(step, status, problem, f"rate limit reached; X allows more {_reset_time(response)}",
                               True)
        if status >= 500:
            return self._error(step, status, problem, ADVICE_TRANSIENT, True)
        if "duplicate" in problem.lower():
            return self._error(step, status, problem, "this text is already on the account: look for the existing "
                               "post (find_existing) instead of posting again", False)
        return self._error(step, status, problem, "correct the text or images named above (limits in "
                           "include/platforms.yaml) and publish again", False)

    def publish(self, post: PostRequest) -> PublishedPost:
        """Upload the images, create the post; return it with its permalink."""
        username = self._account_username(post.item_id)
        media_ids = [self._upload(post, image) for image in post.images]
        body: dict[str, Any] = {"text": post.caption}
        if media_ids:
            body["media"] = {"media_ids": media_ids}
        answer = self._call("POST", "/2/tweets", f"{post.item_id}: creating the post", commits=True, json=body)
        tweet_id = _committed_id(self.channel, answer.get("data") or {}, "id")
        log.info("x: item %s published as post %s", post.item_id, tweet_id)
        return PublishedPost(self.channel, tweet_id, f"https://x.com/{username}/status/{tweet_id}",
                             _snowflake_time(tweet_id))

    def _upload(self, post: PostRequest, image: ImageRef) -> str:
        body = self._call("POST", "/2/media/upload", f"{post.item_id}: uploading image {image.name}",
                          data={"media_category": "tweet_image"},
                          files={"media": (image.name, image.data, image.content_type)})
        return str(self._data(body, "uploading image")["id"])

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

    def find_existing(self, post: PostRequest, since: datetime) -> PublishedPost | None:
        """The account's post with this text (URLs compared loosely) created at or after `since`, else None."""
        for row in self._timeline(post.item_id, since):
            if same_x_text(row.get("text", ""), post.caption):
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
