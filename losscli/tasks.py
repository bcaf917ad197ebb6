"""Which task the data are (regression, binary, multiclass, embedding), which losses to
compute when none is asked for, and the evaluation-wide options each loss receives.

The rule (documented in the README, section "Classification, probabilistic and embedding
losses"), first match wins:

1. ``--task`` when given;
2. ``embedding`` when the inputs are anchor/positive/negative (triplet);
3. ``multiclass`` when the predictions hold several values per row (several columns, a
   list column, or an (N, C) array);
4. with one value per row, the selected losses decide when they fit only one of
   regression and binary (``--loss bce`` → binary, ``--loss gaussian_nll`` → regression);
5. otherwise (no ``--loss``, or only losses that fit both, such as mse or zero_one) the
   values of the first ``DETECT_ROWS`` rows decide (whatever the chunk size, so that the
   result does not depend on it): ``binary`` when every target there is 0/1 (or every one
   -1/1) and every prediction is in [0, 1] (any number with ``--from-logits``), else
   ``regression``. A later row that breaks the binary rules is an error naming the row.

Default losses per task: regression mse, rmse, mae; binary bce, brier, zero_one;
multiclass cross_entropy, zero_one; embedding triplet.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from losscli.errors import UsageError
from losscli.registry import TASKS, LossInstance, LossSpec

#: Rows whose values decide between regression and binary (rule 5).
DETECT_ROWS = 10_000

DEFAULT_LOSSES: dict[str, tuple[str, ...]] = {
    "regression": ("mse", "rmse", "mae"),
    "binary": ("bce", "brier", "zero_one"),
    "multiclass": ("cross_entropy", "zero_one"),
    "embedding": ("triplet",),
}


def check_task(task: str | None) -> None:
    if task is not None and task not in TASKS:
        raise UsageError(f"Unknown --task '{task}'; use one of: {', '.join(TASKS)}.")


def _looks_binary(arrays: dict[str, np.ndarray], from_logits: bool) -> bool:
    target, pred = arrays.get("target"), arrays.get("pred")
    if target is None or pred is None or target.ndim != 1:
        return False
    t = target[np.isfinite(target)]
    p = pred[np.isfinite(pred)]
    if t.size == 0:
        return False
    labels = set(np.unique(t).tolist())
    if not (labels <= {0.0, 1.0} or labels <= {-1.0, 1.0}):
        return False
    return from_logits or p.size == 0 or bool(p.min() >= 0.0 and p.max() <= 1.0)


def detect_task(
    arrays: dict[str, np.ndarray] | None,
    specs: list[LossSpec],
    *,
    task: str | None,
    roles: tuple[str, ...],
    from_logits: bool,
    describe: Any = str,
) -> tuple[str, str]:
    """The task and what decided it: "option", "inputs", "shape", "losses" or "values"."""
    check_task(task)
    if task is not None:
        return task, "option"
    if "anchor" in roles:
        return "embedding", "inputs"
    pred = None if arrays is None else arrays.get("pred")
    if pred is not None and pred.ndim == 2:
        return "multiclass", "shape"
    fits = {"regression", "binary"}
    for spec in specs:
        fits &= set(spec.tasks)
    if len(fits) == 1:
        return fits.pop(), "losses"
    if not fits:
        wide = [s.name for s in specs if not set(s.tasks) & {"regression", "binary"}]
        if wide:
            raise UsageError(
                f"{', '.join(wide)} need{'s' if len(wide) == 1 else ''} one prediction per "
                "class (several columns such as --pred-col 'p_*', a list column, or an (N, C) "
                f"array), but {describe('pred')} has one value per row. For one probability "
                "per row use bce, brier or zero_one."
            )
        by_task = {t: [s.name for s in specs if t in s.tasks] for t in ("regression", "binary")}
        raise UsageError(
            "The selected losses do not fit one task: "
            + "; ".join(f"{t}: {', '.join(n) or '—'}" for t, n in by_task.items())
            + ". Evaluate them in separate runs."
        )
    if arrays is not None and _looks_binary(arrays, from_logits):
        return "binary", "values"
    return "regression", "values"


def _width_text(width: int) -> str:
    return "one value per row" if width == 1 else f"{width} values per row"


def check_fit(instances: list[LossInstance], task: str, widths: dict[str, int],
              describe: Any) -> None:
    """Refuse a loss that does not handle the task, and inputs of mismatched widths."""
    for inst in instances:
        if task not in inst.spec.tasks:
            fitting = [n for n, s in _registry().items() if task in s.tasks]
            raise UsageError(
                f"{inst.name} does not apply to {task} inputs (it handles "
                f"{', '.join(inst.spec.tasks)}); losses for {task}: {', '.join(fitting)}."
                + _task_hint(task, widths)
            )
    if not widths:
        return
    pred = widths.get("pred")
    if task == "multiclass" and pred is not None:
        if pred < 2:
            raise UsageError(
                "--task multiclass needs one prediction per class: several columns "
                "(--pred-col 'p_*'), a list column, or an (N, C) array."
            )
        target = widths.get("target", 1)
        if target not in (1, pred):
            raise UsageError(
                f"The predictions have {pred} values per row ({describe('pred')}) but the "
                f"targets have {target} ({describe('target')}); a target is a class index or "
                f"a distribution over the same {pred} classes."
            )
    elif task in ("regression", "binary"):
        for role in ("pred", "target", "var"):
            if widths.get(role, 1) != 1:
                raise UsageError(
                    f"{task} inputs have one value per row, but {describe(role)} has "
                    f"{widths[role]}. For one column per class use --task multiclass."
                )
    elif task == "embedding":
        dims = {role: widths[role] for role in ("anchor", "positive", "negative") if role in widths}
        if len(set(dims.values())) > 1:
            raise UsageError(
                "Anchor, positive and negative embeddings must have the same length, got "
                + ", ".join(f"{role}: {_width_text(d)} ({describe(role)})"
                            for role, d in dims.items()) + "."
            )


def _task_hint(task: str, widths: dict[str, int]) -> str:
    if task == "regression":
        return " If the targets are labels, add --task binary."
    if task == "binary" and widths.get("pred", 1) == 1:
        return " For several classes give one prediction per class (--pred-col 'p_*')."
    return ""


def _registry() -> dict[str, LossSpec]:
    from losscli.registry import all_losses

    return all_losses()


def bind_options(instances: list[LossInstance], task: str, *, from_logits: bool,
                 threshold: float | None) -> list[LossInstance]:
    """Each instance with its effective options: the evaluation's, overridden by what the
    loss implies (softmax_cross_entropy and bce_with_logits imply from_logits)."""
    uses_threshold = task == "binary" and any(i.name == "zero_one" for i in instances)
    if threshold is not None and not uses_threshold:
        raise UsageError(
            f"--threshold {threshold:g} applies to zero_one on one-column (binary) predictions; "
            f"here the task is {task}"
            + ("" if any(i.name == "zero_one" for i in instances) else " and zero_one is not selected")
            + ". Drop --threshold."
        )
    if threshold is not None and not np.isfinite(threshold):
        raise UsageError(f"--threshold must be a finite number, got {threshold}.")
    out = []
    for inst in instances:
        params = dict(inst.params)
        for p in inst.spec.params:
            if p.tasks and task not in p.tasks:
                if params.pop(p.name) != p.default:
                    raise UsageError(
                        f"{inst.name}'s {p.name} applies to {', '.join(p.tasks)} only, and the "
                        f"task here is {task}. Drop {p.name}, or set --task "
                        f"{p.tasks[0]}."
                    )
        logits = bool(inst.spec.implies.get("from_logits", from_logits))
        options: dict[str, Any] = {"task": task, "from_logits": logits}
        if task == "binary":
            options["threshold"] = threshold if threshold is not None else (
                0.0 if logits else 0.5)
        out.append(replace(inst, params=params, options=options))
    return out


def context(instances: list[LossInstance], task: str, source: str, *, from_logits: bool,
            threshold: float | None) -> dict[str, Any]:
    """What the report's ``inputs`` says about how the values were read."""
    out: dict[str, Any] = {"task": task, "task_from": source, "from_logits": from_logits}
    if task == "binary" and any(i.name == "zero_one" for i in instances):
        out["threshold"] = next(i.options["threshold"] for i in instances if i.name == "zero_one")
    return out
