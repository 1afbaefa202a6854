"""Hooks: the only Airflow code that owns connections (the bucket, the platforms)."""
from __future__ import annotations

from functools import cached_property

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk import BaseHook

from humas.exceptions import HumasError
from humas.platforms import ClientConfig, PlatformClient, make_client
from humas.store import Store

BUCKET_CONN_ID = "humas_bucket"


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
        return S3Hook(aws_conn_id=self.aws_conn_id)

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
