"""Hooks: the only Airflow code that owns connections (the bucket, the platforms)."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from functools import cached_property
from typing import Any, Callable
from urllib.parse import quote

import boto3
import botocore.loaders
import botocore.session
import botocore.utils
from botocore.config import Config

from airflow.providers.amazon.aws.hooks.base_aws import BaseSessionFactory, SessionFactory
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk import BaseHook

from humas.airflow_api import AirflowApi
from humas.exceptions import HumasError
from humas.platforms import ClientConfig, PlatformClient, make_client
from humas.store import Store

BUCKET_CONN_ID = "humas_bucket"
# The approval service's own bucket identity: it may write approvals/ and nothing else (see the README).
APPROVALS_CONN_ID = "humas_bucket_approvals"


# botocore's parsed API descriptions (S3's model and endpoint rules), shared by every session of a process
# and read once in the scheduler before it forks the tasks (see preload_botocore_models): parsing them again
# for each step's client was a quarter of the step's CPU. The provider shares a loader so for async sessions.
BOTOCORE_MODELS = botocore.loaders.create_loader()


def preload_botocore_models() -> None:
    """Parse everything an S3 client needs into ``BOTOCORE_MODELS``; no credentials, no request."""
    session = botocore.session.get_session()
    session.register_component("data_loader", BOTOCORE_MODELS)
    session.create_client("s3", region_name="us-east-1", aws_access_key_id="-", aws_secret_access_key="-")


def parse_timestamp(value: str) -> datetime:
    """A timestamp of an S3 answer: ISO 8601 ones (each key of a listing) by ``datetime.fromisoformat``, in
    0.2 us instead of dateutil's 50 us (a third of the triggerer's CPU with 500 items in the inbox); any
    other form as botocore parses it."""
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return botocore.utils.parse_timestamp(value)


class _SharedModelsSessionFactory(BaseSessionFactory):
    """The provider's session factory with one change: its basic session (the one for a connection's own keys)
    reads the API descriptions from ``BOTOCORE_MODELS`` and parses timestamps with ``parse_timestamp``.

    All public: ``BaseSessionFactory`` is the provider's documented way to make sessions one's own way, and
    ``boto3.Session(botocore_session=...)`` takes a botocore session we built, so we keep a hand on it.
    An assumed role, an async session or no connection are left to the provider, which builds those
    sessions itself: they work, only without the shared models (not used by the bucket today).
    """

    @cached_property
    def basic_session(self) -> boto3.session.Session:
        botocore_session = botocore.session.get_session()
        session = boto3.session.Session(botocore_session=botocore_session, **self.conn.session_kwargs)
        # After boto3's setup, which adds its own folder to whatever loader the session has at that moment:
        # done to the shared loader, that folder would be added again for every session.
        botocore_session.register_component("data_loader", BOTOCORE_MODELS)
        botocore_session.get_component("response_parser_factory").set_parser_defaults(
            timestamp_parser=parse_timestamp)
        return session


class _BucketS3Hook(S3Hook):
    """The provider's S3 hook, with the costs of creating its client and parsing its listings taken out.

    Every SOP step creates one client. The provider's ``get_client_type`` puts the calling operator in the
    user agent, found with ``inspect.stack()``, which reads the source file of every frame (a fifth of a
    step's CPU); and each new session parses the API descriptions again (see ``_SharedModelsSessionFactory``).
    Both are taken out by overriding public methods. If a provider upgrade stops going through them (``get_conn``
    no longer calling ``get_client_type``, sessions no longer coming from ``get_session``), nothing breaks:
    the steps only get slower again. tests/unit/test_airflow_internals.py catches that: it fails when making
    the bucket's client walks the stack, reads a model file or parses timestamps with dateutil.
    """

    def get_session(self, region_name: str | None = None, deferrable: bool = False) -> Any:
        if SessionFactory is not BaseSessionFactory:  # the deployment set its own ([aws] session_factory): use it
            return super().get_session(region_name=region_name, deferrable=deferrable)
        return _SharedModelsSessionFactory(conn=self.conn_config, region_name=region_name,
                                           config=self.config).create_session(deferrable=deferrable)

    def get_client_type(self, region_name: str | None = None, config: Config | None = None,
                        deferrable: bool = False) -> Any:
        """The client as the provider makes it (the connection's endpoint, botocore config and ``verify``),
        with ``Caller/HumasBucketHook`` in the user agent instead of the provider's telemetry found on the stack."""
        if deferrable:  # an aiobotocore client: the provider's own way
            return super().get_client_type(region_name=region_name, config=config, deferrable=deferrable)
        config = config or self.config
        config = config.merge(Config(user_agent_extra=" ".join(filter(None, (config.user_agent_extra,
                                                                               "Caller/HumasBucketHook")))))
        return self.get_session(region_name=region_name).client(
            service_name=self.service_name, config=config, verify=self.verify,
            endpoint_url=self.conn_config.get_service_endpoint_url(service_name=self.service_name))


class HumasBucketHook(BaseHook):
    """The pipeline's bucket, from an ``aws`` connection.

    The connection's extra holds ``endpoint_url``, path-style addressing
    (``config_kwargs.s3.addressing_style = path``) and the bucket (``service_config.s3.bucket_name``).
    """

    conn_name_attr = "aws_conn_id"
    default_conn_name = BUCKET_CONN_ID
    conn_type = "aws"
    hook_name = "Humas bucket"

    def __init__(self, aws_conn_id: str = BUCKET_CONN_ID) -> None:
        super().__init__()
        self.aws_conn_id = aws_conn_id

    @cached_property
    def s3(self) -> S3Hook:
        return _BucketS3Hook(aws_conn_id=self.aws_conn_id)

    @cached_property
    def bucket(self) -> str:
        name = self.s3.service_config.get("bucket_name")
        if not name:
            raise HumasError(f"connection {self.aws_conn_id}: set extra service_config.s3.bucket_name to the bucket")
        return name

    def get_store(self) -> Store:
        return Store(self.s3.get_conn(), self.bucket)


class PlatformHook(BaseHook):
    """One social media account, from an ``http`` connection ``humas_<channel>``.

    host: the API base URL; password: the access token; extra: ``account_id`` (ig-user-id, page id or
    X user id), optional ``api_version`` and ``timeout``.
    """

    conn_name_attr = "platform_conn_id"
    conn_type = "http"
    hook_name = "Humas platform account"

    def __init__(self, channel: str, platform_conn_id: str | None = None) -> None:
        super().__init__()
        self.channel = channel
        self.platform_conn_id = platform_conn_id or f"humas_{channel}"

    def get_client(self) -> PlatformClient:
        conn = self.get_connection(self.platform_conn_id)
        extra = conn.extra_dejson
        if not conn.host or not conn.password or not extra.get("account_id"):
            raise HumasError(f"connection {self.platform_conn_id}: needs host (API URL), password (access token) "
                             "and extra.account_id; fix it under Admin > Connections")
        base_url = conn.host if "://" in conn.host else f"{conn.schema or 'https'}://{conn.host}"
        if conn.port:
            base_url = f"{base_url}:{conn.port}"
        config = ClientConfig(base_url=base_url.rstrip("/"), access_token=conn.password,
                              account_id=str(extra["account_id"]), api_version=extra.get("api_version", "v21.0"),
                              timeout=float(extra.get("timeout", 30)))
        return make_client(self.channel, config)


API_CONN_ID = "humas_airflow_api"
RUN_START_RETRY_DELAYS = (1.0, 3.0, None)  # seconds before asking again after a 5xx; None: give up


class AirflowApiHook(BaseHook):
    """Airflow's own REST API, for what a task cannot do from inside its run (send the run back to a step).

    An ``http`` connection ``humas_airflow_api``: host = the API server's base URL, login/password = a
    service account allowed to clear task instances.
    """

    conn_name_attr = "api_conn_id"
    default_conn_name = API_CONN_ID
    conn_type = "http"
    hook_name = "Humas Airflow API"

    def __init__(self, api_conn_id: str = API_CONN_ID, timeout: float = 30) -> None:
        super().__init__()
        self.api_conn_id, self.timeout = api_conn_id, timeout

    def api(self) -> AirflowApi:
        """The API server, signed in as the connection's service account."""
        conn = self.get_connection(self.api_conn_id)
        if not conn.host or not conn.login or not conn.password:
            raise HumasError(f"connection {self.api_conn_id}: needs host (API server URL), login and password "
                             "of a service account; fix it under Admin > Connections")
        return AirflowApi(conn.host, conn.login, conn.password, self.timeout)

    def task_state(self, dag_id: str, run_id: str, task_id: str) -> tuple[str | None, int]:
        """The state and try number of one task instance of one run."""
        resp = self.api().get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")
        resp.raise_for_status()
        return resp.json().get("state"), resp.json().get("try_number", 0)

    def rerun_from(self, dag_id: str, run_id: str, task_id: str, note: str) -> list[str]:
        """Clear ``task_id`` and everything downstream of it in one run, so the run goes back to that step."""
        resp = self.api().post(f"/api/v2/dags/{dag_id}/clearTaskInstances",
                               json={"dry_run": False, "dag_run_id": run_id, "task_ids": [task_id],
                                     "include_downstream": True, "only_failed": False, "reset_dag_runs": True,
                                     "prevent_running_task": True, "note": note[:1000]})
        if resp.status_code >= 400:
            raise HumasError(f"Airflow refused to send run {run_id} back to {task_id}: "
                             f"HTTP {resp.status_code} {resp.text[:300]}")
        return [ti["task_id"] for ti in resp.json().get("task_instances", [])]

    def set_run_note(self, dag_id: str, run_id: str, note: str) -> None:
        """Set the note ops see on the run in the Airflow UI (``PATCH .../dagRuns/{run_id}``, only the note)."""
        resp = self.api().request("PATCH", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}",
                                  params={"update_mask": "note"}, json={"note": note[:1000]})
        if resp.status_code >= 400:
            raise HumasError(f"Airflow refused the note on run {run_id} of {dag_id}: "
                             f"HTTP {resp.status_code} {resp.text[:300]}")

    def schedule_next(self, dag_id: str, run_id: str) -> bool:
        """Ask the scheduler to look at this run in its next loop (``/humas-runs``, see ``run_app``).

        True when the run was put first; False when it is not running (nothing to schedule).
        """
        resp = self.api().post(f"/humas-runs/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"
                               "/schedule-next")
        if resp.status_code >= 400:
            raise HumasError(f"Airflow refused to schedule the next step of run {run_id} of {dag_id}: "
                             f"HTTP {resp.status_code} {resp.text[:300]}")
        return bool(resp.json().get("scheduled_next"))

    def run_starter(self) -> Callable[[str, str, dict[str, Any]], str]:
        """A function that creates one DAG run with a given run id through ``POST /api/v2/dags/{id}/dagRuns``.

        It returns ``"created"``, or ``"exists"`` when Airflow already has a run with that id (409: one run
        per item), and raises ``HumasError`` for any other refusal. One sign-in serves every call, and the
        function may be called from several threads at once (see ``AirflowApi``).
        """
        api = self.api()

        def start_run(dag_id: str, run_id: str, conf: dict[str, Any]) -> str:
            for delay in RUN_START_RETRY_DELAYS:  # a busy API server or database answers 5xx for a moment
                # The logical date is when the item was accepted: the SOP's SLA deadlines count from it.
                accepted = datetime.now(timezone.utc).isoformat()
                resp = api.post(f"/api/v2/dags/{dag_id}/dagRuns",
                                json={"dag_run_id": run_id, "logical_date": accepted, "conf": conf})
                if resp.status_code < 500 or delay is None:
                    break
                time.sleep(delay)
            if resp.status_code == 409:  # the run id is taken, or (very rarely) the logical date: check which
                found = api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
                if found.status_code == 200:
                    return "exists"
            if resp.status_code >= 400:
                raise HumasError(f"Airflow refused to start run {run_id} of {dag_id}: "
                                 f"HTTP {resp.status_code} {resp.text[:300]}")
            return "created"

        return start_run
