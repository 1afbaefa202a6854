"""Operators for the SOP steps: each reads what it needs, calls one core function, writes what it returned."""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.triggers.temporal import DateTimeTrigger
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from humas import layout
from humas.assets import check_assets
from humas.assets.limits import DEFAULT_LIMITS
from humas.brief import parse_brief
from humas.dispatch import record_started
from humas.exceptions import PlatformError, PublishUncertainError
from humas.platforms import ImageRef, PostRequest, text_with_reference
from humas.profiles import channel_ids
from humas.publish import caption_findings, publish_once, receipt
from humas.review import sha256
from humas.sop import available_sops
from humas.status import record_state

from humas_airflow.hooks import API_CONN_ID, PlatformHook
from humas_airflow.reviews import current_review, design_manifest
from humas_airflow.steps import SopStepMixin, item_id_of
from humas_airflow.triggers import BucketChangeTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context

    from humas.assets import AssetReview
    from humas.brief import Brief
    from humas.sop import Step
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
            for finding in caption_findings(brief.caption, item_id, list(brief.channels), dict(brief.placements or {})):
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
        revision = store.get_json(layout.revision_key(item_id)) or {}
        if revision.get("assets") == snapshot:  # sent back for revision and nothing changed yet: wait for it
            self.defer(trigger=BucketChangeTrigger(layout.item_prefix(item_id), snapshot, self.aws_conn_id,
                                                   self.poll_interval),
                       method_name="execute_complete", timeout=CORRECTION_WAIT)
        # Enough of each file to refuse a huge one without holding it all in memory.
        limit = DEFAULT_LIMITS.max_input_bytes + 1
        assets = [(name, store.get_bytes(layout.asset_key(item_id, name), limit) or b"") for name in brief.assets]
        self.enter_step(store, item_id, message=f"Memeriksa {len(assets)} berkas desain")
        review = check_assets(item_id, assets, list(brief.channels), text_with_reference(brief.caption, item_id),
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
        # Returned through Airflow (not the bucket): what the gates review and the upload re-checks. The review
        # id names the files checked, so a retry over the same files is the same review (an approval holds)
        # and a corrected file is a new one.
        review_id = sha256(json.dumps(snapshot, sort_keys=True).encode())
        return {"renditions": renditions, "ok": review.ok, "review_id": review_id,
                "preview_sha256": sha256(review.preview or b"")}

    def _send_back(self, store: "Store", item_id: str, review: "AssetReview") -> None:
        errors = [f for f in review.findings if f.severity == "error"]
        message = "; ".join(f"{f.asset or 'caption'}: {f.message_id}" for f in errors)
        record_state(store, item_id, "assets_failed", step=self.step.task_id,
                     message=f"Desain dikembalikan ke {self.sop.role(self.step.actor).name}: {message}. "
                             f"Unggah berkas perbaikan ke {layout.item_prefix(item_id)}",
                     details={"findings": [f.to_dict() for f in errors],
                              "links": {"findings": layout.findings_key(item_id, "md")}})


class PublishOperator(SopStepOperator):
    """Upload exactly what was approved to every channel in the brief, exactly once each, then record the
    link of every post (the SOP's output for the step) as the item's receipt.

    The brief and renditions are checked against the digest the last approving gate signed off; anything
    changed since sends the run back (an edited brief to that gate, altered renditions to the design step).
    A retry only re-tries the channels that are missing.
    """

    def __init__(self, *, api_conn_id: str = API_CONN_ID, **kwargs: Any) -> None:
        kwargs.setdefault("retries", 3)
        kwargs.setdefault("retry_delay", timedelta(seconds=30))
        super().__init__(**kwargs)
        self.api_conn_id = api_conn_id

    def execute(self, context: "Context") -> dict[str, Any]:
        item_id, store = item_id_of(context), self.store()
        brief = self.load_brief(store, item_id)
        if brief.publish_at and brief.publish_at > datetime.now(timezone.utc):
            self.enter_step(store, item_id, message=f"Dijadwalkan tayang {brief.publish_at.isoformat()}")
            self.defer(trigger=DateTimeTrigger(moment=brief.publish_at), method_name="execute_complete")
        return self._publish(context, store, item_id)

    def execute_complete(self, context: "Context", event: Any = None) -> dict[str, Any]:
        return self._publish(context, self.store(), item_id_of(context))

    def _publish(self, context: "Context", store: "Store", item_id: str) -> dict[str, Any]:
        brief, images = self._approved_content(context, store, item_id)
        self.enter_step(store, item_id, "publishing", f"Mengunggah ke {', '.join(brief.channels)}")
        failures: dict[str, str] = {}
        for channel in brief.channels:
            try:
                mine = images.get(channel)
                if not mine:
                    raise PlatformError(channel, f"item {item_id} has no renditions for {channel}; "
                                                 "the design step must pass for this channel first")
                post = publish_once(store, PlatformHook(channel).get_client(),
                                    PostRequest(item_id, brief.caption, tuple(mine),
                                                placement=(brief.placements or {}).get(channel)))
                log.info("item %s published on %s: %s", item_id, channel, post.permalink)
            except (PlatformError, PublishUncertainError) as exc:
                failures[channel] = str(exc)
                log.error("item %s not published on %s: %s", item_id, channel, exc)
        if failures:
            record_state(store, item_id, "publish_failed", step=self.step.task_id,
                         message="; ".join(f"{c}: {m}" for c, m in failures.items()), details={"failed": failures})
            raise AirflowException(f"item {item_id}: not published on {', '.join(failures)} "
                                   "(published channels are recorded and will not be posted again on retry)")
        record = self._record_links(store, item_id, brief)
        self.check_step_time(context, store, item_id, brief)
        return record

    def _record_links(self, store: "Store", item_id: str, brief: "Brief") -> dict[str, Any]:
        """The step's output: the link of every post, from the publish records, written as the item's receipt."""
        record = receipt(store, item_id, list(brief.channels), brief.title, self.sop_id)
        store.put_json(layout.receipt_key(item_id), record)
        if not record["complete"]:
            raise AirflowException(f"item {item_id}: receipt incomplete, missing {record['missing']}")
        links = ", ".join(p["permalink"] for p in record["posts"])
        record_state(store, item_id, "published", step=self.step.task_id, message=f"Tautan postingan: {links}",
                     details={"posts": record["posts"], "links": {"receipt": layout.receipt_key(item_id)}})
        return record

    def _approved_content(self, context: "Context", store: "Store",
                          item_id: str) -> tuple["Brief", dict[str, list[ImageRef]]]:
        """The brief and renditions exactly as approved; sends the run back if anything changed since."""
        gate, approval = self._last_approval(context)
        review, brief_bytes, _ = current_review(context, store, item_id, self.sop, gate)
        if review.digest != approval.get("review_digest"):
            self._send_back(context, store, item_id, gate, "brief.yaml berubah setelah disetujui")
        images: dict[str, list[ImageRef]] = {}
        # The renditions of the design step before the upload (after the gate, in a SOP that checks the idea
        # before the design exists: then the design step's own checks are what stands for them).
        for r in (design_manifest(context, self.sop, self.step) or {}).get("renditions", []):
            data = store.get_bytes(r["key"]) or b""
            if sha256(data) != r["sha256"]:
                design_step = self.sop.design_before(self.step) or gate
                self._send_back(context, store, item_id, design_step, f"berkas {r['key']} berubah setelah disetujui")
            images.setdefault(r["channel"], []).append(
                ImageRef(r["name"], store.presigned_get_url(r["key"]), data, r["content_type"]))
        return parse_brief(item_id, brief_bytes, available_sops(), channel_ids()), images

    def _last_approval(self, context: "Context") -> tuple["Step", dict[str, Any]]:
        for gate in reversed(self.sop.gates):
            decision = context["ti"].xcom_pull(task_ids=gate.task_id) or {}
            if decision.get("decision") == "approve":
                return gate, decision
        raise AirflowException(f"no gate of SOP {self.sop_id} approved this run; nothing may be published")

    def _send_back(self, context: "Context", store: "Store", item_id: str, step: "Step", what: str) -> None:
        message = f"{what}: dikembalikan ke langkah {step.number} ({step.activity}) untuk ditinjau ulang"
        log.warning("item %s: %s", item_id, message)
        record_state(store, item_id, "changed_after_approval", step=step.task_id, message=message)
        self.rerun_from(context, step, message)

