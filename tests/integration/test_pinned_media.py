"""What a platform fetches is pinned: a presigned URL names the version the upload checked, over a real S3
server, so bytes written to the key afterwards (the presigned-URL race) never reach the platform."""
from __future__ import annotations

import pytest
import requests

from humas.store import Store

pytestmark = pytest.mark.integration

KEY = "pipeline/item-a/renditions/instagram/01-poster.jpg"


@pytest.fixture()
def versioned(store: Store) -> Store:
    store.client.put_bucket_versioning(Bucket=store.bucket, VersioningConfiguration={"Status": "Enabled"})
    return store


def test_a_pinned_url_serves_the_checked_bytes_after_the_key_is_overwritten(versioned: Store) -> None:
    versioned.put_bytes(KEY, b"approved bytes", "image/jpeg")
    data, version = versioned.get_pinned(KEY)
    assert data == b"approved bytes" and version
    url = versioned.presigned_get_url(KEY, version_id=version)
    versioned.put_bytes(KEY, b"swapped, unreviewed", "image/jpeg")  # the race: after the check, before the fetch
    assert requests.get(url, timeout=10).content == b"approved bytes"
    assert requests.get(versioned.presigned_get_url(KEY), timeout=10).content == b"swapped, unreviewed"


def test_an_unversioned_bucket_gives_no_version_and_a_plain_url(store: Store) -> None:
    store.put_bytes(KEY, b"bytes", "image/jpeg")
    assert store.get_pinned(KEY) == (b"bytes", None)
    assert "versionId" not in store.presigned_get_url(KEY, version_id=None)
    assert store.get_pinned("pipeline/none") is None
