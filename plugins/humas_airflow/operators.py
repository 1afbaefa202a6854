"""Operators for the SOP steps: each reads what it needs, calls one core function, writes what it returned."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.triggers.temporal import DateTimeTrigger
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from humas import layout
from humas.assets import check_caption, review_assets
from humas.assets.limits import DEFAULT_LIMITS
from humas.dispatch import actionable_items, plan_runs, record_started
from humas.exceptions import PlatformError, PublishUncertainError
from humas.platforms import ImageRef, PostRequest
from humas.profiles import channel_ids
from humas.publish import publish_once, receipt
from humas.sop import available_sops
from humas.status import record_state

from humas_airflow.hooks import BUCKET_CONN_ID, HumasBucketHook, PlatformHook
from humas_airflow.steps import SopStepMixin, item_id_of
from humas_airflow.triggers import BucketChangeTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context

    from humas.assets import AssetReview
    from humas.store import Store

log = logging.getLogger(__name__)
# How long a design step keeps waiting for a corrected file; lateness is reported long before by the SLA.
CORRECTION_WAIT = timedelta(days=14)


class SopStepOperator(SopStepMixin, BaseOperator):
    """An operator that carries out step ``step_number`` of SOP ``sop_id``."""

    def __init__(self, *, sop_id: str, step_number: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sop_id, self.step_number = sop_id, step_number


class ConceptIntakeOperator(SopStepOperator):
    """Concept intake: validate the brief again, mark the run started, check the narration per channel."""

    def execute(self, context: "Context") -> dict[str, Any]:
        item_id, store = item_id_of(context), self.store()
        record_started(store, item_id, context["dag_run"].dag_id, context["dag_run"].run_id)
        self.enter_step(store, item_id)
        brief = self.load_brief(store, item_id)
        log.info("item %s: %r for %s by %s", item_id, brief.title, ", ".join(brief.channels), brief.submitter)
        if self.step.stage == "concept":
            for finding in check_caption(brief.caption, list(brief.channels)):
                log.warning("caption %s [%s] %s", finding.code, finding.channel or "all", finding.message_en)
        self.check_step_time(context, store, item_id, brief)
        return brief.to_dict()


class DesignCheckOperator(SopStepOperator):
    """Design-asset checks and renditions; on a failing check, wait for a corrected file and check again."""

    def __init__(self, *, poll_interval: float = 5.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.poll_interval = poll_interval

    def execute(self, context: "Context") -> dict[str, Any]:
        return self._check(context)

    def execute_complete(self, context: "Context", event: dict[str, Any]) -> dict[str, Any]:
        if event.get("status") != "changed":
            raise AirflowException(f"waiting for a corrected design failed: {event.get('message')}")
        return self._check(context)

    def _check(self, context: "Context") -> dict[str, Any]:
        item_id, store = item_id_of(context), self.store()
        brief = self.load_brief(store, item_id)
        snapshot = {o.key: o.etag for o in store.list(layout.item_prefix(item_id))}
        # Enough of each file to refuse a huge one without holding it all in memory.
        limit = DEFAULT_LIMITS.max_input_bytes + 1
        assets = [(name, store.get_bytes(layout.asset_key(item_id, name), limit) or b"") for name in brief.assets]
        self.enter_step(store, item_id, message=f"Memeriksa {len(assets)} berkas desain")
        review = review_assets(item_id, assets, list(brief.channels), brief.caption,
                               placement_overrides=dict(brief.placements or {}), fit=brief.fit)
        manifest = self._write_review(store, item_id, review, snapshot)
        log.info("asset findings for %s:\n%s", item_id, review.to_markdown())
        if not review.ok:
            self._send_back(store, item_id, review)
            self.defer(trigger=BucketChangeTrigger(layout.item_prefix(item_id), snapshot, self.aws_conn_id,
                                                   self.poll_interval),
                       method_name="execute_complete", timeout=CORRECTION_WAIT)
        record_state(store, item_id, "assets_passed", step=self.step.task_id,
                     message=f"{len(review.renditions)} berkas siap unggah",
                     details={"links": {"findings": layout.findings_key(item_id, "md"),
                                        "preview": layout.preview_key(item_id)}})
        self.check_step_time(context, store, item_id, brief)
        return manifest

    def _write_review(self, store: "Store", item_id: str, review: "AssetReview",
                      snapshot: dict[str, str]) -> dict[str, Any]:
        renditions = []
        for r in review.renditions:
            key = layout.rendition_key(item_id, r.channel, r.name)
            store.put_bytes(key, r.data, r.content_type, metadata={"sha256": r.sha256, "source": r.source})
            renditions.append({"channel": r.channel, "key": key, "name": r.name, "sha256": r.sha256,
                               "content_type": r.content_type, "width": r.width, "height": r.height})
        if review.preview:
            store.put_bytes(layout.preview_key(item_id), review.preview, "image/jpeg")
        report = {**review.to_json(), "renditions": renditions, "checked_files": snapshot}
        store.put_json(layout.findings_key(item_id), report)
        store.put_bytes(layout.findings_key(item_id, "md"), review.to_markdown().encode(), "text/markdown")
        return {"renditions": renditions, "ok": review.ok}

    def _send_back(self, store: "Store", item_id: str, review: "AssetReview") -> None:
        errors = [f for f in review.findings if f.severity == "error"]
        message = "; ".join(f"{f.asset or 'caption'}: {f.message_id}" for f in errors)
        record_state(store, item_id, "assets_failed", step=self.step.task_id,
                     message=f"Desain dikembalikan ke {self.sop.role(self.step.actor).name}: {message}. "
                             f"Unggah berkas perbaikan ke {layout.item_prefix(item_id)}",
                     details={"findings": [f.to_dict() for f in errors],
                              "links": {"findings": layout.findings_key(item_id, "md")}})


class PublishOperator(SopStepOperator):
    """Upload to every channel in the brief, exactly once each; a retry only re-tries what is missing."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("retries", 3)
        kwargs.setdefault("retry_delay", timedelta(seconds=30))
        super().__init__(**kwargs)

    def execute(self, context: "Context") -> dict[str, Any]:
        item_id, store = item_id_of(context), self.store()
        brief = self.load_brief(store, item_id)
        if brief.publish_at and brief.publish_at > datetime.now(timezone.utc):
            self.enter_step(store, item_id, message=f"Dijadwalkan tayang {brief.publish_at.isoformat()}")
            self.defer(trigger=DateTimeTrigger(moment=brief.publish_at), method_name="execute_complete")
        return self._publish(context)

    def execute_complete(self, context: "Context", event: Any = None) -> dict[str, Any]:
        return self._publish(context)

    def _publish(self, context: "Context") -> dict[str, Any]:
        item_id, store = item_id_of(context), self.store()
        brief = self.load_brief(store, item_id)
        self.enter_step(store, item_id, "publishing", f"Mengunggah ke {', '.join(brief.channels)}")
        renditions = (store.get_json(layout.findings_key(item_id)) or {}).get("renditions", [])
        failures: dict[str, str] = {}
        for channel in brief.channels:
            try:
                post = publish_once(store, PlatformHook(channel).get_client(),
                                    self._post_request(store, item_id, brief.caption, channel, renditions))
                log.info("item %s published on %s: %s", item_id, channel, post.permalink)
            except (PlatformError, PublishUncertainError) as exc:
                failures[channel] = str(exc)
                log.error("item %s not published on %s: %s", item_id, channel, exc)
        if failures:
            record_state(store, item_id, "publish_failed", step=self.step.task_id,
                         message="; ".join(f"{c}: {m}" for c, m in failures.items()), details={"failed": failures})
            raise AirflowException(f"item {item_id}: not published on {', '.join(failures)} "
                                   "(published channels are recorded and will not be posted again on retry)")
        self.check_step_time(context, store, item_id, brief)
        return {"channels": list(brief.channels)}

    @staticmethod
    def _post_request(store: "Store", item_id: str, caption: str, channel: str,
                      renditions: list[dict[str, Any]]) -> PostRequest:
        mine = [r for r in renditions if r["channel"] == channel]
        if not mine:
            raise PlatformError(channel, f"item {item_id} has no renditions for {channel}; "
                                         "the design step must pass for this channel first")
        images = tuple(ImageRef(r["name"], store.presigned_get_url(r["key"]), store.get_bytes(r["key"]) or b"",
                                r["content_type"]) for r in mine)
        return PostRequest(item_id, caption, images)


class RecordReceiptOperator(SopStepOperator):
    """The SOP's output: the link of every post, written as the item's receipt."""

    def execute(self, context: "Context") -> dict[str, Any]:
        item_id, store = item_id_of(context), self.store()
        brief = self.load_brief(store, item_id)
        record = receipt(store, item_id, list(brief.channels), brief.title, self.sop_id)
        store.put_json(layout.receipt_key(item_id), record)
        if not record["complete"]:
            raise AirflowException(f"item {item_id}: receipt incomplete, missing {record['missing']}")
        links = ", ".join(p["permalink"] for p in record["posts"])
        record_state(store, item_id, "published", step=self.step.task_id, message=f"Tautan postingan: {links}",
                     details={"posts": record["posts"], "links": {"receipt": layout.receipt_key(item_id)}})
        return record


class PlanItemRunsOperator(BaseOperator):
    """The dispatcher's decision step: refuse bad briefs (with the reasons), and list the runs to start."""

    def __init__(self, *, aws_conn_id: str = BUCKET_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.aws_conn_id = aws_conn_id

    def execute(self, context: "Context") -> list[dict[str, Any]]:
        store = HumasBucketHook(self.aws_conn_id).get_store()
        sops = available_sops()
        decisions = actionable_items(store, sops, channel_ids())
        for d in decisions:
            (log.warning if d.action == "reject" else log.info)("item %s: %s %s", d.item_id, d.action, d.reason)
        return plan_runs(store, decisions, {sop_id: sop.dag_id for sop_id, sop in sops.items()})
