"""Which executor queue each kind of SOP step runs on, so a slow upload or transcode never delays a gate.

CeleryExecutor (the scale-out path) sends each task to its queue and each queue has Celery workers of its own:
``light`` (intake, gates, the dispatcher: a moment of work, then a wait in the triggerer) and ``media`` (design
checks with their renditions, and uploads, which wait on the platforms). LocalExecutor ignores queues.
"""
from __future__ import annotations

LIGHT = "light"
MEDIA = "media"
QUEUES = (LIGHT, MEDIA)

# step kind (``humas.sop.STAGE_KINDS``) -> queue
KIND_QUEUES: dict[str, str] = {"intake": LIGHT, "gate": LIGHT, "work": MEDIA, "upload": MEDIA}
