"""Bucket I/O over any boto3 S3 client (MinIO in production, moto's server here).

The Airflow hook and the CLI both build a ``Store``; keys come from ``humas.layout``.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from boto3.s3.transfer import TransferConfig

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client  # pragma: no cover

CHUNK = 1024 * 1024
# Large files (videos) go up in 16 MiB parts, two at a time: memory stays bounded whatever the file's size.
TRANSFER = TransferConfig(multipart_threshold=16 * CHUNK, multipart_chunksize=16 * CHUNK, max_concurrency=2)


@dataclass(frozen=True)
class Downloaded:
    """A file streamed from the bucket to disk: its digest, the version it was, and its size."""

    sha256: str
    version: str | None
    size: int


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    last_modified: datetime


def _version(answer: dict[str, Any]) -> str | None:
    """The version id an S3 answer names, None on an unversioned bucket (which answers "null" or nothing)."""
    version = answer.get("VersionId")
    return version if version and version != "null" else None


class Store:
    """Reads and writes the pipeline's objects in one bucket."""

    def __init__(self, client: "S3Client", bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    # -- reads -------------------------------------------------------------
    def get_bytes(self, key: str, max_bytes: int | None = None) -> bytes | None:
        """The object's bytes (at most the first ``max_bytes``), or None when it does not exist."""
        extra = {"Range": f"bytes=0-{max_bytes - 1}"} if max_bytes else {}
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key, **extra)["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None
        except self.client.exceptions.ClientError as exc:
            if extra and exc.response.get("Error", {}).get("Code") == "InvalidRange":
                return b""  # S3 answers a range on an empty object with 416: the object is there and empty
            raise

    def get_pinned(self, key: str) -> tuple[bytes, str | None] | None:
        """The object's bytes and the version id that names exactly these bytes (None on an unversioned
        bucket), or None when it does not exist: what a presigned URL can then be pinned to."""
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.NoSuchKey:
            return None
        return answer["Body"].read(), _version(answer)

    def download(self, key: str, path: Path, version_id: str | None = None) -> Downloaded | None:
        """Stream the object (that version, if given) to ``path`` in bounded memory; None when it does not exist."""
        extra = {"VersionId": version_id} if version_id else {}
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key, **extra)
        except self.client.exceptions.NoSuchKey:
            return None
        digest, size = hashlib.sha256(), 0
        with open(path, "wb") as out:
            for chunk in answer["Body"].iter_chunks(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        return Downloaded(digest.hexdigest(), _version(answer), size)

    def get_json(self, key: str) -> Any | None:
        data = self.get_bytes(key)
        return None if data is None else json.loads(data)

    def _head(self, key: str) -> dict[str, Any] | None:
        """The object's HEAD answer, or None when it does not exist."""
        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def head(self, key: str) -> ObjectInfo | None:
        meta = self._head(key)
        return None if meta is None else ObjectInfo(key, meta["ContentLength"], meta["ETag"].strip('"'),
                                                    meta["LastModified"])

    def version(self, key: str) -> str | None:
        """The version id ``key`` names now (one HEAD request, no bytes read); None when the object is absent or
        the bucket is not versioned."""
        return _version(self._head(key) or {})

    def metadata(self, key: str) -> dict[str, str] | None:
        """The object's user metadata (``x-amz-meta-*``, names lower-case without the prefix); None if absent."""
        meta = self._head(key)
        return None if meta is None else dict(meta.get("Metadata") or {})

    def exists(self, key: str) -> bool:
        return self.head(key) is not None

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object under ``prefix``, in key order."""
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                yield ObjectInfo(obj["Key"], obj["Size"], obj["ETag"].strip('"'), obj["LastModified"])

    def list_after(self, prefix: str, start_after: str, max_keys: int) -> tuple[list[ObjectInfo], bool]:
        """One request: up to ``max_keys`` objects under ``prefix`` after the key ``start_after`` ("" = from
        the first), in key order, and whether more follow."""
        page = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, StartAfter=start_after,
                                           MaxKeys=max_keys)
        found = [ObjectInfo(o["Key"], o["Size"], o["ETag"].strip('"'), o["LastModified"])
                 for o in page.get("Contents", [])]
        return found, bool(page.get("IsTruncated"))

    def list_folders(self, prefix: str) -> list[str]:
        """The immediate sub-prefixes of ``prefix`` (``inbox/a/``, ``inbox/b/``...)."""
        paginator = self.client.get_paginator("list_objects_v2")
        folders: list[str] = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
            folders.extend(p["Prefix"] for p in page.get("CommonPrefixes", []))
        return folders

    # -- writes ------------------------------------------------------------
    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream",
                  metadata: dict[str, str] | None = None) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type,
                               Metadata=metadata or {})

    def put_file(self, key: str, path: Path, content_type: str, metadata: dict[str, str] | None = None) -> None:
        """Upload a file from disk (multipart when large), never holding it whole in memory."""
        self.client.upload_file(str(path), self.bucket, key, Config=TRANSFER,
                                ExtraArgs={"ContentType": content_type, "Metadata": metadata or {}})

    def put_json(self, key: str, value: Any) -> None:
        body = json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str).encode()
        self.put_bytes(key, body, "application/json")

    def copy(self, source: str, target: str) -> None:
        """Copy ``source`` to ``target`` inside the bucket, on the server (the bytes never pass through here)."""
        self.client.copy_object(Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": source})

    def put_json_if_absent(self, key: str, value: Any) -> bool:
        """Write only when no object exists at ``key``; True if this call wrote it.

        Uses S3 conditional writes (If-None-Match) where the server supports them, so two writers
        racing for the same key cannot both win.
        """
        body = json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str).encode()
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body,
                                   ContentType="application/json", IfNoneMatch="*")
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412",
                                                             "ConditionalRequestConflict"):
                return False
            raise
        return True

    def presigned_get_url(self, key: str, expires_in: int = 3600, version_id: str | None = None) -> str:
        """A URL that lets its holder read ``key`` for ``expires_in`` seconds; with ``version_id`` exactly that
        version (whatever is written to the key later), which is how a platform fetches approved bytes."""
        params = {"Bucket": self.bucket, "Key": key, **({"VersionId": version_id} if version_id else {})}
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)

    def delete(self, key: str) -> None:
        """Remove one object (only the pipeline's own records are ever deleted; originals never are)."""
        self.client.delete_object(Bucket=self.bucket, Key=key)
