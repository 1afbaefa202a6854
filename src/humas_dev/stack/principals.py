"""Who may do what in the embedded stack's bucket, enforced by the S3 server (moto's IAM), not our client.

Identities (IAM users, one access key each):

- ``humas-admin``: the stack's own tooling (makes the bucket, snapshots and restores it). Never given to
  Airflow or staff.
- ``humas-pipeline``: Airflow's ``humas_bucket`` connection. Reads everything; writes ``pipeline/``,
  ``dispatch/`` and the submitters' views (``progress/``), and puts the daily digests (``notices/``) and monthly
  reports (``reports/``); deletes only consumed approval flags. It cannot write the inbox or a claim.
- ``humas-approvals``: the approval service's ``humas_bucket_approvals`` connection. Reads everything; writes
  ``approvals/`` only.
- one per roster login (staff): puts files into ``inbox/`` and its own claims (``claims/*/<login>.json``);
  reads briefs (``humas deliver`` adds to one) and its own items' view (``progress/<login>/*``: status, events,
  findings, preview, refusal, receipt, report, kept by the pipeline, see ``humas.progress``); nothing under
  ``pipeline/``; deletes nothing, writes nothing else.

What moto 5.2.5 enforces (checked over HTTP, see tests/integration/test_bucket_principals.py): Allow and
Deny statements on actions and object ARNs with ``*`` anywhere in them (PutObject, DeleteObject, CopyObject
into a key, multipart uploads, DeleteObjects per key). For S3 it evaluates ``Condition`` with no request
values, so every condition passes (``s3:prefix`` cannot narrow ListBucket, an object tag cannot narrow
GetObject), and it does not expand ``${aws:username}``: each person therefore gets a policy of their own, naming
their login, and what a person may read of their items lies under a key that names them (``progress/<login>/``),
not behind a condition. moto also reads a resource as a regular expression (``*`` made ``.*``, the rest as
written), so the ``.`` in ``skw.ayu`` would match ``skwXayu``: the embedded stack's resources are escaped
(``moto_resource``); MinIO's (``minio_policies``) stay globs, which is how MinIO reads them. Requests are
unauthenticated until ``INITIAL_NO_AUTH_ACTION_COUNT`` actions have been
served; ``bootstrap`` spends exactly those on creating the admin.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterable

NO_AUTH_ACTIONS = 3  # CreateUser, PutUserPolicy, CreateAccessKey of the admin: every later request is signed
ADMIN, PIPELINE, APPROVALS = "humas-admin", "humas-pipeline", "humas-approvals"
IDENTITIES = (ADMIN, PIPELINE, APPROVALS)  # the services' own; every other identity is a person's
# inbox/*/brief.yaml: a person delivering to a waiting step (`humas deliver`) adds their work to the brief.
# progress/<login>/*: their own items as the pipeline shows them (`humas status`); a colleague's are not theirs.
# dispatch/unusable/*: why a folder (named by hash of its name) cannot be an item: no login, no item id.
def staff_reads(login: str) -> tuple[str, ...]:
    return ("inbox/*/brief.yaml", f"progress/{login}/*", "dispatch/unusable/*")




def moto_resource(glob: str) -> str:
    """A glob resource as moto 5.2.5 must be given it: it makes ``*`` into ``.*`` and reads the rest as a regular
    expression, so everything but ``*`` is escaped (``skw.ayu`` must not match ``skwXayu``)."""
    return "*".join(re.escape(part) for part in glob.split("*"))


def _glob(resource: str) -> str:
    return resource


Render = Callable[[str], str]


def _objects(bucket: str, patterns: Iterable[str], render: Render) -> list[str]:
    return [render(f"arn:aws:s3:::{bucket}/{pattern}") for pattern in patterns]


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


def _reader(bucket: str, render: Render) -> list[dict[str, Any]]:
    return [_allow(["s3:ListBucket", "s3:ListBucketVersions"], [render(f"arn:aws:s3:::{bucket}")]),
            _allow(["s3:GetObject", "s3:GetObjectVersion"], _objects(bucket, ["*"], render))]


def policies(bucket: str, logins: Iterable[str], render: Render = moto_resource) -> dict[str, dict[str, Any]]:
    """Each identity's one policy document, by IAM user name; ``render`` writes a glob resource as the server
    reads it (default: moto's regular expressions)."""
    found = {
        ADMIN: _policy(_allow(["*"], ["*"])),
        PIPELINE: _policy(*_reader(bucket, render),
                          _allow(["s3:PutObject", "s3:DeleteObject"],
                                 _objects(bucket, ["pipeline/*", "dispatch/*", "progress/*"], render)),
                          # the daily digests' outbox and the monthly reports (the scheduled DAGs)
                          _allow(["s3:PutObject"], _objects(bucket, ["notices/*", "reports/*"], render)),
                          _allow(["s3:DeleteObject"], _objects(bucket, ["approvals/*"], render))),
        APPROVALS: _policy(*_reader(bucket, render),
                           _allow(["s3:PutObject"], _objects(bucket, ["approvals/*"], render))),
    }
    for login in logins:
        found[login] = _policy(
            _allow(["s3:ListBucket"], [render(f"arn:aws:s3:::{bucket}")]),
            _allow(["s3:PutObject"], _objects(bucket, ["inbox/*", f"claims/*/{login}.json"], render)),
            _allow(["s3:GetObject"], _objects(bucket, staff_reads(login), render)))
    return found


def _create(iam: Any, name: str, policy: dict[str, Any]) -> dict[str, str]:
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="humas", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"]}


def bootstrap(endpoint: str, bucket: str, logins: Iterable[str]) -> dict[str, dict[str, str]]:
    """On a fresh server: the admin (with the unauthenticated actions), then every other identity; their keys.

    Raises if the server already has an admin or the unauthenticated actions were spent by someone else.
    """
    import boto3

    def iam(keys: dict[str, str]) -> Any:
        return boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                            aws_access_key_id=keys["access_key"], aws_secret_access_key=keys["secret_key"])

    wanted = policies(bucket, logins)
    keys = {ADMIN: _create(iam({"access_key": "bootstrap", "secret_key": "bootstrap"}), ADMIN, wanted.pop(ADMIN))}
    admin = iam(keys[ADMIN])
    keys.update({name: _create(admin, name, policy) for name, policy in wanted.items()})
    return keys


MINIO_STAFF = "${aws:username}"  # MinIO expands it (moto does not): one staff policy for every person


def minio_policies(bucket: str = "humas") -> dict[str, dict[str, Any]]:
    """The production (MinIO) policies, from the same rules: ``deploy/minio/policies/<name>.json``."""
    rules = policies(bucket, [MINIO_STAFF], render=_glob)
    return {PIPELINE: rules[PIPELINE], APPROVALS: rules[APPROVALS], "humas-staff": rules[MINIO_STAFF]}


def main(argv: list[str] | None = None) -> None:
    """``python -m humas_dev.stack.principals FOLDER``: write the MinIO policies (checked by tests/unit)."""
    import sys
    from pathlib import Path

    folder = Path((argv or sys.argv[1:])[0])
    folder.mkdir(parents=True, exist_ok=True)
    for name, policy in minio_policies().items():
        (folder / f"{name}.json").write_text(json.dumps(policy, indent=2) + "\n")


if __name__ == "__main__":
    main()
