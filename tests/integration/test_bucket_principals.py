"""The bucket's principals and policies, enforced by the S3 server itself: the embedded stack's guarded moto
server with IAM, spoken to over HTTP with each identity's own key. An insider holding a staff key tries every
write the issue names (overwrite, delete, copy-over, multipart upload, another's claim, forged records); each
one is refused by the server with AccessDenied, and what staff need still works."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from humas import layout
from humas.delivery import claim_delivery, delivered_by
from humas.store import Store
from humas.submission import read_claims
from humas_dev.net import free_port
from humas_dev.stack import principals

pytestmark = pytest.mark.integration

BUCKET = "humas"
ITEM, OTHER = "2026-12-01-hut-kota", "2026-12-02-rapat"
STAFF, COLLEAGUE = "skw.ayu", "skw.hendra"


def _wait_for_port(proc: subprocess.Popen, port: int, log: Any) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"the guarded S3 server did not start: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, dict[str, str]]]]:
    """A guarded moto server with IAM on (as the stack starts it) and every identity's key."""
    port, log = free_port(), tmp_path_factory.mktemp("iam") / "server.log"
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(principals.NO_AUTH_ACTIONS)}
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "humas_dev.stack.s3server", "127.0.0.1", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_for_port(proc, port, log)
        url = f"http://127.0.0.1:{port}"
        keys = principals.bootstrap(url, BUCKET, [STAFF, COLLEAGUE])
        admin = _client(url, keys[principals.ADMIN])
        admin.create_bucket(Bucket=BUCKET)
        admin.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield url, keys
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _client(url: str, keys: dict[str, str]) -> Any:
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=keys["access_key"],
                        aws_secret_access_key=keys["secret_key"],
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def stores(server) -> dict[str, Store]:
    url, keys = server
    return {name: Store(_client(url, k), BUCKET) for name, k in keys.items()}


@pytest.fixture(scope="module", autouse=True)
def records(stores: dict[str, Store]) -> None:
    """What the pipeline and the approval service wrote for an item under way."""
    pipeline = stores[principals.PIPELINE]
    for key in (layout.status_key(ITEM), layout.publish_key(ITEM, "facebook"), layout.dispatch_key("started", OTHER),
                layout.rendition_key(ITEM, "instagram", "01-poster.jpg"), layout.preview_key(ITEM)):
        pipeline.put_bytes(key, b'{"state": "published"}')
    stores[principals.APPROVALS].put_bytes(layout.approval_key(ITEM, "step_3_decision"), b"{}")


def _denied(call: Callable[[], Any]) -> None:
    with pytest.raises(ClientError) as info:
        call()
    assert info.value.response["Error"]["Code"] == "AccessDenied"


PROTECTED = [layout.rendition_key(ITEM, "instagram", "01-poster.jpg"), layout.publish_key(ITEM, "x"),
             layout.publish_key(ITEM, "facebook"), layout.dispatch_key("started", OTHER),
             layout.dispatch_key("refused", ITEM), layout.status_key(ITEM), layout.approval_key(ITEM, "step_3_decision"),
             layout.decision_key(ITEM, "step_3_decision", "approve", datetime(2026, 12, 1)),
             layout.claim_key(ITEM, COLLEAGUE)]


@pytest.mark.parametrize("key", PROTECTED)
def test_staff_cannot_put_copy_over_or_multipart_upload_outside_the_inbox(stores, key: str) -> None:
    staff = stores[STAFF].client
    staff.put_object(Bucket=BUCKET, Key=layout.asset_key(ITEM, "swap.jpg"), Body=b"unreviewed")
    _denied(lambda: staff.put_object(Bucket=BUCKET, Key=key, Body=b"forged"))
    _denied(lambda: staff.copy_object(Bucket=BUCKET, Key=key,
                                      CopySource={"Bucket": BUCKET, "Key": layout.asset_key(ITEM, "swap.jpg")}))
    _denied(lambda: staff.create_multipart_upload(Bucket=BUCKET, Key=key))


@pytest.mark.parametrize("key", [*PROTECTED[:5], layout.asset_key(ITEM, "swap.jpg"), layout.brief_key(OTHER)])
def test_staff_delete_nothing_one_by_one_or_in_bulk(stores, key: str) -> None:
    staff = stores[STAFF].client
    _denied(lambda: staff.delete_object(Bucket=BUCKET, Key=key))
    answer = staff.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": key}]})
    assert [e["Code"] for e in answer.get("Errors", [])] == ["AccessDenied"] and not answer.get("Deleted")


def test_staff_drop_into_the_inbox_and_claim_as_themselves_but_read_nothing_of_the_pipelines(stores) -> None:
    staff = stores[STAFF]
    staff.put_bytes(layout.brief_key(ITEM), b"title: x\n")
    staff.put_json(layout.claim_key(ITEM, STAFF), {"login": STAFF})
    assert [o.key for o in staff.list(layout.claims_prefix(ITEM))] == [layout.claim_key(ITEM, STAFF)]
    for key in (layout.status_key(ITEM), layout.preview_key(ITEM), layout.publish_key(ITEM, "facebook")):
        _denied(lambda: staff.get_bytes(key))


def test_the_submitter_reads_their_items_view_and_no_colleague_does(stores) -> None:
    # humas.progress: the pipeline keeps progress/<submitter>/<item>/ as it records; the key names the login
    from humas.reports import write_item_report
    from humas.status import record_state

    item, pipeline, staff, colleague = "2026-12-04-view", stores[principals.PIPELINE], stores[STAFF], stores[COLLEAGUE]
    record_state(pipeline, item, "received", message="Diterima", submitter=STAFF)
    pipeline.put_bytes(layout.preview_key(item), b"preview-bytes", "image/jpeg")
    pipeline.put_bytes(layout.findings_key(item, "md"), b"# Temuan", "text/markdown")
    record_state(pipeline, item, "assets_passed", step="step_2_design", details={"links": {
        "findings": layout.findings_key(item, "md"), "preview": layout.preview_key(item)}})
    write_item_report(pipeline, item)
    view = layout.progress_prefix(STAFF, item)
    status = staff.get_json(view + "status.json")
    assert status["state"] == "assets_passed" and status["submitter"] == STAFF
    assert status["links"] == {"findings": view + "findings.md", "preview": view + "preview.jpg"}
    assert staff.get_bytes(status["links"]["preview"]) == b"preview-bytes"
    assert staff.get_bytes(status["links"]["findings"]) == b"# Temuan"
    assert b"<html" in staff.get_bytes(view + "report.html")
    assert [e["state"] for e in (staff.get_json(o.key) for o in staff.list(view + "events/"))] == [
        "received", "assets_passed"]
    for key in (view + "status.json", view + "preview.jpg", view + "findings.md", view + "report.html"):
        _denied(lambda: colleague.get_bytes(key))  # a colleague's item: not theirs to read
    for key in (layout.status_key(item), layout.preview_key(item), layout.findings_key(item, "md")):
        _denied(lambda: staff.get_bytes(key))  # the pipeline's own records: the view is all staff read
    _denied(lambda: staff.put_bytes(view + "status.json", b"{}"))  # and the view is the pipeline's to write
    _denied(lambda: staff.delete(view + "status.json"))


@pytest.mark.parametrize("look_alike", ["skwxayu", "skw-ayu", "skw_ayu", "skw.ayuxjson"])
def test_a_claim_in_a_look_alike_login_is_refused(stores, look_alike: str) -> None:
    # moto reads a policy's resource as a regular expression: unescaped, the '.' of skw.ayu matched any character
    _denied(lambda: stores[STAFF].put_json(layout.claim_key(ITEM, look_alike), {"login": look_alike}))
    _denied(lambda: stores[STAFF].client.put_object(Bucket=BUCKET, Key=f"claims/{ITEM}/skw.ayuxjson", Body=b"{}"))


def test_staff_write_delivery_claims_only_in_their_own_name(stores) -> None:
    item, staff, pipeline = "2026-12-03-klaim", stores[STAFF], stores[principals.PIPELINE]
    at = datetime(2026, 12, 1, tzinfo=timezone.utc)
    staff.put_bytes(layout.asset_key(item, "foto.jpg"), b"photo")
    etag = next(o.etag for o in staff.list(layout.item_prefix(item)))  # staff may list, not read, the inbox
    claim_delivery(staff, item, STAFF, b"brief", {"foto.jpg": etag}, at)
    _denied(lambda: claim_delivery(staff, item, COLLEAGUE, b"brief", {"foto.jpg": etag}, at))
    nested = f"claims/{item}/deliveries/x/{COLLEAGUE}.json/{STAFF}.json"  # the bucket allows it: its own name last
    staff.put_json(nested, {"login": COLLEAGUE, "files": {"foto.jpg": etag}})
    assert [c.login for c in read_claims(pipeline, item)] == [STAFF]
    assert delivered_by(pipeline, item, ["foto.jpg"])["foto.jpg"].logins == (STAFF,)


def test_the_pipeline_cannot_write_the_inbox_or_a_claim_and_approvals_write_only_approvals(stores) -> None:
    pipeline, approvals = stores[principals.PIPELINE].client, stores[principals.APPROVALS].client
    for key in (layout.brief_key(ITEM), layout.claim_key(ITEM, STAFF)):
        _denied(lambda: pipeline.put_object(Bucket=BUCKET, Key=key, Body=b"x"))
    for key in (layout.status_key(ITEM), layout.publish_key(ITEM, "x"), layout.dispatch_key("started", ITEM),
                layout.brief_key(ITEM)):
        _denied(lambda: approvals.put_object(Bucket=BUCKET, Key=key, Body=b"x"))
    _denied(lambda: approvals.delete_object(Bucket=BUCKET, Key=layout.approval_key(ITEM, "step_3_decision")))
    pipeline.delete_object(Bucket=BUCKET, Key=layout.approval_key(ITEM, "step_3_decision"))  # consumed


def test_the_pipeline_writes_the_daily_digest_and_the_monthly_report_and_nobody_else_does(stores) -> None:
    # The scheduled DAGs' outputs live outside pipeline/ (per agency, not per item).
    folder = layout.digest_folder("singkawang", "2026-12-01", COLLEAGUE)
    keys = [layout.notice_key(folder), layout.delivery_key(folder, "email"),
            *(layout.monthly_report_key("singkawang", "2026-11", ext) for ext in ("html", "csv", "xlsx"))]
    for key in keys:
        stores[principals.PIPELINE].put_bytes(key, b"{}")
        for other in (STAFF, principals.APPROVALS):
            _denied(lambda: stores[other].client.put_object(Bucket=BUCKET, Key=key, Body=b"forged"))
    _denied(lambda: stores[principals.PIPELINE].client.put_object(Bucket=BUCKET, Key="notices-x/y", Body=b"x"))


def test_staff_cannot_touch_versioning_policies_or_the_servers_control_api(server, stores) -> None:
    url, keys = server
    staff = stores[STAFF].client
    _denied(lambda: staff.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"}))
    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id=keys[STAFF]["access_key"],
                       aws_secret_access_key=keys[STAFF]["secret_key"])
    _denied(lambda: iam.create_access_key(UserName=principals.ADMIN))
    _denied(lambda: iam.put_user_policy(UserName=STAFF, PolicyName="humas", PolicyDocument="{}"))
    for path in ("/moto-api/reset-auth", "/moto-api/reset"):
        assert requests.post(url + path, data="1000", timeout=10).status_code == 403
    _denied(lambda: staff.put_object(Bucket=BUCKET, Key=layout.status_key(ITEM), Body=b"still refused"))
    with pytest.raises(ClientError) as info:
        _client(url, {"access_key": "test", "secret_key": "test"}).put_object(Bucket=BUCKET, Key="inbox/a/b", Body=b"")
    assert info.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def test_a_pinned_presigned_url_from_the_pipeline_serves_the_checked_version(stores) -> None:
    pipeline = stores[principals.PIPELINE]
    key = layout.rendition_key(ITEM, "instagram", "01-poster.jpg")
    data, version = pipeline.get_pinned(key)
    url = pipeline.presigned_get_url(key, version_id=version)
    pipeline.put_bytes(key, b"a later rendition")
    assert requests.get(url, timeout=10).content == data


def test_presigned_urls_are_checked_by_the_server_forged_expired_or_beyond_the_signers_policy(stores) -> None:
    pipeline, staff = stores[principals.PIPELINE], stores[STAFF]
    key = layout.publish_key(ITEM, "facebook")
    good = pipeline.presigned_get_url(key)
    assert requests.get(good, timeout=10).status_code == 200
    forged = good.replace(layout.publish_key(ITEM, "facebook"), layout.publish_key(ITEM, "x"))
    assert requests.get(forged, timeout=10).status_code == 403  # the signature names the key
    expired = pipeline.presigned_get_url(key, expires_in=-10)
    assert requests.get(expired, timeout=10).status_code == 403
    # a staff member's own presigned URL reaches only what their policy lets them read
    assert requests.get(staff.presigned_get_url(key), timeout=10).status_code == 403
    assert requests.get(staff.presigned_get_url(layout.status_key(ITEM)), timeout=10).status_code == 403
    own = layout.progress_key(STAFF, ITEM, layout.status_key(ITEM))
    pipeline.put_json(own, {"state": "published"})
    assert requests.get(staff.presigned_get_url(own), timeout=10).status_code == 200
    # and a presigned PUT is no way around the policy
    put = staff.client.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": key})
    assert requests.put(put, data=b"forged", timeout=10).status_code == 403
    assert pipeline.get_json(key) == {"state": "published"}


def test_humas_status_works_with_a_staff_credential_on_their_own_items_only(stores, sops, tmp_path) -> None:
    # What `humas status ITEM` reads as staff is their view (status and events); the SOP comes from the events
    from humas.itemview import item_lines, save_linked
    from humas.status import read_status, record_state

    pipeline = stores[principals.PIPELINE]
    record_state(pipeline, "status-item", "received", submitter=STAFF)
    record_state(pipeline, "status-item", "in_step", step="step_2_design", details={"sop": "singkawang"})
    pipeline.put_bytes(layout.findings_key("status-item", "md"), b"# Temuan", "text/markdown")
    record_state(pipeline, "status-item", "assets_passed", step="step_2_design",
                 details={"links": {"findings": layout.findings_key("status-item", "md")}})
    lines = "\n".join(item_lines(stores[STAFF], "status-item", sops, viewer=STAFF))
    assert "Sedang dikerjakan" in lines and "Waktu baku" in lines and "Diterima" in lines
    assert "Berkas: hasil pemeriksaan berkas" in lines and "progress/" not in lines  # no bucket path
    saved = save_linked(stores[STAFF], read_status(stores[STAFF], "status-item", STAFF), tmp_path)
    assert saved == [f"hasil pemeriksaan berkas: {tmp_path / 'findings.md'}"]
    assert (tmp_path / "findings.md").read_bytes() == b"# Temuan"  # their view's copy, read as themselves
    _denied(lambda: item_lines(stores[COLLEAGUE], "status-item", sops, viewer=STAFF))
    _denied(lambda: item_lines(stores[STAFF], "status-item", sops))  # the pipeline's records: ops only
    assert item_lines(stores[COLLEAGUE], "status-item", sops, viewer=COLLEAGUE) == [
        "status-item: belum ada status (menunggu dispatcher)"]


def test_why_staff_reads_are_narrowed_by_key_moto_passes_every_condition_and_expands_no_username(server, stores) -> None:
    # README "The bucket contract": a per-person narrowing of reads cannot use Condition or ${aws:username} here,
    # so what a person reads lies under a key naming their login (progress/<login>/), in a policy of their own
    url, keys = server
    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id=keys[principals.ADMIN][
        "access_key"], aws_secret_access_key=keys[principals.ADMIN]["secret_key"])
    iam.create_user(UserName="probe")
    iam.put_user_policy(UserName="probe", PolicyName="humas", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{BUCKET}/pipeline/*"],
             "Condition": {"StringEquals": {"s3:ExistingObjectTag/humas-submitter": "nobody"}}},
            {"Effect": "Allow", "Action": ["s3:GetObject"],
             "Resource": [f"arn:aws:s3:::{BUCKET}/${{aws:username}}/*"]}]}))
    key = iam.create_access_key(UserName="probe")["AccessKey"]
    probe = Store(_client(url, {"access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"]}), BUCKET)
    assert probe.get_json(layout.status_key(ITEM)) == {"state": "published"}  # the condition was not applied
    stores[principals.ADMIN].put_bytes("probe/x.json", b"{}")
    _denied(lambda: probe.get_bytes("probe/x.json"))  # ${aws:username} stayed literal


def test_humas_status_reads_the_persons_view_and_the_pipelines_records_only_with_an_ops_credential(stores) -> None:
    from humas.cli import _item_status
    from humas.status import record_state

    record_state(stores[principals.PIPELINE], "cli-item", "received", submitter=STAFF)
    assert _item_status(stores[STAFF], "cli-item", STAFF)[0]["submitter"] == STAFF
    assert _item_status(stores[STAFF], "cli-item", STAFF)[1] == STAFF
    assert _item_status(stores[COLLEAGUE], "cli-item", COLLEAGUE) == (None, None)  # not theirs: no status at all
    assert _item_status(stores[COLLEAGUE], "cli-item", STAFF) == (None, None)  # another's login, own key: none
    ops, source = _item_status(stores[principals.PIPELINE], "cli-item", None)
    assert ops["state"] == "received" and source is None
