"""Saved states: scale out with any scheduler, then merge.

``losscli eval PART --save-state part-007.state`` writes the merged State of one part (a
file, a folder, a glob — whatever ``eval`` reads) with everything needed to judge whether
two states may be merged: the format and its version, the loss instances, the options that
change values (reduction, NaN policy, chunk size, task, logits, intervals, distributions),
the inputs, and the source files and row ranges the state covers. ``losscli merge
part-*.state`` checks them and merges the states in the order of their recorded position
(file, first row) into the report a single run over the same parts gives — bit for bit at
the same chunk size, since every merge is exact.

Refused, with the first mismatch named: a file that is not a saved state, a newer version,
states of other losses or options, states of other inputs (parts of one dataset share its
root folder — the folder of a file, a glob's folder, a hive dataset's folder above its
``key=value`` ones — its format and its columns), and states covering the same rows twice
(a part given twice, overlapping row ranges).

A state is untrusted input: :meth:`State.from_dict` reads every field through
:mod:`losscli.stats.fields` (counts non-negative and bounded, exact sums within what the
rows allow, the parts consistent); a violation is one line naming the file and the field.
Every saved state carries the data fingerprint; a merge of parts of which one has none
(saved by an older losscli) has none either, and says so, never a partial one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from losscli.checks import raise_pending
from losscli.engine import Plan
from losscli.errors import InputError, UsageError
from losscli.grouping import too_many_groups
from losscli.io.atomic import write_atomically
from losscli.report import Report
from losscli.reporting import build_report
from losscli.state import STATE_VERSION, State
from losscli.stats.fields import FieldError, Fields, nested
from losscli.vocab import GROUP_GAPS

FORMAT = "losscli-state"
#: Bytes a state file may have (a state is small: KBs, MBs with distributions and intervals).
MAX_BYTES = 512 << 20

if TYPE_CHECKING:
    from losscli.io.inputs import Inputs
    from losscli.session import Session


def header_of(session: Session) -> dict[str, Any]:
    """What a saved state records besides the state itself."""
    from losscli.labels import state_header

    plan = session.plan
    opts = session.spec.options
    return {
        "losses": [{"name": inst.name, "params": dict(inst.key.params), "label": inst.label,
                    "loss": inst.loss_arg} for inst in plan.instances],
        "options": {
            "reduction": plan.reduction, "nan_policy": plan.nan_policy,
            "chunk_size": session.chunk_size, "task": session.task,
            "from_logits": opts.from_logits, "models": plan.models,
            "classes": session.widths.get("pred") if session.task in (
                "multiclass", "multilabel") else None,
            "ci": None if plan.ci is None else plan.ci.to_dict(),
            "distribution": plan.distribution,
            "quantile_levels": list(opts.quantile_levels),
            **({"confusion": True} if opts.confusion else {}),
            **({"group_by": list(plan.group_by), "max_groups": plan.max_groups}
               if plan.group_by else {}),
            **({"group_gap": opts.group_gap} if plan.group_by and opts.group_gap else {}),
            **({"join": {"id_col": list(session.join.names),
                         "target_id_col": list(session.join.target_names),
                         "unmatched": session.spec.inputs.unmatched,
                         "targets": session.join.where}}
               if session.join is not None else {}),
            **state_header(getattr(session, "labels", None)),
        },
        "plan": plan.to_dict(),  # the engine's plan, rebuilt as it was by report_of
        "sort": opts.sort,
        "inputs": {**session.inputs.to_dict(), **session.context},
        "dataset": dataset_of(session.inputs),
    }


_GLOB = frozenset("*?[")


def dataset_root(name: str) -> str:
    """The dataset a part's file belongs to: the folder of a file (a folder itself, a
    glob's folder), above any hive ``key=value`` folders; an absolute path, or the URI's
    prefix. ``-`` and in-memory names are their own dataset."""
    if name in ("", "-") or name.startswith("<"):
        return name
    remote = "://" in name
    path = name.replace("\\", "/") if remote else os.path.abspath(name)
    if remote or not os.path.exists(path):  # a pattern: the folders before the first glob
        parts = path.split("/")
        cut = next((i for i, p in enumerate(parts) if _GLOB & set(p)), len(parts) - 1)
        path = "/".join(parts[:cut])
    elif not os.path.isdir(path):
        path = os.path.dirname(path)
    parts = path.rstrip("/").split("/")
    while len(parts) > 1 and "=" in parts[-1] and not parts[-1].startswith("="):
        parts.pop()
    return "/".join(parts)


def dataset_of(inputs: Inputs) -> dict[str, Any]:
    """Per input role: the dataset its file belongs to (:func:`dataset_root`), its format
    and its columns — what parts of one dataset share."""
    out: dict[str, Any] = {}
    for role, ref in sorted(inputs.roles.items()):
        source = ref.source
        try:
            columns = sorted(str(c) for c in source.columns)
        except Exception:
            columns = None
        out[role] = {"root": dataset_root(str(source.name)),
                     "format": source.format, "columns": columns}
    return out


def save_state(path: str, session: Session, state: State) -> None:
    """Write ``state`` (of ``session``) to ``path`` atomically."""
    from losscli import __version__
    doc = {"format": FORMAT, "state_version": STATE_VERSION, "losscli_version": __version__,
           **header_of(session), "coverage": [[c.file, c.first_row, c.rows]
                                              for c in state.coverage],
           "state": state.to_dict()}

    def write(f: Any) -> None:
        json.dump(doc, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")

    write_atomically(path, write, flag="--save-state")


@dataclass
class Part:
    path: str
    doc: dict[str, Any]
    state: State

    @property
    def position(self) -> tuple[str, int]:
        cov = self.state.coverage
        return (cov[0].file, cov[0].first_row) if cov else ("", 0)


def load_part(path: str) -> Part:
    """Read one saved state; anything else is one clear InputError."""
    try:
        if os.path.isdir(path):
            raise InputError(f"'{path}' is a directory; give saved state files (--save-state).")
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"Saved state not found: '{path}'.") from None
    except OSError as exc:
        raise InputError(f"Cannot read saved state '{path}': {exc.strerror}.") from None
    if len(data) > MAX_BYTES:
        raise InputError(f"'{path}' is larger than {MAX_BYTES >> 20} MiB: not a saved state.")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InputError(f"'{path}' is not a saved state (not JSON); write one with "
                         "'losscli eval PART --save-state FILE'.") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f"'{path}' is not a saved state (no \"format\": \"{FORMAT}\"); write "
                         "one with 'losscli eval PART --save-state FILE'.")
    version = doc.get("state_version")
    if not isinstance(version, int) or version > STATE_VERSION:
        raise InputError(f"'{path}' has state_version {version!r}, written by losscli "
                         f"{doc.get('losscli_version', '?')}; this losscli reads up to "
                         f"{STATE_VERSION}. Merge with that version, or re-run the part.")
    try:
        _check_header(Fields(doc))
        inputs = doc["inputs"]
        weighted = (None if not isinstance(inputs, dict) or "weights" not in inputs
                    else inputs["weights"] is not None)
        state = _read_state(doc, weighted)
    except FieldError as exc:
        raise InputError(f"Saved state '{path}', field {exc.field or '(top)'}: {exc.problem}. "
                         "It is not a state losscli wrote (edited or damaged): re-run the "
                         "part with 'losscli eval PART --save-state FILE'.") from None
    return Part(path, doc, state)


def _read_state(doc: dict[str, Any], weighted: bool | None) -> State:
    state = nested("state", State.from_dict, doc["state"], {"weighted": weighted})
    opts, losses = doc["options"], doc["losses"]
    if len(state.cells) != opts["models"]:
        raise FieldError("state.cells", f"{len(state.cells)} models, but options.models is "
                         f"{opts['models']}")
    for i, cell in enumerate(state.cells):
        if len(cell.losses) != len(losses):
            raise FieldError(f"state.cells[{i}].losses", f"{len(cell.losses)} losses, but the "
                             f"header lists {len(losses)}")
    if (state.groups is not None) != bool(opts.get("group_by")):
        raise FieldError("state.groups", "groups where the run had no --group-by, or none "
                         "where it had")
    for key in state.groups or {}:
        if len(key) != len(opts["group_by"]):
            raise FieldError("state.groups", f"a key of {len(key)} values for --group-by "
                             f"{', '.join(map(str, opts['group_by']))}")
    return state


def _check_header(f: Fields) -> None:
    """The header's fields have the types a run writes (their values are compared between
    parts, and rebuild the losses and the plan)."""
    f.items("losses", longest=4096)
    for i, item in enumerate(f.raw("losses")):
        loss = f.sub(item) if isinstance(item, dict) else None
        if loss is None:
            raise FieldError(f"losses[{i}]", "expected an object")
        for key in ("name", "label", "loss"):
            if not isinstance(loss.raw(key), str):
                raise FieldError(f"losses[{i}].{key}", "expected text")
    f.part("options", _check_options)
    if not isinstance(f.raw("inputs"), dict):
        raise FieldError("inputs", "expected an object")
    if f.raw("plan", None) is not None:  # absent in states saved before plans were
        f.part("plan", _check_plan)
        plan, options = f.raw("plan"), f.raw("options")
        if len(plan["losses"]) != len(f.raw("losses")):
            raise FieldError("plan.losses", f"{len(plan['losses'])} losses, but the header "
                             f"lists {len(f.raw('losses'))}")
        if plan["models"] != options["models"]:
            raise FieldError("plan.models", f"{plan['models']} models, but options.models is "
                             f"{options['models']}")
    f.text("sort", choices=("key", "value"), default="key")


def _check_plan(data: Any) -> None:
    """The engine's plan (:meth:`losscli.engine.Plan.to_dict`) has the types it writes."""
    plan = Fields(data)
    plan.each("losses", _check_planned_loss, longest=4096)
    plan.count("models", lo=1, hi=4096)
    plan.text("reduction", longest=64)
    plan.text("nan_policy", longest=64)
    plan.flag("fingerprint", default=True)
    if plan.raw("max_groups", None) is not None:
        plan.count("max_groups", lo=1)
    for key in ("ci", "paired"):
        if not isinstance(plan.raw(key, None), dict | None):
            raise FieldError(key, "expected an object or null")
    calibration = plan.raw("calibration", None)
    if calibration is not None:
        plan.items("calibration", length=2)
        if not isinstance(calibration[0], str) or not isinstance(calibration[1], bool):
            raise FieldError("calibration", "expected [task, from_logits]")
    for key in ("group_by", "carry"):
        if not all(isinstance(g, str) for g in plan.items(key, longest=64, default=[])):
            raise FieldError(key, "expected column names")


def _check_planned_loss(data: Any) -> None:
    loss = Fields(data)
    loss.text("loss", longest=4096)
    loss.text("task", longest=64, default="regression")
    loss.flag("from_logits", default=False)
    if loss.raw("classes", None) is not None:
        loss.count("classes", lo=1, hi=1 << 20)


def _check_options(data: Any) -> None:
    """The options a run records have their types (compared between parts, rebuilding the
    plan)."""
    opts = Fields(data)
    opts.count("models", lo=1, hi=4096)
    opts.text("task", longest=64)
    opts.text("reduction", longest=64)
    opts.text("nan_policy", longest=64)
    opts.flag("from_logits")
    opts.count("chunk_size", lo=1)
    if opts.raw("classes", None) is not None:
        opts.count("classes", lo=1, hi=1 << 20)
    if opts.raw("max_groups", None) is not None:
        opts.count("max_groups", lo=1)
    for key in ("ci", "join"):
        if not isinstance(opts.raw(key, None), dict | None):
            raise FieldError(key, "expected an object or null")
    if opts.raw("group_gap", None) is not None:
        opts.text("group_gap", choices=GROUP_GAPS)
    group_by = opts.items("group_by", longest=64, default=[])
    if not all(isinstance(g, str) for g in group_by):
        raise FieldError("group_by", "expected column names")


def _check_same(parts: Sequence[Part]) -> None:
    """The parts were computed with the same losses and options, over parts of one dataset.
    Messages name the files in the order of the values they list."""
    first = parts[0]
    for other in parts[1:]:
        for key in ("losses", "options"):
            if other.doc.get(key) != first.doc.get(key):
                a, b = first.doc.get(key) or {}, other.doc.get(key) or {}
                if isinstance(a, dict) and isinstance(b, dict):
                    diff = next((k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)), "?")
                    what = f"option {diff!r}: {a.get(diff)!r} vs {b.get(diff)!r}"
                else:
                    what = (f"losses {[x.get('label') for x in a]} vs "
                            f"{[x.get('label') for x in b]}")
                raise InputError(f"'{first.path}' and '{other.path}' were computed with "
                                 f"different {key} ({what}); merge states of one evaluation.")
        mine, theirs = _datasets(first), _datasets(other)
        for role in sorted(set(mine) | set(theirs)):
            a, b = mine.get(role), theirs.get(role)
            if a != b:
                what = "files" if a is None or b is None else next(
                    k for k in ("root", "format", "columns") if a.get(k) != b.get(k))
                shown = {"root": "folder", "format": "format", "columns": "columns",
                         "files": "inputs"}[what]
                raise InputError(
                    f"'{first.path}' and '{other.path}' are states of different inputs: their "
                    f"{role} {shown} differ ({_shown(first, role, a, what)} vs "
                    f"{_shown(other, role, b, what)}); merge states of parts of one dataset "
                    "(files of one folder, glob or hive dataset, with the same columns).")


def _datasets(part: Part) -> dict[str, Any]:
    """What dataset each input role of a part belongs to; for a state saved before this
    was recorded, the folder of each recorded input path."""
    recorded = part.doc.get("dataset")
    if isinstance(recorded, dict):
        return recorded
    roles = {"predictions": "pred", "targets": "target", "weights": "weight"}
    inputs = part.doc.get("inputs") or {}
    return {role: {"root": dataset_root(str(entry["path"])), "format": entry.get("format"),
                   "columns": None}
            for key, role in roles.items()
            if isinstance(entry := inputs.get(key), dict) and "path" in entry}


def _shown(part: Part, role: str, entry: dict[str, Any] | None, what: str) -> str:
    if entry is None:
        return "none"
    if what == "columns":
        return ", ".join(entry.get("columns") or []) or "unknown"
    key = {"pred": "predictions", "target": "targets", "weight": "weights"}.get(role, role)
    path = ((part.doc.get("inputs") or {}).get(key) or {}).get("path")
    return f"'{path or entry.get('root')}'" if what == "root" else str(entry.get(what))


def _check_overlap(parts: Sequence[Part]) -> None:
    ranges = sorted((c.file, c.first_row, c.first_row + c.rows, p.path)
                    for p in parts for c in p.state.coverage)
    for (f1, a1, b1, p1), (f2, a2, b2, p2) in pairwise(ranges):
        if f1 == f2 and a2 < b1:
            same = "the same part given twice" if p1 == p2 or (a1, b1) == (a2, b2) else (
                "overlapping row ranges")
            raise InputError(f"'{p2}' and '{p1}' both cover rows {a2}..{min(b1, b2) - 1} of "
                             f"'{f1}' ({same}); give each part once.")


def merge_parts(paths: Sequence[str]) -> tuple[dict[str, Any], State, list[Part]]:
    """Load, check and merge saved states in the order of their position."""
    if not paths:
        raise UsageError("Give at least one saved state to merge.")
    parts = sorted((load_part(p) for p in paths), key=lambda p: p.position)
    _check_same(parts)
    _check_overlap(parts)
    unprinted = [p.path for p in parts if p.state.fingerprint is None and any(
        c.rows for c in p.state.coverage)]
    mixed = unprinted and any(p.state.fingerprint is not None for p in parts)
    state = State.from_dict(parts[0].doc["state"])  # the parts' own states stay as read
    for part in parts[1:]:
        try:
            state.merge(part.state)
        except ValueError as exc:  # parts that cannot be of one run (checked above: rare)
            raise InputError(f"'{parts[0].path}' and '{part.path}' cannot be merged: {exc}."
                             ) from None
    doc = parts[0].doc
    if unprinted:  # a fingerprint of some parts only would claim other data: none at all
        state.fingerprint = None
    if mixed:
        doc = {**doc, "merge_notes": [
            f"no data fingerprint: {', '.join(repr(p) for p in unprinted[:3])}"
            f"{' …' if len(unprinted) > 3 else ''} {'was' if len(unprinted) == 1 else 'were'} "
            "saved without one (by an older losscli); re-run "
            f"{'that part' if len(unprinted) == 1 else 'those parts'} to gate on "
            "--data-changed"]}
    return doc, state, parts


def report_of(doc: dict[str, Any], state: State, parts: Sequence[Part]) -> Report:
    """The report of merged states: the engine's plan rebuilt from the header (a header
    that cannot rebuild it is one InputError naming the first part)."""
    try:
        return _report_of(doc, state, parts)
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise InputError(f"Saved state '{parts[0].path}': its header cannot rebuild the "
                         f"evaluation ({type(exc).__name__}: {str(exc)[:200]}); re-run the "
                         "part with 'losscli eval PART --save-state FILE'.") from None


def _report_of(doc: dict[str, Any], state: State, parts: Sequence[Part]) -> Report:
    opts = doc["options"]
    plan = Plan.from_dict(doc.get("plan") or {  # a state saved before plans were recorded
        "losses": [{"loss": x["loss"], "task": opts["task"], "from_logits": opts["from_logits"],
                    "classes": opts.get("classes")} for x in doc["losses"]],
        **{k: opts.get(k) for k in ("models", "reduction", "nan_policy", "ci", "distribution",
                                    "group_by", "max_groups")}})
    instances = plan.instances
    if state.groups is not None and len(state.groups) > plan.max_groups:
        raise too_many_groups(len(state.groups), plan.max_groups, plan.group_by)
    inputs = dict(doc.get("inputs") or {})
    join = opts.get("join")
    if join is not None:  # keys matched in two parts, targets no part matched
        from losscli.io.join import judge

        inputs["join"] = judge(state.join, join["unmatched"] == "omit", names=join["id_col"],
                               target_names=join["target_id_col"], where=join["targets"],
                               pred_where="the merged parts")
    raise_pending(state, lambda role, index=None: f"'{role}' of the merged parts", instances)
    inputs["parts"] = [p.path for p in parts]
    return build_report(plan, state, inputs=inputs, notes=list(doc.get("merge_notes") or ()),
                        quantile_levels=tuple(opts.get("quantile_levels") or ()),
                        sort=doc.get("sort") or "key",
                        confusion=opts.get("confusion") is True,
                        group_gap=opts.get("group_gap") if opts.get("group_by") else None)
