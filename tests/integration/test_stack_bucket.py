"""The embedded S3 server keeps objects in memory: `make stop` snapshots the bucket, `make run` restores it."""
from __future__ import annotations

from urllib.parse import urlparse

from humas_dev import stack


def test_a_stopped_stack_gets_its_bucket_back(tmp_path, s3_server):
    cfg = stack.StackConfig(home=tmp_path / "stack", s3_port=urlparse(s3_server).port, bucket="humas-snapshot")
    cfg.home.mkdir(parents=True)  # the session's moto server has IAM off: any key will do as the stack's admin
    stack.write_bucket_keys(cfg, {"humas-admin": {"access_key": "testing", "secret_key": "testing"}})
    stack.make_bucket(cfg)
    store = stack._store(cfg)
    objects = {"inbox/a/brief.yaml": b"title: a\n", "inbox/a/poster.jpg": b"\xff\xd8 jpeg",
               "pipeline/a/status.json": b'{"state": "published"}'}
    for key, data in objects.items():
        store.put_bytes(key, data)

    assert stack.snapshot_bucket(cfg) == 3
    for key in objects:  # the server restarts empty
        store.client.delete_object(Bucket=store.bucket, Key=key)
    assert stack.restore_bucket(cfg) == 3
    assert {o.key: store.get_bytes(o.key) for o in store.list("")} == objects
    assert stack.restore_bucket(cfg) == 0  # never over a bucket that has content
