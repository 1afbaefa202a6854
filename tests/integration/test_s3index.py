"""The embedded stack's S3 server lists a prefix from its sorted key names (humas_dev.stack.s3index): every listing
answers exactly what plain moto answers for the same bucket history."""
from __future__ import annotations

import random
from typing import Any

import boto3
import pytest
from botocore.config import Config

PREFIXES = ["", "a", "a/", "a/b", "a/b/", "a/b0", "inbox/", "inbox/x-1/", "pipeline/", "z", "é/", "nothing/"]


def _client(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(s3={"addressing_style": "path"}))


def _history(seed: int) -> list[tuple[str, str]]:
    """Puts, overwrites and deletes over keys that share prefixes."""
    rng = random.Random(seed)
    names = [f"{top}{rng.choice(['', 'b', 'b/', 'b0', 'b/c/', 'x-1/'])}{rng.randrange(40)}"
             for top in ("a/", "inbox/", "pipeline/", "z", "é/") for _ in range(30)]
    steps = [("put", name) for name in names]
    steps += [(rng.choice(["put", "delete"]), rng.choice(names)) for _ in range(120)]
    return steps


def _replay(client: Any, bucket: str, steps: list[tuple[str, str]], versioned: bool) -> None:
    client.create_bucket(Bucket=bucket)
    if versioned:
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for n, (op, key) in enumerate(steps):
        if op == "put":
            client.put_object(Bucket=bucket, Key=key, Body=str(n).encode())
        else:
            client.delete_object(Bucket=bucket, Key=key)


def _listings(client: Any, bucket: str) -> list[Any]:
    seen = []
    for prefix in PREFIXES:
        for extra in ({}, {"Delimiter": "/"}, {"MaxKeys": 7}, {"StartAfter": f"{prefix}b"}):
            pages, token = [], None
            while True:
                args = {"Bucket": bucket, "Prefix": prefix, **extra, **({"ContinuationToken": token} if token else {})}
                page = client.list_objects_v2(**args)
                pages.append(([(o["Key"], o["ETag"], o["Size"]) for o in page.get("Contents", [])],
                              [p["Prefix"] for p in page.get("CommonPrefixes", [])], page["IsTruncated"]))
                token = page.get("NextContinuationToken")
                if not token:
                    break
            seen.append((prefix, sorted(extra), pages))
        v1 = client.list_objects(Bucket=bucket, Prefix=prefix, Marker=f"{prefix}1", MaxKeys=5)
        seen.append((prefix, "v1", [o["Key"] for o in v1.get("Contents", [])], v1["IsTruncated"]))
    return seen


@pytest.mark.parametrize("versioned", [False, True], ids=["plain", "versioned"])
def test_prefix_listings_match_plain_moto(s3_server, stack_s3_server, versioned):
    steps = _history(seed=19 + versioned)
    bucket = f"listing-{'v' if versioned else 'p'}"
    plain, indexed = _client(s3_server), _client(stack_s3_server)
    _replay(plain, bucket, steps, versioned)
    _replay(indexed, bucket, steps, versioned)

    assert plain.list_objects_v2(Bucket=bucket)["KeyCount"] > 50  # the history leaves keys to list
    assert _listings(indexed, bucket) == _listings(plain, bucket)
