"""What the plugin assumes of Airflow's and the AWS provider's insides (see the notes in run_app and hooks).

Each test fails when an upgrade changes what the code relies on, also where production would only get
slower without an error: the scheduler no longer picking cleared runs first, the bucket's client walking the stack
again, reading botocore's model files again or parsing timestamps with dateutil again.
The preload's assumptions are tested in test_preload.py.
"""
from __future__ import annotations

import inspect
import json
import re
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, Iterator

import boto3
import botocore.loaders
import pytest
from botocore.awsrequest import AWSResponse
from sqlalchemy import create_engine, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
from airflow.models.dagrun import DagRun

from humas_airflow import hooks
from humas_airflow.run_app import schedule_next

# --- run_app: the scheduler looks at never-looked-at runs first ---------------------------------------------


class _CapturingSession:
    """Enough of a SQLAlchemy session on PostgreSQL (the stack's database) to catch the query it is given."""

    bind = SimpleNamespace(dialect=postgresql.dialect())
    statement: Any = None

    def get_bind(self) -> Any:
        return self.bind

    def scalars(self, statement: Any) -> Any:
        self.statement = statement
        return SimpleNamespace(unique=lambda: [])

    def rollback(self) -> None:
        pass


def test_the_scheduler_picks_its_running_runs_never_looked_at_first():
    # The scheduler loop takes its running runs from this query ...
    assert "DagRun.get_running_dag_runs_to_examine(session=session)" in inspect.getsource(
        SchedulerJobRunner._do_scheduling)
    # ... which puts runs whose last_scheduling_decision is NULL first: what run_app's clear relies on.
    session = _CapturingSession()
    DagRun.get_running_dag_runs_to_examine(session=session)
    sql = str(session.statement.compile(dialect=postgresql.dialect()))
    order = re.search(r"ORDER BY (.*?)\s+LIMIT", sql, re.S)
    assert order, sql
    keys = [key.strip() for key in order.group(1).split(",")]
    # Backfill runs come after all others (their sort_ordinal is set, ours is NULL): not a key among our runs.
    keys = [key for key in keys if key != "backfill_dag_run.sort_ordinal NULLS FIRST"]
    assert keys[0] == "dag_run.last_scheduling_decision NULLS FIRST", sql
    assert "last_scheduling_decision" not in sql.split("ORDER BY")[0].split("FROM", 1)[1], \
        "the scheduler now filters on last_scheduling_decision: " + sql


@pytest.fixture()
def dag_runs() -> Iterator[Session]:
    """Airflow's own dag_run table (its ORM model) in an in-memory database."""
    engine = create_engine("sqlite://")
    DagRun.__table__.create(engine)
    with Session(engine) as session:
        yield session


def _add_run(session: Session, run_id: str, state: str, looked_at: datetime) -> None:
    session.execute(insert(DagRun.__table__).values(
        dag_id="humas_sop_singkawang", run_id=run_id, state=state, run_type="manual", run_after=looked_at,
        last_scheduling_decision=looked_at, log_template_id=None))
    session.commit()


def _looked_at(session: Session) -> dict[str, datetime | None]:
    table = DagRun.__table__
    return dict(session.execute(select(table.c.run_id, table.c.last_scheduling_decision)).all())


def test_schedule_next_clears_the_running_runs_last_look_in_airflows_dag_run_table(dag_runs):
    looked_at = datetime.now(timezone.utc) - timedelta(minutes=1)
    _add_run(dag_runs, "item__waiting", "running", looked_at)
    _add_run(dag_runs, "item__asking", "running", looked_at)
    _add_run(dag_runs, "item__done", "success", looked_at)

    assert schedule_next("humas_sop_singkawang", "item__asking", dag_runs)["scheduled_next"] is True
    assert schedule_next("humas_sop_singkawang", "item__done", dag_runs)["scheduled_next"] is False
    assert _looked_at(dag_runs) == {"item__waiting": looked_at, "item__asking": None, "item__done": looked_at}


# --- hooks: the bucket's client ------------------------------------------------------------------------------

BUCKET_CONN = {"conn_type": "aws", "login": "pipeline-key", "password": "pipeline-secret",
               "extra": {"endpoint_url": "http://minio.test:9000", "region_name": "us-east-1",
                         "config_kwargs": {"s3": {"addressing_style": "path"}},
                         "service_config": {"s3": {"bucket_name": "humas"}}}}

LISTING = b"""<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>humas</Name><Prefix>inbox/</Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys>
  <IsTruncated>false</IsTruncated>
  <Contents><Key>inbox/a/brief.yaml</Key><LastModified>2026-12-01T08:30:15.250Z</LastModified>
    <ETag>"abc"</ETag><Size>9</Size><StorageClass>STANDARD</StorageClass></Contents>
</ListBucketResult>"""


@pytest.fixture()
def bucket_conn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HUMAS_BUCKET", json.dumps(BUCKET_CONN))


def _bucket_client() -> Any:
    return hooks.HumasBucketHook().get_store().client


def test_the_bucket_client_is_made_as_the_provider_makes_it_from_the_connection(bucket_conn):
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    ours, providers = hooks.HumasBucketHook().s3, S3Hook(aws_conn_id=hooks.BUCKET_CONN_ID)
    ours_meta, providers_meta = ours.get_conn().meta, providers.get_conn().meta
    for attr in ("endpoint_url", "region_name", "partition", "service_model.service_name"):
        assert _attr(ours_meta, attr) == _attr(providers_meta, attr), attr
    for option in ("s3", "signature_version", "retries", "connect_timeout", "read_timeout", "proxies"):
        assert getattr(ours_meta.config, option) == getattr(providers_meta.config, option), option
    assert ours.get_credentials() == providers.get_credentials()
    assert ours.get_credentials().access_key == "pipeline-key"
    assert ours_meta.config.user_agent_extra == "Caller/HumasBucketHook"


def _attr(obj: Any, dotted: str) -> Any:
    for name in dotted.split("."):
        obj = getattr(obj, name)
    return obj


def test_making_the_bucket_client_does_not_walk_the_stack(bucket_conn, monkeypatch):
    walks = []
    real_stack = inspect.stack
    monkeypatch.setattr(inspect, "stack", lambda *a, **kw: walks.append(1) or real_stack(*a, **kw))
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    S3Hook(aws_conn_id=hooks.BUCKET_CONN_ID).get_conn()
    assert walks, "the provider no longer walks the stack: the test cannot see it, change it"
    walks.clear()
    _bucket_client()
    assert walks == []


def test_the_bucket_client_reads_no_model_file_once_the_models_are_preloaded(bucket_conn, monkeypatch):
    hooks.preload_botocore_models()
    reads = []
    real_load = botocore.loaders.JSONFileLoader.load_file
    monkeypatch.setattr(botocore.loaders.JSONFileLoader, "load_file",
                        lambda self, path: reads.append(path) or real_load(self, path))
    boto3.session.Session().client("s3", region_name="us-east-1", aws_access_key_id="-", aws_secret_access_key="-")
    assert reads, "a plain session no longer reads model files: the test cannot see it, change it"
    reads.clear()
    _bucket_client()
    _bucket_client()
    assert reads == []


def test_the_bucket_clients_listings_are_parsed_by_our_timestamp_parser(bucket_conn):
    def answer(client: Any) -> Any:
        raw = SimpleNamespace(stream=lambda: iter([LISTING]))
        client.meta.events.register(
            "before-send.s3.ListObjectsV2",
            lambda request, **_: AWSResponse(request.url, 200, {"Content-Type": "application/xml"}, raw))
        return client.list_objects_v2(Bucket="humas", Prefix="inbox/")["Contents"][0]["LastModified"]

    expected = datetime(2026, 12, 1, 8, 30, 15, 250000, tzinfo=timezone.utc)
    plain = answer(boto3.client("s3", endpoint_url="http://minio.test:9000", region_name="us-east-1",
                                aws_access_key_id="-", aws_secret_access_key="-"))
    assert plain == expected and plain.tzinfo is not timezone.utc  # botocore's dateutil gives tzutc()
    ours = answer(_bucket_client())
    assert ours == expected and ours.tzinfo is timezone.utc  # datetime.fromisoformat, via parse_timestamp


def test_parse_timestamp_reads_iso_8601_itself_and_leaves_other_forms_to_botocore():
    assert hooks.parse_timestamp("2026-12-01T08:30:15.250Z") == datetime(2026, 12, 1, 8, 30, 15, 250000,
                                                                         tzinfo=timezone.utc)
    assert hooks.parse_timestamp("Tue, 01 Dec 2026 08:30:15 GMT") == datetime(2026, 12, 1, 8, 30, 15,
                                                                              tzinfo=timezone.utc)
