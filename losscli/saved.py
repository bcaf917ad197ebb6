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
states of other losses or options, and states covering the same rows twice (a part given
twice, overlapping row ranges).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from losscli.errors import InputError, UsageError
from losscli.state import STATE_VERSION, State

FORMAT = "losscli-state"
#: Bytes a state file may have (a state is small: KBs, MBs with distributions and intervals).
MAX_BYTES = 512 << 20


def header_of(session: Any) -> dict[str, Any]:
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
            **({"group_by": list(plan.group_by), "max_groups": plan.max_groups}
               if plan.group_by else {}),
            **({"join": {"id_col": list(session.join.names),
                         "target_id_col": list(session.join.target_names),
                         "unmatched": session.spec.inputs.unmatched,
                         "targets": session.join.where}}
               if session.join is not None else {}),
            **state_header(getattr(session, "labels", None)),
        },
        "inputs": {**session.inputs.to_dict(), **session.context},
    }


def save_state(path: str, session: Any, state: State) -> None:
    """Write ``state`` (of ``session``) to ``path`` atomically."""
    from losscli import __version__
    from losscli.io.atomic import write_atomically

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
        state = State.from_dict(doc["state"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"'{path}' is a damaged saved state ({type(exc).__name__}: {exc}); "
                         "re-run the part.") from None
    return Part(path, doc, state)


def _check_same(parts: Sequence[Part]) -> None:
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
                raise InputError(f"'{other.path}' and '{first.path}' were computed with "
                                 f"different {key} ({what}); merge states of one evaluation.")


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
    state = State.from_dict(parts[0].doc["state"])
    for part in parts[1:]:
        state.merge(part.state)
    return parts[0].doc, state, parts


def report_of(doc: dict[str, Any], state: State, parts: Sequence[Part]) -> Any:
    """The report of merged states: the loss instances rebuilt from the header."""
    from losscli import engine, tasks
    from losscli.engine import raise_pending
    from losscli.registry import resolve_losses
    from losscli.session import build_report
    from losscli.uncertainty import CIConfig

    opts = doc["options"]
    instances = resolve_losses([x["loss"] for x in doc["losses"]], {})
    instances = tasks.bind_options(instances, opts["task"], from_logits=opts["from_logits"],
                                   classes=opts.get("classes"))
    ci = opts.get("ci")
    plan = engine.Plan(tuple(instances), models=opts["models"], reduction=opts["reduction"],
                       nan_policy=opts["nan_policy"],
                       ci=None if ci is None else CIConfig(**ci),
                       distribution=opts.get("distribution"),
                       group_by=tuple(opts.get("group_by") or ()),
                       max_groups=int(opts.get("max_groups") or engine.MAX_GROUPS))
    if state.groups is not None and len(state.groups) > plan.max_groups:
        from losscli.grouping import too_many_groups

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
    return build_report(plan, state, inputs=inputs,
                        quantile_levels=tuple(opts.get("quantile_levels") or ()))
