"""SOPs as data: the model of a Humas SOP and the loader of its YAML file in ``include/sops/``.

A SOP file is the single source of truth for one agency's procedure: its roles, its steps (activity,
actor, stage, standard time, material, output) and the readings that had to be inferred from the source
document. DAG shape, task ids, SLA budgets and approval roles are all derived from it, so adding an
agency needs only a new YAML file.

Validation collects every problem in a file before raising one ``SopError``; each ``Problem`` names the
field path (``steps[2].actor``, ``steps[3].time.minutes``; list indices count from 0, as in the brief),
what is wrong and how to fix it.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Mapping, Sequence, TypeGuard

import yaml

from humas.exceptions import Problem, SopError
from humas.resources import cached, sops_dir
from humas.timetext import duration_words
from humas.yamlio import load_strict

__all__ = [
    "DELIVERABLES", "GATE_STAGES", "STAGES", "STAGE_KINDS", "WORK_DELIVERS", "STEP_KINDS", "Role", "Sop", "StandardTime", "Step", "available_sops",
    "available_sops_report", "load_sop", "load_sops_report", "parse_sop", "sop_files",
]

# The one table of what the pipeline does at each SOP stage. Each kind has one core module,
# ``humas.steps.<kind>``, and one Airflow adapter (``humas_airflow.dag_factory.KIND_TASKS``):
#   intake  the item enters the SOP, or passes a step whose product the pipeline does not hold (its brief
#           checked again)
#   work    a person makes part of the content (``WORK_DELIVERS``): the step waits until they deliver it
#   gate    a named role decides: approve, send back, or decline
#   upload  the approved content is posted, exactly once, and the links recorded
STAGE_KINDS: Mapping[str, str] = {
    "idea_intake": "intake", "idea_consideration": "gate", "assignment": "intake", "concept": "work",
    "coverage": "work", "design": "work", "correction": "gate", "decision": "gate", "upload": "upload",
}
# What a person delivers at each work stage (a step's ``delivers`` may say otherwise): ``caption`` is the
# narration (the brief's caption), ``assets`` the files to post (photos of the coverage, the design files).
DELIVERABLES: tuple[str, ...] = ("caption", "assets")
WORK_DELIVERS: Mapping[str, tuple[str, ...]] = {"concept": ("caption",), "coverage": ("assets",),
                                                "design": ("assets",)}
STAGES: tuple[str, ...] = tuple(STAGE_KINDS)
STEP_KINDS: tuple[str, ...] = ("intake", "work", "gate", "upload")
# Steps a human decides through a signed flag that the gate sees.
GATE_STAGES: frozenset[str] = frozenset(stage for stage, kind in STAGE_KINDS.items() if kind == "gate")

_ID = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
_ROLE_ID = re.compile(r"^[a-z][a-z0-9_]*$")
# Header text fields: name -> (required, may be empty). Blank form fields in a SOP stay empty strings.
_HEADER: dict[str, tuple[bool, bool]] = {
    "agency": (True, False), "number": (True, True), "title": (True, False), "created": (False, True),
    "revised": (False, True), "effective": (True, True), "approved_by": (True, False), "source": (True, False),
}
_TOP_KEYS = ("id", *_HEADER, "records", "roles", "labels", "steps", "assumptions")
_ROLE_KEYS = ("id", "name")
_STEP_KEYS = ("number", "activity", "actor", "stage", "time", "material", "output", "note", "when_label",
              "revise_to", "delivers")
_TIME_KINDS: dict[str, str] = {"minutes": "duration", "before_event_minutes": "before_event", "flexible": "flexible"}
_TIME_KEYS = ("text", *_TIME_KINDS)
_TIME_EXAMPLE = ('{text: "30 menit", minutes: 30}, {text: "1 Hari sebelum pelaksanaan", '
                 'before_event_minutes: 1440} or {text: "Menyesuaikan", flexible: true}')


@dataclass(frozen=True)
class StandardTime:
    """A step's standard time ("mutu baku waktu"), keeping the SOP's own text verbatim.

    ``kind`` is ``duration`` (``minutes`` is the budget), ``before_event`` (the step is due
    ``before_event_minutes`` before the event date) or ``flexible`` ("Menyesuaikan": no standard).
    """

    text: str
    kind: str
    minutes: int | None = None
    before_event_minutes: int | None = None

    def __post_init__(self) -> None:
        expected = {"duration": (True, False), "before_event": (False, True), "flexible": (False, False)}
        if expected.get(self.kind) != (self.minutes is not None, self.before_event_minutes is not None):
            raise ValueError(f"StandardTime {self.text!r}: kind {self.kind!r} does not fit "
                             f"minutes={self.minutes!r}, before_event_minutes={self.before_event_minutes!r}")

    def describe(self) -> str:
        """A short Bahasa Indonesia label: ``30 menit``, ``1 jam 30 menit``, ``1 hari sebelum acara``,
        ``menyesuaikan``."""
        if self.kind == "duration":
            return duration_words(timedelta(minutes=self.minutes or 0))
        if self.kind == "before_event":
            return f"{duration_words(timedelta(minutes=self.before_event_minutes or 0))} sebelum acara"
        return "menyesuaikan"


@dataclass(frozen=True)
class Role:
    """A Pelaksana column of the SOP table: a snake_case id and the SOP's own name for it."""

    id: str
    name: str


@dataclass(frozen=True)
class Step:
    """One row of the SOP table."""

    number: int
    activity: str
    actor: str
    stage: str
    time: StandardTime
    material: str
    output: str
    note: str = ""
    when_label: str = ""  # a gate that applies only to briefs carrying this label (e.g. isu_strategis)
    revise_to: int | None = None  # where this gate's "revise" sends the run (default: the design before it)
    delivers: tuple[str, ...] = ()  # a work step's products when they differ from its stage's (WORK_DELIVERS)

    @property
    def deliverables(self) -> tuple[str, ...]:
        """What the step's person delivers (``DELIVERABLES``); none for a step that is not a work step."""
        return self.delivers or WORK_DELIVERS.get(self.stage, ())

    @property
    def task_id(self) -> str:
        """The stable Airflow task id of this step, e.g. ``step_3_decision``."""
        return f"step_{self.number}_{self.stage}"

    @property
    def kind(self) -> str:
        """What the pipeline does at this step: ``intake``, ``work``, ``gate`` or ``upload`` (``STAGE_KINDS``)."""
        return STAGE_KINDS[self.stage]

    @property
    def is_gate(self) -> bool:
        """Whether a named role decides this step through a signed flag."""
        return self.kind == "gate"


@dataclass(frozen=True)
class Sop:
    """One agency's SOP, validated. ``created`` and ``revised`` are optional header dates (may be empty)."""

    id: str
    agency: str
    number: str
    title: str
    effective: str
    approved_by: str
    source: str
    records: tuple[str, ...]
    roles: tuple[Role, ...]
    steps: tuple[Step, ...]
    assumptions: tuple[str, ...]
    path: str
    created: str = ""
    revised: str = ""
    labels: Mapping[str, str] | None = None  # label id -> what it means; briefs may carry these labels

    @property
    def dag_id(self) -> str:
        """The id of the DAG generated from this SOP."""
        return f"humas_sop_{self.id}"

    def role(self, role_id: str) -> Role:
        """The role with this id; ``KeyError`` naming the declared roles if there is none."""
        for role in self.roles:
            if role.id == role_id:
                return role
        declared = ", ".join(r.id for r in self.roles)
        raise KeyError(f"SOP {self.id} ({self.path}) has no role {role_id!r}; declared roles: {declared}")

    @property
    def gates(self) -> tuple[Step, ...]:
        """The steps a human approves through a flag, in order."""
        return tuple(step for step in self.steps if step.is_gate)

    def delivered_by_work(self, what: str) -> bool:
        """Whether a work step of this SOP produces ``what`` (``caption`` or ``assets``): a brief may omit it."""
        return any(what in step.deliverables for step in self.steps)

    def design_before(self, step: Step) -> Step | None:
        """The last design step before ``step`` (where a "revise" decision sends the item back), if any."""
        return next((s for s in reversed(self.steps[: step.number - 1]) if s.stage == "design"), None)

    def revise_target(self, step: Step) -> Step | None:
        """Where a "revise" at gate ``step`` sends the run: its ``revise_to`` step, else the design before it."""
        if step.revise_to:
            return self.steps[step.revise_to - 1]
        return self.design_before(step)

    def table_markdown(self) -> str:
        """The SOP table as Markdown for a DAG's ``doc_md``: header facts, the steps, then the assumptions."""
        lines = [f"### SOP {self.title}", "", *self._facts_markdown(), "",
                 "| No | Kegiatan | Pelaksana | Kelengkapan | Waktu | Output | Keterangan |",
                 "|---:|---|---|---|---|---|---|"]
        lines += [self._row_markdown(step) for step in self.steps]
        if self.assumptions:
            lines += ["", "#### Asumsi pembacaan (assumptions)", ""]
            lines += [f"- {_cell(text)}" for text in self.assumptions]
        return "\n".join(lines) + "\n"

    def _facts_markdown(self) -> list[str]:
        facts = [("Instansi", self.agency), ("Nomor SOP", self.number), ("Tanggal pembuatan", self.created),
                 ("Tanggal revisi", self.revised), ("Tanggal efektif", self.effective),
                 ("Disahkan oleh", self.approved_by), ("Pencatatan dan pendataan", "; ".join(self.records)),
                 ("Sumber", f"{self.source} (file {Path(self.path).name})")]
        return [f"- **{label}:** {_cell(value) or '-'}" for label, value in facts]

    def _row_markdown(self, step: Step) -> str:
        cells = [str(step.number), step.activity, self.role(step.actor).name, step.material,
                 step.time.text, step.output, step.note]
        return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


def _cell(text: str) -> str:
    """Text made safe for one Markdown table cell (no pipes, no line breaks)."""
    return " ".join(text.split()).replace("|", "\\|")


# ---------------------------------------------------------------------------------------------- loading


def load_sops_report(directory: str | Path | None = None) -> tuple[dict[str, Sop], list[SopError]]:
    """Every SOP that loads, keyed by id and sorted, and the error of each file that does not (a bad file, or a
    second file declaring an id already loaded): one bad file never stops the rest.

    The running pipeline uses this (a typo in one agency's file must not halt the others); the DAG file
    shows each error as a placeholder DAG. Tests and tooling that want every file to load assert that the
    error list is empty. Most callers want ``available_sops_report``, which keeps the result.
    """
    folder = Path(directory) if directory is not None else sops_dir()
    sops: dict[str, Sop] = {}
    errors: list[SopError] = []
    for path in sop_files(folder):
        try:
            sop = load_sop(path)
        except SopError as exc:
            errors.append(exc)
            continue
        if sop.id in sops:
            errors.append(SopError(str(path), [Problem("id", f"{sop.id!r} is already defined in {sops[sop.id].path}",
                                                       "keep one file per SOP id: delete or rename one of them")]))
            continue
        sops[sop.id] = sop
    return dict(sorted(sops.items())), errors


def available_sops(directory: str | Path | None = None) -> dict[str, Sop]:
    """The SOPs that load, keyed by id (see ``load_sops_report``); kept as ``available_sops_report`` says."""
    return available_sops_report(directory)[0]


def available_sops_report(directory: str | Path | None = None) -> tuple[dict[str, Sop], list[SopError]]:
    """``load_sops_report``, kept per folder and re-read only when a SOP file is added, removed or changed
    (``humas.resources.cached``).

    Long-lived callers ask again and again (the triggerer polls the inbox every few seconds), and so does
    every task: a process forked from one that has read the files (see humas_airflow.preload) only stats them.
    """
    folder = (Path(directory) if directory is not None else sops_dir()).resolve()
    sops, errors = cached(folder, load_sops_report, files=sop_files)
    return dict(sops), list(errors)


def sop_files(folder: Path) -> list[Path]:
    """The SOP files in ``folder``: ``*.yaml`` and ``*.yml``, hidden files left out; none if it is no folder."""
    if not folder.is_dir():
        return []
    files = [*folder.glob("*.yaml"), *folder.glob("*.yml")]
    return sorted(path for path in files if path.is_file() and not path.name.startswith("."))


def load_sop(path: str | Path) -> Sop:
    """Read and validate one SOP file; its ``id`` must equal the file name's stem."""
    path = Path(path)
    return _parse(_read_yaml(path), str(path), expected_id=path.stem)


def parse_sop(raw: object, source: str) -> Sop:
    """Validate an already parsed YAML document; raise ``SopError(source, problems)`` listing every problem."""
    return _parse(raw, source)


def _read_yaml(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SopError(str(path), [Problem("(file)", f"cannot be read ({exc})",
                                           "check that the file exists and is UTF-8 text")]) from exc
    try:
        return load_strict(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        detail = getattr(exc, "problem", None) or str(exc)
        column = f", column {mark.column + 1}" if mark else ""
        raise SopError(str(path), [Problem(where, f"is not valid YAML ({detail}{column})",
                                           "fix the YAML syntax: indentation, quotes, colons, duplicate keys")]) from exc


def _parse(raw: object, source: str, expected_id: str | None = None) -> Sop:
    if not isinstance(raw, Mapping):
        raise SopError(source, [Problem("(top level)", f"must be a mapping of fields, not {_kind(raw)}",
                                        "start with id:, agency:, number:, title: ... like include/sops/kendal.yaml")])
    problems: list[Problem] = []
    _check_unknown(raw, _TOP_KEYS, "", problems)
    sop_id = _sop_id(raw, expected_id, problems)
    header = {key: _text(raw, key, "", problems, required=req, empty_ok=empty) for key, (req, empty) in _HEADER.items()}
    records = _texts(raw, "records", problems, required=True)
    roles = _roles(raw, problems)
    labels = _labels(raw, problems)
    steps = _steps(raw, {role.id for role in roles}, labels, problems)
    assumptions = _texts(raw, "assumptions", problems, required=False)
    if problems:
        raise SopError(source, problems)
    return Sop(id=sop_id, **header, records=records, roles=roles, steps=steps, assumptions=assumptions, path=source,
               labels=labels)


def _labels(raw: Mapping[str, Any], problems: list[Problem]) -> dict[str, str]:
    """Optional ``labels``: label id -> description; a gate with ``when_label`` applies only to labelled briefs."""
    value = raw.get("labels", {})
    if not isinstance(value, Mapping):
        problems.append(Problem("labels", f"must be a mapping, not {_kind(value)}",
                                'write e.g. labels: {isu_strategis: "Konten isu strategis"}'))
        return {}
    labels: dict[str, str] = {}
    for key, text in value.items():
        if not isinstance(key, str) or not _ROLE_ID.match(key) or not isinstance(text, str) or not text.strip():
            problems.append(Problem(f"labels.{key}", "needs a snake_case id and a description",
                                    'write e.g. isu_strategis: "Konten isu strategis"'))
            continue
        labels[key] = text.strip()
    return labels


def _sop_id(raw: Mapping[str, Any], expected: str | None, problems: list[Problem]) -> str:
    sop_id = _text(raw, "id", "", problems)
    if sop_id and not _ID.match(sop_id):
        problems.append(Problem("id", f"{sop_id!r} is not a valid SOP id",
                                "use 2 to 41 lowercase letters, digits or underscores, starting with a letter, "
                                "e.g. gunung_mas"))
    elif sop_id and expected is not None and sop_id != expected:
        problems.append(Problem("id", f"{sop_id!r} does not match the file name {expected!r}",
                                f"write id: {expected}, or rename the file to {sop_id}.yaml"))
    return sop_id


def _roles(raw: Mapping[str, Any], problems: list[Problem]) -> tuple[Role, ...]:
    roles: list[Role] = []
    for index, item in enumerate(_items(raw, "roles", problems, required=True, empty_ok=False)):
        where = f"roles[{index}]"
        if not _is_mapping(item, where, '{id: kabid_ikp, name: "Kabid IKP"}', problems):
            continue
        _check_unknown(item, _ROLE_KEYS, where, problems)
        role = Role(_text(item, "id", where, problems), _text(item, "name", where, problems))
        if role.id and not _ROLE_ID.match(role.id):
            problems.append(Problem(f"{where}.id", f"{role.id!r} is not snake_case",
                                    "use lowercase letters, digits and underscores, starting with a letter"))
        elif role.id in {r.id for r in roles}:
            problems.append(Problem(f"{where}.id", f"{role.id!r} is declared twice", "give each role its own id"))
        roles.append(role)
    return tuple(roles)


def _steps(raw: Mapping[str, Any], role_ids: set[str], labels: Mapping[str, str],
           problems: list[Problem]) -> tuple[Step, ...]:
    items = _items(raw, "steps", problems, required=True, empty_ok=False)
    steps = [_step(item, f"steps[{index}]", role_ids, labels, problems) for index, item in enumerate(items)]
    _check_numbers(items, problems)
    _check_flow(items, problems)
    return tuple(step for step in steps if step is not None)


def _step(item: object, where: str, role_ids: set[str], labels: Mapping[str, str],
          problems: list[Problem]) -> Step | None:
    """One step, or ``None`` after recording what is wrong with it."""
    if not _is_mapping(item, where, "number:, activity:, actor:, stage:, time:, material:, output:", problems):
        return None
    before = len(problems)
    _check_unknown(item, _STEP_KEYS, where, problems)
    number = _positive_int(item, "number", where, problems)
    activity = _text(item, "activity", where, problems)
    actor = _choice(item, "actor", where, sorted(role_ids), "a declared role id", problems)
    stage = _choice(item, "stage", where, STAGES, "a stage", problems)
    time = _time(item, where, problems)
    material = _text(item, "material", where, problems)
    output = _text(item, "output", where, problems)
    note = _text(item, "note", where, problems, required=False, empty_ok=True)
    when_label = _text(item, "when_label", where, problems, required=False)
    if when_label and (when_label not in labels or stage not in GATE_STAGES):
        problems.append(Problem(f"{where}.when_label", f"{when_label!r} is not a declared label of this gate step",
                                "declare it under labels: and use when_label only on approval gates"))
    revise_to = item.get("revise_to")
    if revise_to is not None and (stage not in GATE_STAGES or not _is_positive_int(revise_to)
                                  or not _is_positive_int(number) or revise_to >= number):
        problems.append(Problem(f"{where}.revise_to", f"{revise_to!r} is not an earlier step of this gate",
                                "give the number of the step a 'revise' returns to (e.g. the design step)"))
    delivers = _delivers(item, where, stage, problems)
    if len(problems) > before or time is None:
        return None
    return Step(number, activity, actor, stage, time, material, output, note, when_label, revise_to, delivers)


def _delivers(item: Mapping[str, Any], where: str, stage: str, problems: list[Problem]) -> tuple[str, ...]:
    """Optional ``delivers`` of a work step: what its person delivers, when it differs from its stage's."""
    value = item.get("delivers")
    if value is None:
        return ()
    if (STAGE_KINDS.get(stage) != "work" or not isinstance(value, list) or not value
            or any(v not in DELIVERABLES for v in value) or len(set(value)) != len(value)):
        problems.append(Problem(f"{where}.delivers", f"{value!r} is not a list of what a work step delivers",
                                f"on a {'/'.join(WORK_DELIVERS)} step write e.g. delivers: [caption, assets] "
                                f"(each of {', '.join(DELIVERABLES)} once), or leave it out"))
        return ()
    return tuple(value)


def _time(step: Mapping[str, Any], where: str, problems: list[Problem]) -> StandardTime | None:
    """The step's ``time`` mapping: its verbatim ``text`` and exactly one kind."""
    field = f"{where}.time"
    raw = step.get("time")
    if "time" not in step or not isinstance(raw, Mapping):
        what = "is missing" if "time" not in step else f"must be a mapping, not {_kind(raw)}"
        problems.append(Problem(field, what, f"write e.g. time: {_TIME_EXAMPLE}"))
        return None
    _check_unknown(raw, _TIME_KEYS, field, problems)
    text = _text(raw, "text", field, problems)
    kinds = [key for key in _TIME_KINDS if key in raw]
    if len(kinds) != 1:
        what = "gives no time kind" if not kinds else f"gives {len(kinds)} time kinds ({', '.join(kinds)})"
        problems.append(Problem(field, what, f"give exactly one of minutes, before_event_minutes, flexible: "
                                             f"{_TIME_EXAMPLE}"))
        return None
    return _time_kind(text, kinds[0], raw[kinds[0]], field, problems)


def _time_kind(text: str, key: str, value: object, field: str, problems: list[Problem]) -> StandardTime | None:
    if key == "flexible":
        if value is not True:
            problems.append(Problem(f"{field}.flexible", f"must be true, not {value!r}",
                                    "write flexible: true for 'Menyesuaikan', or give minutes instead"))
            return None
        return StandardTime(text, "flexible")
    if not _is_positive_int(value):
        problems.append(Problem(f"{field}.{key}", f"must be a positive whole number of minutes, not {value!r}",
                                f"write e.g. {key}: 30 (3 jam = 180, 1 hari = 1440)"))
        return None
    if key == "minutes":
        return StandardTime(text, "duration", minutes=value)
    return StandardTime(text, "before_event", before_event_minutes=value)


def _check_numbers(items: Sequence[object], problems: list[Problem]) -> None:
    """Step numbers must run 1, 2, 3 ... in list order."""
    for index, item in enumerate(items):
        number = item.get("number") if isinstance(item, Mapping) else None
        if _is_positive_int(number) and number != index + 1:
            problems.append(Problem(f"steps[{index}].number", f"is {number}, but it is step {index + 1} in the list",
                                    "number the steps 1, 2, 3 ... in order, with no gap or repeat"))


def _check_flow(items: Sequence[object], problems: list[Problem]) -> None:
    """One upload, last; a design step; a gate before the upload. Skipped while any stage is invalid."""
    stages = [item.get("stage") if isinstance(item, Mapping) else None for item in items]
    if not stages or any(stage not in STAGES for stage in stages):
        return
    uploads = [index for index, stage in enumerate(stages) if stage == "upload"]
    if not uploads:
        problems.append(Problem("steps", "has no upload step", "give the last step stage: upload"))
    for index in uploads:
        if index != len(stages) - 1:
            problems.append(Problem(f"steps[{index}].stage", "is an upload step but not the last step",
                                    "keep exactly one upload step and make it the last step"))
    if "design" not in stages:
        problems.append(Problem("steps", "has no design step", "give the step that makes the content stage: design"))
    if not any(stage in GATE_STAGES for stage in stages[: uploads[0] if uploads else len(stages)]):
        problems.append(Problem("steps", "has no approval gate before the upload",
                                f"give the review step one of the stages {', '.join(sorted(GATE_STAGES))}"))


# ------------------------------------------------------------------------------------------ field helpers


def _field(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _kind(value: object) -> str:
    """How a YAML value reads to the person who wrote it."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"{str(value).lower()} (yes/no)"
    names = {int: "a number", float: "a number", str: "text", list: "a list", dict: "a mapping"}
    return names.get(type(value), f"a {type(value).__name__}")


def _is_positive_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _is_mapping(item: object, where: str, example: str, problems: list[Problem]) -> TypeGuard[Mapping[str, Any]]:
    if isinstance(item, Mapping):
        return True
    problems.append(Problem(where, f"must be a mapping, not {_kind(item)}", f"write it as {example}"))
    return False


def _check_unknown(raw: Mapping[Any, Any], allowed: Sequence[str], where: str, problems: list[Problem]) -> None:
    """Report keys that are not in ``allowed`` (typos), suggesting the closest allowed key."""
    for key in raw:
        if key in allowed:
            continue
        close = difflib.get_close_matches(str(key), allowed, n=1)
        fix = f"rename it to {close[0]!r}" if close else f"remove it; allowed here: {', '.join(allowed)}"
        problems.append(Problem(_field(where, str(key)), "is not a known field", fix))


def _text(raw: Mapping[str, Any], key: str, where: str, problems: list[Problem], *,
          required: bool = True, empty_ok: bool = False) -> str:
    """A text field, stripped; records a problem if it is missing (when required), not text, or empty."""
    field = _field(where, key)
    if key not in raw:
        if required:
            problems.append(Problem(field, "is missing", f'add {key}: "..." as the SOP prints it'))
        return ""
    value = raw[key]
    if not isinstance(value, str):
        problems.append(Problem(field, f"must be text, not {_kind(value)}", f'quote it: {key}: "..."'))
        return ""
    if not empty_ok and not value.strip():
        problems.append(Problem(field, "is empty", f"write the {key} as the SOP prints it"))
    return value.strip()


def _choice(raw: Mapping[str, Any], key: str, where: str, allowed: Sequence[str], what: str,
            problems: list[Problem]) -> str:
    value = _text(raw, key, where, problems)
    if value and value not in allowed:
        problems.append(Problem(_field(where, key), f"{value!r} is not {what}", f"use one of: {', '.join(allowed)}"))
    return value


def _positive_int(raw: Mapping[str, Any], key: str, where: str, problems: list[Problem]) -> int:
    value = raw.get(key)
    if not _is_positive_int(value):
        what = "is missing" if key not in raw else f"must be a positive whole number, not {value!r}"
        problems.append(Problem(_field(where, key), what, f"write e.g. {key}: 1"))
        return 0
    return value


def _items(raw: Mapping[str, Any], key: str, problems: list[Problem], *, required: bool,
           empty_ok: bool = True) -> list[object]:
    """A list field; records a problem if it is missing (when required), not a list, or empty (unless empty_ok)."""
    if key not in raw and not required:
        return []
    value = raw.get(key)
    if not isinstance(value, list) or (not empty_ok and not value):
        what = "is missing" if key not in raw else ("is empty" if value == [] else f"must be a list, not {_kind(value)}")
        problems.append(Problem(key, what, f"write {key}: as a list, one '- ' item per line"))
        return []
    return value


def _texts(raw: Mapping[str, Any], key: str, problems: list[Problem], *, required: bool) -> tuple[str, ...]:
    """A list of non-empty strings (records, assumptions)."""
    texts: list[str] = []
    for index, item in enumerate(_items(raw, key, problems, required=required)):
        if not isinstance(item, str) or not item.strip():
            problems.append(Problem(f"{key}[{index}]", f"must be non-empty text, not {_kind(item)}",
                                    'quote it: - "..."'))
            continue
        texts.append(item.strip())
    return tuple(texts)
