"""The findings report: machine-readable JSON, a Bahasa Indonesia Markdown page, and English log lines."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from humas.assets.model import AssetReview, Finding

_SECTIONS = (
    ("error", "Harus diperbaiki"),
    ("warning", "Peringatan (tidak menghalangi terbit, tetapi periksa)"),
    ("info", "Catatan (sudah ditangani otomatis)"),
)


def _counts(review: AssetReview) -> dict[str, int]:
    return {severity: sum(f.severity == severity for f in review.findings) for severity in ("error", "warning", "info")}


def _channel_json(review: AssetReview, channel: str) -> dict:
    blocking = review.blocking_for(channel)
    return {
        "placement": review.placements.get(channel),
        "publishable": not blocking,
        "blocking": sorted({f.code for f in blocking}),
        "renditions": [r.name for r in review.renditions_for(channel)],
    }


def _asset_json(review: AssetReview, name: str, digest: str) -> dict:
    findings = review.findings_for(name)
    return {"name": name, "sha256": digest, "ok": not any(f.blocking for f in findings),
            "codes": sorted({f.code for f in findings})}


def review_json(review: AssetReview) -> dict:
    """The machine-readable report: verdict per channel and asset, every finding, rendition metadata."""
    return {
        "item_id": review.item_id,
        "ok": review.ok,
        "summary": _counts(review),
        "channels": {c: _channel_json(review, c) for c in review.channels},
        "assets": [_asset_json(review, name, digest) for name, digest in review.asset_digests.items()],
        "findings": [f.to_dict() for f in review.findings],
        "renditions": [r.to_dict() for r in review.renditions],
        "preview": review.preview is not None,
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _channel_rows(review: AssetReview) -> list[str]:
    rows = ["| Kanal | Penempatan | Status | Berkas terbit |", "|---|---|---|---|"]
    for channel in review.channels:
        blocking = sorted({f.code for f in review.blocking_for(channel)})
        status = "Siap" if not blocking else "Diblokir: " + ", ".join(f"`{c}`" for c in blocking)
        count = len(review.renditions_for(channel)) or "-"
        rows.append(f"| {channel} | {review.placements.get(channel, '-')} | {status} | {count} |")
    return rows


def _finding_line(finding: Finding) -> str:
    where = f"**{_cell(finding.asset)}**" if finding.asset else "**Item/keterangan**"
    scope = f" · {finding.channel}" if finding.channel else ""
    return f"- {where}{scope}: {finding.message_id} (`{finding.code}`)"


def _headline(review: AssetReview) -> str:
    errors = _counts(review)["error"]
    if not errors:
        return "**Hasil: SIAP TERBIT** - semua kanal lolos pemeriksaan desain."
    return (f"**Hasil: PERLU PERBAIKAN** - {errors} masalah harus diperbaiki sebelum item ini bisa terbit di "
            "kanal yang diblokir. Unggah berkas perbaikan ke folder item; pemeriksaan diulang otomatis.")


def review_markdown(review: AssetReview) -> str:
    """The report staff read, in Bahasa Indonesia: verdict, per-channel table, findings by severity, originals."""
    lines = [f"# Pemeriksaan desain: {review.item_id}", "", _headline(review), "", *_channel_rows(review)]
    for severity, title in _SECTIONS:
        chosen = [f for f in review.findings if f.severity == severity]
        if chosen:
            lines += ["", f"## {title}", "", *(_finding_line(f) for f in chosen)]
    lines += ["", "## Berkas asli (tidak diubah)", "", "| Berkas | SHA-256 |", "|---|---|"]
    lines += [f"| {_cell(name)} | `{digest}` |" for name, digest in review.asset_digests.items()]
    return "\n".join(lines) + "\n"


def log_lines(review: AssetReview) -> list[str]:
    """English lines for the task log: a summary, then one line per finding."""
    counts = _counts(review)
    head = (f"item {review.item_id}: {'publishable' if review.ok else 'sent back to the designer'}; "
            f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} note(s); "
            f"publishable on: {', '.join(review.publishable()) or 'none'}")
    body = [f"{f.severity.upper()} {f.code} asset={f.asset or '-'} channel={f.channel or '*'}: {f.message_en}"
            for f in review.findings]
    return [head, *body]
