"""The embedded stack's settings: its home and ports (``StackConfig``), its secrets and logins, and the
environment (``AIRFLOW__*`` settings, ``AIRFLOW_CONN_*`` connections) its components and the humas CLI get."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from humas.exceptions import HumasError
from humas_dev.net import free_port

REPO = Path(__file__).resolve().parents[3]
COMPONENTS = ("postgres", "s3", "sandbox", "scheduler", "dag-processor", "triggerer", "api-server")  # LocalExecutor
EXECUTORS = {"local": "LocalExecutor", "celery": "CeleryExecutor"}
CELERY_CONFIG = "humas_airflow.celery_worker.CELERY_CONFIG"  # Airflow's, with the steps' preload in each worker
DB_USER = DB_NAME = "airflow"
POSTGRES_OS_USER = "postgres"  # PostgreSQL refuses to run as root; Debian's package makes this user
PIPELINE_USER = "humas-pipeline"
PLATFORM_ACCOUNTS = {"instagram": "17841400000000001", "facebook": "100000000000001", "x": "1500000000000000001"}


@dataclass
class StackConfig:
    home: Path = REPO / ".stack"
    s3_port: int = 9000
    sandbox_port: int = 8090
    smtp_port: int = 8025          # the sandbox's SMTP receiver (notification emails)
    airflow_port: int = 8080
    db_port: int = 5433            # not 5432: a system PostgreSQL may already be there
    worker_log_port: int = 8793    # Airflow's own log servers: two stacks on one machine need their own
    trigger_log_port: int = 8794
    bucket: str = "humas"
    # Executor slots. With the steps' modules preloaded (humas_airflow.preload), a step's wall time is mostly
    # waiting on the platforms and the bucket, so 4 slots left the 2 cores half idle (bench.burst --through).
    parallelism: int = 8
    include_dir: Path = REPO / "include"
    airflow_settings: dict[str, str] = field(default_factory=dict)  # AIRFLOW__* overrides (benchmarks)
    bin_dir: Path = field(default_factory=lambda: Path(sys.executable).parent)
    # The scale-out path: executor "celery" adds Redis (the broker) and, per worker "machine", one Celery worker
    # for each queue of humas.queues (light steps, media work), each with `worker_slots` task slots.
    executor: str = "local"
    workers: int = 2
    worker_slots: int = 4
    triggerers: int = 1            # Airflow runs several for high availability; each takes a share of triggers
    redis_port: int = 6380         # not 6379: a system Redis may already be there

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor {self.executor!r}: use one of {', '.join(EXECUTORS)}")
        if self.workers < 1 or self.worker_slots < 1 or self.triggerers < 1:
            raise ValueError("workers, worker_slots and triggerers must each be at least 1")

    @classmethod
    def on_free_ports(cls, prefix: str, **settings: object) -> "StackConfig":
        """A throw-away stack (tests, benchmarks) in a new home under the temp dir, every port free.

        The home is 0711 so PostgreSQL's own user can reach its data folder when we run as root
        (pytest's and mkdtemp's folders are 0700).
        """
        home = Path(tempfile.mkdtemp(prefix=prefix))
        home.chmod(0o711)
        ports = {name: free_port() for name in
                 ("s3_port", "sandbox_port", "smtp_port", "airflow_port", "db_port", "worker_log_port",
                  "trigger_log_port", "redis_port")}
        return cls(home=home / "stack", **{**ports, **settings})  # type: ignore[arg-type]

    @property
    def components(self) -> tuple[str, ...]:
        """The stack's components in start order: the LocalExecutor's set, plus Redis and the Celery workers
        (``worker-<queue>-<n>``) with executor "celery", plus ``triggerer-<n>`` beyond the first."""
        from humas.queues import QUEUES

        celery = self.executor == "celery"
        extra_triggerers = tuple(f"triggerer-{n}" for n in range(2, self.triggerers + 1))
        workers = tuple(f"worker-{queue}-{n}" for n in range(1, self.workers + 1) for queue in QUEUES)
        return (*COMPONENTS[:3], *(("redis",) if celery else ()), *COMPONENTS[3:], *extra_triggerers,
                *(workers if celery else ()))

    @property
    def slots(self) -> int:
        """Task slots in all: the executor's parallelism, or every Celery worker's."""
        from humas.queues import QUEUES

        return self.parallelism if self.executor == "local" else self.workers * len(QUEUES) * self.worker_slots

    @property
    def s3_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    @property
    def airflow_url(self) -> str:
        return f"http://127.0.0.1:{self.airflow_port}"


def load_secrets(cfg: StackConfig) -> dict[str, str]:
    """Generated once per stack home, kept out of the repo (mode 600); a secret added later is generated then."""
    path = cfg.home / "secrets.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    values = {name: secrets.token_urlsafe(24) for name in
              ("s3_access_key", "s3_secret_key", "platform_token", "admin_password", "pipeline_password",
               "db_password")}
    values["jwt_secret"] = secrets.token_urlsafe(64)  # HS512 wants at least 64 bytes
    values["approval_key"] = secrets.token_urlsafe(48)  # signs approval flags; never in the bucket
    # One Fernet key for every component: trigger and callback kwargs are encrypted by one, read by another.
    values["fernet_key"] = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    if set(values) <= set(known):
        return known
    cfg.home.mkdir(parents=True, exist_ok=True)
    values.update(known)
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values


def bucket_keys(cfg: StackConfig) -> dict[str, dict[str, str]]:
    """Each bucket identity's key (``humas_dev.stack.principals``), made when the S3 server started."""
    path = cfg.home / "bucket-keys.json"
    if not path.exists():
        raise HumasError(f"{path} is missing: the S3 server was not started by this stack (make stop && make run)")
    return json.loads(path.read_text())


def write_bucket_keys(cfg: StackConfig, keys: dict[str, dict[str, str]]) -> None:
    path = cfg.home / "bucket-keys.json"
    path.write_text(json.dumps(keys, indent=1))
    path.chmod(0o600)


def _bucket_connection(cfg: StackConfig, keys: dict[str, str]) -> str:
    return json.dumps({"conn_type": "aws", "login": keys["access_key"], "password": keys["secret_key"],
                       "extra": {"endpoint_url": cfg.s3_url, "region_name": "us-east-1",
                                 "config_kwargs": {"s3": {"addressing_style": "path"}},
                                 "service_config": {"s3": {"bucket_name": cfg.bucket}}}})


def _connections(cfg: StackConfig, sec: dict[str, str]) -> dict[str, str]:
    from humas_dev.stack.principals import APPROVALS, PIPELINE

    keys = bucket_keys(cfg)
    conns = {"AIRFLOW_CONN_HUMAS_BUCKET": _bucket_connection(cfg, keys[PIPELINE]),
             "AIRFLOW_CONN_HUMAS_BUCKET_APPROVALS": _bucket_connection(cfg, keys[APPROVALS]),
             "AIRFLOW_CONN_HUMAS_AIRFLOW_API": json.dumps({"conn_type": "http", "host": cfg.airflow_url,
                                                           "login": PIPELINE_USER,
                                                           "password": sec["pipeline_password"]})}
    for channel, account in PLATFORM_ACCOUNTS.items():
        conns[f"AIRFLOW_CONN_HUMAS_{channel.upper()}"] = json.dumps(
            {"conn_type": "http", "host": cfg.sandbox_url, "password": sec["platform_token"],
             "extra": {"account_id": account, "api_version": "v21.0", "timeout": 10}})
    return {**conns, **_notification_connections(cfg, sec)}


def _notification_connections(cfg: StackConfig, sec: dict[str, str]) -> dict[str, str]:
    """Email, Telegram and WhatsApp point at the sandbox's receivers (``/_sandbox/messages`` lists them)."""
    smtp = {"conn_type": "smtp", "host": "127.0.0.1", "port": cfg.smtp_port,
            "extra": {"from_email": "Humas Pipeline <humas@localhost>", "disable_tls": True, "disable_ssl": True,
                      "timeout": 10, "retry_limit": 1}}
    telegram = {"conn_type": "http", "host": cfg.sandbox_url, "password": sec["platform_token"]}
    whatsapp = {"conn_type": "http", "host": cfg.sandbox_url, "password": sec["platform_token"],
                "extra": {"phone_number_id": "109000000000001", "api_version": "v21.0"}}
    return {"AIRFLOW_CONN_SMTP_DEFAULT": json.dumps(smtp), "AIRFLOW_CONN_HUMAS_TELEGRAM": json.dumps(telegram),
            "AIRFLOW_CONN_HUMAS_WHATSAPP": json.dumps(whatsapp)}


SAMPLE_STAFF = "skw.ayu"  # whose credential .stack/humas.env holds: the sample item's submitter


def client_env(cfg: StackConfig, sec: dict[str, str], login: str = SAMPLE_STAFF) -> dict[str, str]:
    """What the humas CLI and boto3 need to reach the bucket as ``login``: that person's own key, nothing more."""
    keys = bucket_keys(cfg)[login]
    return {"HUMAS_S3_ENDPOINT_URL": cfg.s3_url, "HUMAS_BUCKET": cfg.bucket, "HUMAS_USER": login,
            "AWS_ACCESS_KEY_ID": keys["access_key"], "AWS_SECRET_ACCESS_KEY": keys["secret_key"],
            "AWS_DEFAULT_REGION": "us-east-1", "HUMAS_AIRFLOW_URL": cfg.airflow_url,
            "HUMAS_SANDBOX_URL": cfg.sandbox_url, "HUMAS_INCLUDE_DIR": str(cfg.include_dir)}


def airflow_env(cfg: StackConfig, sec: dict[str, str]) -> dict[str, str]:
    """Airflow sized for a 2-core machine: 8 executor slots, one API worker, the stack's PostgreSQL."""
    home = cfg.home / "airflow"
    settings = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": EXECUTORS[cfg.executor],
        "AIRFLOW__CORE__PARALLELISM": str(cfg.slots),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, r in airflow_users(cfg).items()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(cfg.home / "passwords.json"),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{cfg.airflow_url}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url(cfg, sec),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(cfg.airflow_port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__BASE_URL": cfg.airflow_url,
        "AIRFLOW__API_AUTH__JWT_SECRET": sec["jwt_secret"],
        "AIRFLOW__CORE__FERNET_KEY": sec["fernet_key"],
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "60",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        # Items waiting at gates keep their runs running; the scheduler looks at this many running runs per
        # loop, never-looked-at first (about 7 ms of CPU each here). A run whose step ended is put first (see
        # humas_airflow.run_app), so the turns only catch what nobody reports (a retry after its delay). With
        # 500 waiting (bench.scheduler_sweep): 5 per loop: scheduler 0.10 cores, a flag's next task running
        # after 3.2 s (p95 4.0); 20 (Airflow's default): 0.24 cores, 3.8 s (p95 4.8); 100: 0.50 cores, 7.6 s.
        "AIRFLOW__SCHEDULER__MAX_DAGRUNS_PER_LOOP_TO_SCHEDULE": "5",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(cfg.worker_log_port),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(cfg.trigger_log_port),
        "HUMAS_INCLUDE_DIR": str(cfg.include_dir),
        "HUMAS_APPROVAL_KEY": sec["approval_key"],
        "HUMAS_WEBHOOK_TOKEN": webhook_token(sec),
        "HUMAS_UI_URL": cfg.airflow_url,  # the approval page's address in notifications
    }
    return {**settings, **_celery_env(cfg, sec), **cfg.airflow_settings, **_connections(cfg, sec),
            "NO_PROXY": "*", "no_proxy": "*"}


def _celery_env(cfg: StackConfig, sec: dict[str, str]) -> dict[str, str]:
    """CeleryExecutor's settings: Redis as the broker and for the results (as docker-compose.yml), one task at a
    time per free slot (no prefetching: a worker busy with uploads must not hold tasks another could run)."""
    from humas.queues import LIGHT

    if cfg.executor != "celery":
        return {}
    return {"AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{cfg.redis_port}/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"redis://127.0.0.1:{cfg.redis_port}/1",
            "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
            "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": CELERY_CONFIG,
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": LIGHT}


def webhook_token(sec: dict[str, str]) -> str:
    """The bearer token the bucket's event webhook (``/humas-intake``) expects, derived from the stack's secrets."""
    return hmac.new(sec["jwt_secret"].encode(), b"humas-intake-webhook", hashlib.sha256).hexdigest()


def db_url(cfg: StackConfig, sec: dict[str, str]) -> str:
    return f"postgresql+psycopg2://{DB_USER}:{sec['db_password']}@127.0.0.1:{cfg.db_port}/{DB_NAME}"


def airflow_users(cfg: StackConfig) -> dict[str, str]:
    """Airflow logins and their Airflow roles: the admin, the pipeline's service account, everyone in a roster."""
    from humas.roster import load_roster
    from humas.sop import available_sops

    users = {"admin": "admin", PIPELINE_USER: "admin"}
    for sop in available_sops(cfg.include_dir / "sops").values():
        try:
            users.update({person_id: "viewer" for person_id in load_roster(sop, cfg.include_dir / "rosters" / f"{sop.id}.yaml").people})
        except HumasError as exc:  # the SOP's gates then wait until its roster is fixed; say so at start-up
            print(f"warning: {exc}", file=sys.stderr)
    return users


def passwords(cfg: StackConfig) -> dict[str, str]:
    """Every login's password: generated once per stack home and kept in ``passwords.json`` (mode 600)."""
    path, sec = cfg.home / "passwords.json", load_secrets(cfg)
    known = json.loads(path.read_text()) if path.exists() else {}
    known.update(admin=sec["admin_password"], **{PIPELINE_USER: sec["pipeline_password"]})
    for user in airflow_users(cfg):
        known.setdefault(user, secrets.token_urlsafe(12))
    return known


def _write_passwords(cfg: StackConfig, sec: dict[str, str]) -> None:
    path = cfg.home / "passwords.json"
    path.write_text(json.dumps(passwords(cfg), indent=1))
    path.chmod(0o600)


def _write_client_env(cfg: StackConfig, sec: dict[str, str]) -> Path:
    """``humas.env`` (the sample submitter's) and ``staff/<login>.env`` for every roster login, each mode 600."""
    from humas_dev.stack.principals import IDENTITIES

    (cfg.home / "staff").mkdir(mode=0o700, exist_ok=True)
    for login in bucket_keys(cfg):
        if login not in IDENTITIES:
            _write_env_file(cfg.home / "staff" / f"{login}.env", client_env(cfg, sec, login))
    return _write_env_file(cfg.home / "humas.env", client_env(cfg, sec))


def _write_env_file(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"export {k}={v}\n" for k, v in values.items()))
    path.chmod(0o600)
    return path


def _component_env(cfg: StackConfig, sec: dict[str, str]) -> dict[str, str]:
    """What the Airflow components and the sandbox are started with."""
    return {**airflow_env(cfg, sec), "HUMAS_SANDBOX_TOKEN": sec["platform_token"]}
