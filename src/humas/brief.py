"""The brief: what staff write in ``inbox/<item>/brief.yaml``, validated with every problem reported at once.

Staff read the problems, so each one's ``message`` and ``fix`` are Bahasa Indonesia (``field`` stays the
YAML key). Every validator copes with any YAML value (a list where text is expected, a mapping, None, a
number, a date) by recording a problem, never by raising; values are quoted with ``short_repr``.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Collection, Mapping

import yaml

from humas.exceptions import BriefError, LayoutError, Problem
from humas.layout import brief_key, check_asset_name, check_item_id
from humas.unitext import brief_text_problems
from humas.profiles import load_profiles
from humas.timetext import WIB
from humas.yamlio import StrictYamlError, load_strict, short_repr

if TYPE_CHECKING:
    from humas.store import Store

FITS = ("pad", "crop")
_REQUIRED = ("title", "caption", "channels", "sop", "assets", "submitter")  # caption, assets: unless a SOP step makes them
_OPTIONAL = ("event_date", "publish_at", "placements", "fit", "notes", "labels", "description")
MAX_TITLE = 200
MAX_DESCRIPTION = 2000
MAX_ASSETS = 20            # more files than any platform takes in one post (Instagram: 10)
MAX_BRIEF_BYTES = 64 * 1024  # a brief is a few lines of text; read at most this + 1 byte
MAX_BRIEF_DEPTH = 6        # top level -> field -> list/mapping -> value, with room to spare
_SHOWN = 5                 # how many offending values a problem names before "dan N lainnya"


@dataclass(frozen=True)
class Brief:
    item_id: str
    title: str
    caption: str
    channels: tuple[str, ...]
    sop: str
    assets: tuple[str, ...]
    submitter: str
    event_date: date | None = None
    publish_at: datetime | None = None
    placements: Mapping[str, str] | None = None
    fit: str = "pad"
    notes: str = ""
    labels: tuple[str, ...] = ()
    description: str = ""  # the idea in a few sentences, for a SOP that considers the idea before the concept
    digest: str = ""  # sha256 of the brief file: what the approvers' flags are bound to

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["event_date"] = self.event_date.isoformat() if self.event_date else None
        data["publish_at"] = self.publish_at.isoformat() if self.publish_at else None
        data["placements"] = dict(self.placements or {})
        return data


def _kind(value: object) -> str:
    """What a YAML value is, in the words staff use."""
    if value is None:
        return "kosong"
    if isinstance(value, bool):
        return f"ya/tidak ({value})"
    if isinstance(value, (int, float)):
        return "angka"
    if isinstance(value, (date, datetime)):
        return "tanggal"
    if isinstance(value, str):
        return "teks"
    if isinstance(value, Mapping):
        return "pemetaan (kunci: nilai)"
    if isinstance(value, (list, tuple, set)):
        return "daftar"
    return "data biner" if isinstance(value, bytes) else type(value).__name__


def _show(values: Collection[object]) -> str:
    """A few values, each quoted short, then how many more."""
    shown = ", ".join(short_repr(v, 40) for v in list(values)[:_SHOWN])
    more = len(values) - _SHOWN
    return f"{shown} dan {more} lainnya" if more > 0 else shown


def _text(raw: Mapping, name: str, problems: list[Problem], max_len: int | None = None) -> str:
    value = raw.get(name)
    if value is None or isinstance(value, str) and not value.strip():
        problems.append(Problem(name, "belum diisi atau kosong", f'tulis {name} sebagai teks, mis. {name}: "..."'))
        return ""
    if not isinstance(value, str):
        problems.append(Problem(name, f"harus berupa teks, bukan {_kind(value)} ({short_repr(value)})",
                                f'tulis {name} sebagai teks dalam tanda kutip, mis. {name}: "..."'))
        return ""
    if max_len and len(value) > max_len:
        problems.append(Problem(name, f"panjangnya {len(value)} karakter, lebih dari batas {max_len}",
                                f"persingkat {name} menjadi paling banyak {max_len} karakter"))
    return value.strip()


def _channels(raw: Mapping, known: Collection[str], problems: list[Problem]) -> tuple[str, ...]:
    value = raw.get("channels")
    allowed = ", ".join(known)
    if not isinstance(value, list) or not value:
        problems.append(Problem("channels", f"harus berupa daftar saluran yang tidak kosong, bukan {_kind(value)}",
                                f"tulis satu atau lebih dari: {allowed}, mis. channels: [instagram, x]"))
        return ()
    unknown = [c for c in value if not (isinstance(c, str) and c in known)]
    if unknown:
        problems.append(Problem("channels", f"saluran tidak dikenal: {_show(unknown)}", f"pakai hanya: {allowed}"))
    chosen = [c for c in value if isinstance(c, str) and c in known]
    if len(set(chosen)) != len(chosen):
        problems.append(Problem("channels", "ada saluran yang ditulis dua kali", "tulis setiap saluran sekali saja"))
    return tuple(dict.fromkeys(chosen))


def _assets(item_id: str, raw: Mapping, problems: list[Problem]) -> tuple[str, ...]:
    value = raw.get("assets")
    if not isinstance(value, list) or not value:
        problems.append(Problem("assets", f"harus berupa daftar nama file yang tidak kosong, bukan {_kind(value)}",
                                "tulis file desain yang diunggah di samping brief, mis. assets: [poster.jpg]"))
        return ()
    if len(value) > MAX_ASSETS:
        problems.append(Problem("assets", f"berisi {len(value)} file, lebih dari batas {MAX_ASSETS}",
                                f"cantumkan paling banyak {MAX_ASSETS} file desain untuk satu postingan"))
        return ()
    names: list[str] = []
    for index, name in enumerate(value):
        if _is_file_name(item_id, name):
            names.append(name)
        else:
            problems.append(Problem(f"assets[{index}]", f"{short_repr(name)} bukan nama file biasa",
                                    "tulis nama file saja, tanpa folder, mis. poster.jpg"))
    if len(set(names)) != len(names):
        problems.append(Problem("assets", "ada file yang ditulis dua kali", "tulis setiap file sekali saja"))
    return tuple(names)


def _delivered_later(raw: Mapping, name: str, sops: Mapping[str, Any], sop_id: str) -> bool:
    """An empty ``caption``/``assets`` in a brief whose SOP has a work step that delivers it: not due yet."""
    produced = getattr(sops.get(sop_id), "delivered_by_work", None)
    return raw.get(name) in (None, "", []) and callable(produced) and produced(name)


def _is_file_name(item_id: str, name: object) -> bool:
    if not isinstance(name, str):  # checked first: the layout error would quote the value whole
        return False
    try:
        check_asset_name(item_id, name)
    except LayoutError:
        return False
    return True


def _sop(raw: Mapping, sops: Mapping[str, Any], problems: list[Problem]) -> str:
    value = raw.get("sop")
    if not isinstance(value, str) or value not in sops:
        problems.append(Problem("sop", f"{short_repr(value)} bukan SOP yang dikenal",
                                f"pakai salah satu: {', '.join(sorted(sops))}"))
        return ""
    return str(value)


def _submitter(raw: Mapping, problems: list[Problem]) -> str:
    value = raw.get("submitter")
    if isinstance(value, Mapping):
        value = value.get("name")
    if not isinstance(value, str) or not value.strip():
        problems.append(Problem("submitter", "belum diisi (harus berupa nama, sebagai teks)",
                                "tulis siapa yang mengajukan, mis. submitter: Ayu (Pranata Humas)"))
        return ""
    return value.strip()


def _event_date(raw: Mapping, problems: list[Problem]) -> date | None:
    value = raw.get("event_date")
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        problems.append(Problem("event_date", f"{short_repr(value)} bukan tanggal",
                                "tulis sebagai YYYY-MM-DD, mis. event_date: 2026-12-01"))
        return None


def _publish_at(raw: Mapping, problems: list[Problem]) -> datetime | None:
    value = raw.get("publish_at")
    if value is None:
        return None
    try:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, (str, date)):
            moment = datetime.fromisoformat(str(value))
        else:
            raise ValueError(value)
    except ValueError:
        problems.append(Problem("publish_at", f"{short_repr(value)} bukan tanggal dan jam",
                                "tulis sebagai YYYY-MM-DDTHH:MM, mis. 2026-12-01T09:00 (WIB bila tanpa zona waktu)"))
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=WIB)


def _placements(raw: Mapping, channels: tuple[str, ...], problems: list[Problem]) -> dict[str, str]:
    value = raw.get("placements") or {}
    if not isinstance(value, Mapping):
        problems.append(Problem("placements", f"harus memetakan saluran ke penempatan, bukan {_kind(value)}",
                                "tulis saluran dan penempatannya, mis. placements: {instagram: story}"))
        return {}
    strays = [c for c in value if c not in channels]
    if strays:
        problems.append(Problem("placements", f"menyebut saluran {_show(strays)} yang tidak ada di channels",
                                "hapus saluran itu dari placements atau tambahkan ke channels"))
    profiles = load_profiles()
    chosen: dict[str, str] = {}
    for channel in (c for c in value if c in channels):
        placement, known = value[channel], profiles[channel].placements if channel in profiles else {}
        if isinstance(placement, str) and placement in known:
            chosen[channel] = placement
        else:
            problems.append(Problem(f"placements.{channel}", f"{short_repr(placement)} bukan penempatan {channel}",
                                    f"pakai salah satu: {', '.join(known)}, mis. placements: {{{channel}: feed}}"))
    return chosen


def _fit(raw: Mapping, problems: list[Problem]) -> str:
    value = raw.get("fit", "pad")
    if isinstance(value, str) and value in FITS:
        return value
    problems.append(Problem("fit", f"{short_repr(value)} bukan cara penyesuaian yang dikenal",
                            "pakai pad (desain utuh, diberi bingkai) atau crop (desain dipotong memenuhi bingkai)"))
    return "pad"


def _description(raw: Mapping, problems: list[Problem]) -> str:
    value = raw.get("description")
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.append(Problem("description", f"harus berupa teks, bukan {_kind(value)}",
                                'tulis gagasan konten sebagai teks, mis. description: "Liputan peresmian pasar"'))
        return ""
    if len(value) > MAX_DESCRIPTION:
        problems.append(Problem("description", f"panjangnya {len(value)} karakter, lebih dari batas {MAX_DESCRIPTION}",
                                f"persingkat description menjadi paling banyak {MAX_DESCRIPTION} karakter"))
    return value.strip()


def _notes(raw: Mapping, problems: list[Problem]) -> str:
    value = raw.get("notes")
    if value is None or isinstance(value, str):
        return (value or "").strip()
    problems.append(Problem("notes", f"harus berupa teks, bukan {_kind(value)}",
                            'tulis catatan sebagai teks dalam tanda kutip, mis. notes: "tolong cek logo"'))
    return ""


def _labels(raw: Mapping, sops: Mapping[str, Any], sop_id: str, problems: list[Problem]) -> tuple[str, ...]:
    """Optional ``labels``: ids the chosen SOP declares in its ``labels`` mapping (e.g. isu_strategis)."""
    value = raw.get("labels")
    if value is None:
        return ()
    declared = getattr(sops.get(sop_id), "labels", None) or {}
    offer = (f"pakai hanya label SOP {sop_id}: {', '.join(declared)}" if declared
             else f"SOP {sop_id or 'ini'} tidak punya label; hapus labels")
    if not isinstance(value, list):
        problems.append(Problem("labels", f"harus berupa daftar label, bukan {_kind(value)}",
                                f"tulis mis. labels: [isu_strategis]; {offer}"))
        return ()
    if not sop_id:  # the SOP problem is already reported; labels cannot be checked without it
        return tuple(v for v in value if isinstance(v, str))
    unknown = [v for v in value if not (isinstance(v, str) and v in declared)]
    if unknown:
        problems.append(Problem("labels", f"label tidak dikenal: {_show(unknown)}", offer))
    chosen = [v for v in value if isinstance(v, str) and v in declared]
    if len(set(chosen)) != len(chosen):
        problems.append(Problem("labels", "ada label yang ditulis dua kali", "tulis setiap label sekali saja"))
    return tuple(dict.fromkeys(chosen))


_SYNTAX_FIX = ("perbaiki penulisan YAML di baris itu: indentasi, tanda kutip, titik dua, tanggal sebagai "
               "YYYY-MM-DD (contoh: include/sample/)")
_LIMIT_WORDS = {  # StrictYamlError.kind -> (message, fix); {value} is the error's short value
    "too_large": (f"lebih besar dari batas {MAX_BRIEF_BYTES // 1024} KiB",
                  "brief cukup beberapa baris teks; persingkat caption/notes, file desain diunggah terpisah"),
    "alias": ("memakai alias YAML (*{value}); alias tidak diizinkan di brief",
              "tulis setiap nilai apa adanya, tanpa & dan *"),
    "too_deep": ("bertingkat terlalu dalam (lebih dari {value} tingkat)",
                 "tulis kolom seperti contoh brief, mis. channels: [instagram, x]"),
    "long_number": ("berisi angka sepanjang {value} karakter, terlalu panjang",
                    'bila itu teks, beri tanda kutip, mis. title: "..."'),
    "tag": ("memakai tag YAML {value} yang tidak diizinkan", "hapus tag yang diawali ! atau !!"),
    "duplicate_key": ("kolom {value} ditulis dua kali (yang pertama akan terabaikan)", "hapus salah satunya"),
    "bad_date": ("{value} bukan tanggal atau jam yang ada", "tulis tanggal yang benar sebagai YYYY-MM-DD"),
}


def _yaml_problem(exc: yaml.YAMLError) -> Problem:
    """One YAML error as a problem staff can act on, naming the line when it is known."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}" if mark else "brief.yaml"
    kind = getattr(exc, "kind", "")
    if isinstance(exc, StrictYamlError) and kind in _LIMIT_WORDS:
        message, fix = _LIMIT_WORDS[kind]
        return Problem(where, message.format(value=exc.value), fix)
    if isinstance(exc, yaml.reader.ReaderError):
        return Problem(where, "bukan teks UTF-8 biasa (berisi byte atau karakter yang tidak diizinkan)",
                       "simpan brief sebagai teks UTF-8 biasa dari editor teks, bukan dokumen Word, PDF atau gambar")
    detail = short_repr(str(getattr(exc, "problem", None) or exc), 80).strip("'\"")
    return Problem(where, f"bukan YAML yang benar ({detail})", _SYNTAX_FIX)


def _load_yaml(item_id: str, text: bytes | str) -> Mapping:
    try:
        raw = load_strict(text, max_bytes=MAX_BRIEF_BYTES, max_depth=MAX_BRIEF_DEPTH)
    except yaml.YAMLError as exc:
        raise BriefError(f"item {item_id} brief.yaml", [_yaml_problem(exc)]) from exc
    if not isinstance(raw, Mapping):
        raise BriefError(f"item {item_id} brief.yaml", [Problem(
            "(top level)", f"harus berupa pemetaan kolom (title:, caption:, ...), bukan {_kind(raw)}",
            "salin contoh brief di include/sample/ atau README 'Writing a brief', lalu isi kolomnya")])
    return raw


def _unknown_fields(raw: Mapping, problems: list[Problem]) -> None:
    allowed = _REQUIRED + _OPTIONAL
    unknown = sorted({k[:40] if isinstance(k, str) else short_repr(k, 40) for k in raw if k not in allowed})
    if unknown:
        more = f" dan {len(unknown) - _SHOWN} lainnya" if len(unknown) > _SHOWN else ""
        problems.append(Problem(", ".join(unknown[:_SHOWN]) + more, "kolom tidak dikenal",
                                f"hapus atau perbaiki namanya; kolom yang boleh: {', '.join(allowed)}"))


def parse_brief(item_id: str, text: bytes | str, sops: Mapping[str, Any], channels: Collection[str]) -> Brief:
    """Validate a brief; raise ``BriefError`` listing every problem (field, what, fix) at once.

    ``sops`` maps SOP id to the SOP (its steps say whether an event date is needed, its ``labels`` which
    labels a brief may carry); ``channels`` are the channel ids the deployment knows. A text over
    ``MAX_BRIEF_BYTES`` is refused unread. Any content gives a ``Brief`` or a ``BriefError``, nothing else.
    """
    check_item_id(item_id)
    raw = _load_yaml(item_id, text)
    problems: list[Problem] = brief_text_problems(raw)  # lone surrogates, bidi overrides, control characters
    _unknown_fields(raw, problems)
    chosen = _channels(raw, channels, problems)
    sop_id = _sop(raw, sops, problems)
    brief = Brief(
        item_id=item_id,
        title=_text(raw, "title", problems, MAX_TITLE),
        caption="" if _delivered_later(raw, "caption", sops, sop_id) else _text(raw, "caption", problems),
        channels=chosen,
        sop=sop_id,
        assets=() if _delivered_later(raw, "assets", sops, sop_id) else _assets(item_id, raw, problems),
        submitter=_submitter(raw, problems),
        event_date=_event_date(raw, problems),
        publish_at=_publish_at(raw, problems),
        placements=_placements(raw, chosen, problems),
        fit=_fit(raw, problems),
        notes=_notes(raw, problems),
        labels=_labels(raw, sops, sop_id, problems),
        description=_description(raw, problems),
        digest=hashlib.sha256(text if isinstance(text, bytes) else text.encode()).hexdigest(),
    )
    _check_event_date_needed(brief, sops, problems)
    if problems:
        raise BriefError(f"item {item_id} brief.yaml", problems)
    return brief


def read_brief_bytes(store: "Store", item_id: str) -> bytes | None:
    """The item's brief from the bucket, at most ``MAX_BRIEF_BYTES + 1`` bytes (enough for ``parse_brief`` to
    refuse an oversized one without holding it); None when there is no brief."""
    return store.get_bytes(brief_key(item_id), max_bytes=MAX_BRIEF_BYTES + 1)


def read_brief(store: "Store", item_id: str, sops: Mapping[str, Any], channels: Collection[str]) -> Brief:
    """The item's brief read from the bucket with the size cap and validated (a missing one is refused as empty);
    raises ``BriefError`` or ``LayoutError`` only, besides the bucket's own errors."""
    return parse_brief(item_id, read_brief_bytes(store, item_id) or b"", sops, channels)


def _check_event_date_needed(brief: Brief, sops: Mapping[str, Any], problems: list[Problem]) -> None:
    sop = sops.get(brief.sop)
    steps = getattr(sop, "steps", ())
    if brief.event_date is None and any(s.time.kind == "before_event" for s in steps):
        problems.append(Problem("event_date", f"wajib diisi untuk SOP {brief.sop} (ada langkah yang jatuh tempo "
                                "sebelum acara)", "tambahkan event_date: YYYY-MM-DD"))
