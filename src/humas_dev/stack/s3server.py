"""The embedded stack's S3 server: moto's server mode with IAM enforced, its control API closed, and presigned
URLs checked.

- moto's server answers ``/moto-api/...`` (reset all state, reset the count of unauthenticated requests) to
  anyone who can reach its port, which would let any staff member switch the bucket's policies off: the guard
  refuses those paths before moto sees them.
- moto 5.2.5's IAM checks only header-signed requests (a presigned URL crashes it), yet platforms fetch images
  through presigned URLs. The guard verifies a presigned GET's signature and expiry itself (SigV4 query
  authentication, with the key's secret from moto's own IAM), then hands moto the same request signed in its
  header by the same identity, so moto still decides by that identity's policy.

Started as ``python -m humas_dev.stack.s3server HOST PORT`` with ``INITIAL_NO_AUTH_ACTION_COUNT`` set (see
``humas_dev.stack.principals``).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import sys
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl

CLOSED_PREFIXES = ("/moto-api",)
QUERY_AUTH = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
              "X-Amz-Signature", "X-Amz-Security-Token", "AWSAccessKeyId", "Signature", "Expires")
# Sub-resources that SigV2 signs with the path (botocore.auth.HmacV1Auth.QSAOfInterest, the ones a GET uses).
V2_SUBRESOURCES = ("versionId", "response-content-type", "response-content-disposition", "response-cache-control",
                   "response-expires", "response-content-encoding", "response-content-language")
App = Callable[..., Iterable[bytes]]


def _refuse(start_response: Callable[..., Any], status: str, why: str) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain")])
    return [why.encode() + b"\n"]


def guarded(app: App, secret_of: Callable[[str], str | None] | None = None) -> App:
    """``app`` with moto's control API refused (403) and presigned GETs verified, then re-signed for moto."""
    lookup = secret_of or _moto_secret

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(CLOSED_PREFIXES):
            return _refuse(start_response, "403 Forbidden", "moto's control API is closed on this server")
        query = environ.get("QUERY_STRING", "")
        if "X-Amz-Signature=" in query or ("Signature=" in query and "AWSAccessKeyId=" in query):
            why = _presigned_to_header_signed(environ, lookup)
            if why:
                return _refuse(start_response, "403 Forbidden", f"presigned URL refused: {why}")
        return app(environ, start_response)
    return serve


def _raw_path_and_query(environ: dict[str, Any]) -> tuple[str, str]:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
    path, _, query = raw.partition("?")
    return path, query or environ.get("QUERY_STRING", "")


def _presigned_to_header_signed(environ: dict[str, Any], secret_of: Callable[[str], str | None]) -> str | None:
    """Check a presigned GET/HEAD; on success rewrite ``environ`` as the header-signed request; else why not."""
    path, query = _raw_path_and_query(environ)
    pairs = [pair.partition("=")[::2] for pair in query.split("&") if pair]
    params = dict(parse_qsl(query, keep_blank_values=True))
    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        return "only GET and HEAD"
    verify = _v4 if params.get("X-Amz-Algorithm") == "AWS4-HMAC-SHA256" else _v2
    try:
        key_id, secret, region = verify(environ, path, pairs, params, secret_of)
    except ValueError as exc:
        return str(exc)
    _sign_in_header(environ, path, [(k, v) for k, v in pairs if k not in QUERY_AUTH], key_id, secret, region)
    return None


def _v2(environ: dict[str, Any], path: str, pairs: list[tuple[str, str]], params: dict[str, str],
        secret_of: Callable[[str], str | None]) -> tuple[str, str, str]:
    """A SigV2 presigned URL (boto3's default for S3): the key, its secret and the region, or ValueError."""
    key_id, expires = params.get("AWSAccessKeyId", ""), params.get("Expires", "0")
    secret = secret_of(key_id)
    if secret is None:
        raise ValueError("unknown key")
    if not expires.isdigit() or datetime.now(timezone.utc).timestamp() > int(expires):
        raise ValueError("expired")
    sub = sorted((k, v) for k, v in parse_qsl("&".join(f"{k}={v}" for k, v in pairs)) if k in V2_SUBRESOURCES)
    resource = path + ("?" + "&".join(f"{k}={v}" for k, v in sub) if sub else "")
    to_sign = f"{environ['REQUEST_METHOD']}\n\n\n{expires}\n{resource}"
    expected = base64.b64encode(hmac.new(secret.encode(), to_sign.encode(), hashlib.sha1).digest()).decode()
    if not hmac.compare_digest(expected, params.get("Signature", "")):
        raise ValueError("signature does not match")
    return key_id, secret, "us-east-1"


def _v4(environ: dict[str, Any], path: str, pairs: list[tuple[str, str]], params: dict[str, str],
        secret_of: Callable[[str], str | None]) -> tuple[str, str, str]:
    """A SigV4 presigned URL: the key, its secret and the region, or ValueError."""
    key_id, _, scope = params.get("X-Amz-Credential", "").partition("/")
    secret, host = secret_of(key_id), environ.get("HTTP_HOST", "")
    if secret is None or params.get("X-Amz-SignedHeaders") != "host":
        raise ValueError("unknown key or signed headers other than host")
    stamp = datetime.strptime(params.get("X-Amz-Date", ""), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    if datetime.now(timezone.utc) > stamp + timedelta(seconds=int(params.get("X-Amz-Expires", "0"))):
        raise ValueError("expired")
    canonical_query = "&".join(f"{k}={v}" for k, v in sorted(p for p in pairs if p[0] != "X-Amz-Signature"))
    canonical = "\n".join([environ["REQUEST_METHOD"], path, canonical_query, f"host:{host}\n", "host",
                           "UNSIGNED-PAYLOAD"])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", params["X-Amz-Date"], scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    signing_key = f"AWS4{secret}".encode()
    for part in scope.split("/"):
        signing_key = hmac.new(signing_key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, params.get("X-Amz-Signature", "")):
        raise ValueError("signature does not match")
    return key_id, secret, scope.split("/")[1] if scope.count("/") >= 1 else "us-east-1"


def _sign_in_header(environ: dict[str, Any], path: str, rest: list[tuple[str, str]], key_id: str, secret: str,
                    region: str) -> None:
    """Make ``environ`` the same request, header-signed (as any S3 client sends it) by the same identity."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    query = "&".join(f"{k}={v}" for k, v in rest)
    url = f"http://{environ.get('HTTP_HOST', '')}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=environ["REQUEST_METHOD"], url=url, headers={"host": environ.get("HTTP_HOST", "")})
    S3SigV4Auth(Credentials(key_id, secret), "s3", region).add_auth(request)
    for name in ("Authorization", "X-Amz-Date", "X-Amz-Content-SHA256"):
        environ["HTTP_" + name.upper().replace("-", "_")] = request.headers[name]
    environ["QUERY_STRING"] = query
    for raw in ("RAW_URI", "REQUEST_URI"):
        if raw in environ:
            environ[raw] = path + (f"?{query}" if query else "")


def _moto_secret(key_id: str) -> str | None:
    """The secret of an IAM user's access key in this process's moto IAM backend, or None."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.access_control import CreateAccessKeyFailure, IAMUserAccessKey

    try:
        return IAMUserAccessKey(DEFAULT_ACCOUNT_ID, "aws", key_id, {})._secret_access_key
    except CreateAccessKeyFailure:
        return None


def main(argv: list[str] | None = None) -> None:
    """Serve moto's S3 and IAM on ``HOST PORT``, guarded."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import run_simple

    from humas_dev.stack import s3index

    s3index.install()
    host, port = (argv or sys.argv[1:])[:2]
    run_simple(host, int(port), guarded(DomainDispatcherApplication(create_backend_app)), threaded=True,
               request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
