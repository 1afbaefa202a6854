"""What the design check returns: findings, renditions and the per-item review."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

from humas.assets import report

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)


@dataclass(frozen=True)
class Finding:
    """One result of one check; `error` blocks publishing on `channel` (every channel when None)."""

    code: str
    severity: str
    asset: str | None
    channel: str | None
    message_id: str
    message_en: str

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def blocking(self) -> bool:
        return self.severity == ERROR

    def applies_to(self, channel: str) -> bool:
        return self.channel is None or self.channel == channel


@dataclass(frozen=True)
class Rendition:
    """One file made for one channel from one original asset: an image in ``data``, or a video (``kind``
    "video") in the file at ``path`` with its ``duration`` and ``cover`` (JPEG), or an animated GIF as it is."""

    channel: str
    placement: str
    source: str
    name: str
    data: bytes = field(repr=False)
    sha256: str
    width: int
    height: int
    format: str
    content_type: str
    kind: str = "image"
    path: str | None = None
    duration: float | None = None
    cover: bytes | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        return os.path.getsize(self.path) if self.path else len(self.data)

    def to_dict(self) -> dict:
        """Everything but the bytes (their length is `bytes`) and where the file sits on this machine."""
        meta = {k: v for k, v in asdict(self).items() if k not in ("data", "cover", "path")}
        meta["bytes"] = self.size
        return meta


@dataclass
class AssetReview:
    """The design check of one content item: findings, renditions, the preview sheet and the originals' digests."""

    item_id: str
    findings: list[Finding]
    renditions: list[Rendition]
    preview: bytes | None
    asset_digests: dict[str, str]
    channels: list[str] = field(default_factory=list)
    placements: dict[str, str] = field(default_factory=dict)
    scratch: object | None = field(default=None, repr=False)   # the temporary folder of video renditions, if ours

    @property
    def ok(self) -> bool:
        """True when no finding is an error (every requested channel can publish)."""
        return not any(f.blocking for f in self.findings)

    def blocking_for(self, channel: str) -> list[Finding]:
        """The error findings that stop `channel` from publishing."""
        return [f for f in self.findings if f.blocking and f.applies_to(channel)]

    def publishable(self) -> list[str]:
        """Requested channels with no blocking finding, in request order."""
        return [c for c in self.channels if not self.blocking_for(c)]

    def renditions_for(self, channel: str) -> list[Rendition]:
        return [r for r in self.renditions if r.channel == channel]

    def findings_for(self, asset: str) -> list[Finding]:
        return [f for f in self.findings if f.asset == asset]

    def to_json(self) -> dict:
        """The machine-readable report (no image bytes)."""
        return report.review_json(self)

    def to_markdown(self) -> str:
        """The report staff read, in Bahasa Indonesia."""
        return report.review_markdown(self)

    def log_lines(self) -> list[str]:
        """One English line per finding plus a summary, for the task log."""
        return report.log_lines(self)
