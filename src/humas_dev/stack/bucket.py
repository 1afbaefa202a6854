"""The stack's bucket on the embedded S3 server, which keeps objects in memory only: make it, copy it to the
stack home when the stack stops and back when it starts."""
from __future__ import annotations

import mimetypes
import shutil
import sys
from typing import TYPE_CHECKING

from humas_dev.stack.config import StackConfig, bucket_keys

if TYPE_CHECKING:
    from humas.store import Store


def _store(cfg: StackConfig) -> "Store":
    import boto3

    from humas.store import Store

    from humas_dev.stack.principals import ADMIN

    keys = bucket_keys(cfg)[ADMIN]  # the stack's own tooling: never handed to Airflow or staff
    client = boto3.client("s3", endpoint_url=cfg.s3_url, aws_access_key_id=keys["access_key"],
                          aws_secret_access_key=keys["secret_key"], region_name="us-east-1")
    return Store(client, cfg.bucket)


def make_bucket(cfg: StackConfig) -> None:
    client = _store(cfg).client
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if cfg.bucket not in existing:
        client.create_bucket(Bucket=cfg.bucket)
    # Versioned, as in production (MinIO): a platform's presigned URL names the version the upload checked.
    client.put_bucket_versioning(Bucket=cfg.bucket, VersioningConfiguration={"Status": "Enabled"})


def snapshot_bucket(cfg: StackConfig) -> int:
    """Copy every object to ``<home>/bucket/`` (the embedded S3 server keeps objects in memory only).

    Written beside the old snapshot first and swapped in at the end, so a failed copy loses nothing.
    """
    store, target, fresh = _store(cfg), cfg.home / "bucket", cfg.home / "bucket.new"
    shutil.rmtree(fresh, ignore_errors=True)
    count = 0
    for obj in store.list(""):
        parts = obj.key.split("/")
        if ".." in parts or obj.key.startswith("/"):  # a key that would land outside the snapshot
            print(f"warning: not snapshotting object {obj.key!r}", file=sys.stderr)
            continue
        path = fresh.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(store.get_bytes(obj.key) or b"")
        count += 1
    shutil.rmtree(target, ignore_errors=True)
    if fresh.exists():
        fresh.rename(target)
    return count


def restore_bucket(cfg: StackConfig) -> int:
    """Put the last snapshot back into an empty bucket, so `make stop` / `make run` loses nothing."""
    store, source = _store(cfg), cfg.home / "bucket"
    if not source.is_dir() or next(iter(store.list("")), None) is not None:
        return 0
    files = [p for p in sorted(source.rglob("*")) if p.is_file()]
    for path in files:
        key = path.relative_to(source).as_posix()
        store.put_bytes(key, path.read_bytes(), mimetypes.guess_type(key)[0] or "application/octet-stream")
    return len(files)
