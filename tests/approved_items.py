"""An item taken through intake, design and an approving gate, ready for its upload step (step 4 of the
singkawang SOP), over a real bucket: what the upload tests against the platform sandbox start from."""
from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timezone

import yaml
from PIL import Image

from claims import submit_brief
from humas import layout
from humas.approval import make_flag
from humas.steps.base import ItemStep
from humas.steps.gate import current_review, decide_gate
from humas.steps.intake import take_in
from humas.steps.work import do_work as check_design
from humas.store import Store

CHANNELS = ["instagram", "facebook", "x"]


def poster(seed: int) -> bytes:
    """A plain 4:5 JPEG poster, its colour set by `seed`."""
    out = io.BytesIO()
    Image.new("RGB", (1080, 1350), (seed * 40 % 256, 82, 147)).save(out, "JPEG", quality=85)
    return out.getvalue()


def approved_upload(store: Store, sops: dict, item_id: str, seed: int, key: str, picture: bytes | None = None,
                    channels: list[str] | None = None, name: str = "poster.jpg") -> Callable[[], ItemStep]:
    """Drop an item (its one asset `name`: `picture`, else a plain poster of colour `seed`), take it through intake,
    design and approval (signed with `key`); its upload step."""
    sop = sops["singkawang"]
    brief = {"title": f"Item {seed}", "caption": f"Kabar ke-{seed} #Singkawang", "channels": channels or CHANNELS,
             "sop": "singkawang", "assets": [name], "submitter": "skw.ayu"}
    content_type = "video/mp4" if name.endswith(".mp4") else "image/jpeg"
    store.put_bytes(layout.asset_key(item_id, name), picture or poster(seed), content_type)
    submit_brief(store, item_id, yaml.safe_dump(brief).encode())
    earlier: dict = {}

    def step(number: int) -> ItemStep:
        return ItemStep(store, item_id, sop, sop.steps[number - 1], earlier=earlier.get)
    earlier["step_1_concept"] = take_in(step(1))
    earlier["step_2_design"] = check_design(step(2))
    decide_gate(step(3))
    flag = make_flag(item_id, step(3).step, "approve", "skw.hendra", current_review(step(3)).digest,
                     datetime.now(timezone.utc).isoformat(), key.encode())
    store.put_bytes(layout.approval_key(item_id, "step_3_decision"), flag.to_json(), "application/json")
    earlier["step_3_decision"] = decide_gate(step(3))
    return lambda: step(4)
