"""Which task the data are (regression, binary, multiclass, embedding), which losses to
compute when none is asked for, and the evaluation-wide options each loss receives.

The rule (documented in the README, section "Classification, probabilistic and embedding
losses"), first match wins:

1. ``--task`` when given;
2. ``embedding`` when the inputs are anchor/positive/negative (triplet);
3. with several prediction values per row (several columns, a list column, or an (N, C)
   array): ``regression`` with several outputs when the targets have as many values per
   row and are not probability distributions, else ``multiclass`` (``multilabel`` — several
   0/1 labels per row — is never guessed: ``--task multilabel``);
4. with one value per row, the selected losses decide when they fit only one of
   regression and binary (``--loss bce`` → binary, ``--loss gaussian_nll`` → regression);
   a parameter given to a loss counts too when it applies to classification only
   (``--loss zero_one:threshold=0`` → binary: a threshold decides a class);
5. otherwise (no ``--loss``, or only losses that fit both, such as mse or zero_one) the
   values of the first ``DETECT_ROWS`` rows decide (whatever the chunk size, so that the
   result does not depend on it): ``binary`` when every target there is 0/1 (or every one
   -1/1) and every prediction is in [0, 1] (any number with ``--from-logits``), else
   ``regression``. A later row that breaks the binary rules is an error naming the row.

Default losses per task: regression mse, rmse, mae; binary bce, brier, zero_one;
multiclass cross_entropy, zero_one; multilabel bce, hamming; embedding triplet.

Guards (:func:`check_logits`, :func:`notes`): predictions that look like probabilities with
--from-logits are refused (``--assume-logits`` overrides); a 0/1 target with unbounded scores
read as regression, a 0.5 threshold on scores outside [0, 1], and 0/1 targets per column read
as multi-output regression each get a one-line note.
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
    "multilabel": ("bce", "hamming"),
    "embedding": ("triplet",),
}

#: Rows of the detection sample needed before values that all lie in [0, 1] are taken as
#: evidence of probabilities (a handful of logits can all fall there by chance).
PROBABILITY_EVIDENCE_ROWS = 20


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
    # (np.unique would import numpy.ma: ~30 ms on every run)
    zero_one = bool(np.all((t == 0.0) | (t == 1.0)))
    if not (zero_one or bool(np.all((t == -1.0) | (t == 1.0)))):
        return False
    return from_logits or p.size == 0 or bool(p.min() >= 0.0 and p.max() <= 1.0)


def fitting_tasks(loss: LossSpec | LossInstance) -> tuple[str, ...]:
    """The tasks a selected loss fits: its spec's, narrowed by every parameter given a
    value other than its default that applies to classification only
    (``zero_one:threshold=0`` fits binary data only: a threshold decides a class). A
    regression-only parameter narrows nothing: on labels it stays an error, not a change of
    task."""
    if isinstance(loss, LossSpec):
        return loss.tasks
    fits = loss.spec.tasks
    for p in loss.spec.params:
        if (p.tasks and "regression" not in p.tasks and p.name in loss.params
                and loss.params[p.name] != p.default):
            fits = tuple(t for t in fits if t in p.tasks)
    return fits


def detect_task(
    arrays: dict[str, np.ndarray] | None,
    specs: list[LossSpec] | list[LossInstance],
    *,
    task: str | None,
    roles: tuple[str, ...],
    from_logits: bool,
    describe: Any = str,
) -> tuple[str, str]:
    """The task and what decided it: "option", "inputs", "shape", "losses" or "values".
    ``specs``: the selected losses (instances: their given parameters count, see
    :func:`fitting_tasks`)."""
    check_task(task)
    if task is not None:
        return task, "option"
    if "anchor" in roles:
        return "embedding", "inputs"
    pred = None if arrays is None else arrays.get("pred")
    target = None if arrays is None else arrays.get("target")
    if pred is not None and pred.ndim == 2:
        regression_ok = not specs or any("regression" in fitting_tasks(s) for s in specs)
        if (regression_ok and target is not None and target.ndim == 2
                and target.shape[1] == pred.shape[1] and not _distributions(target)):
            return "regression", "shape"  # several outputs per row
        return "multiclass", "shape"
    fits = {"regression", "binary"}
    for spec in specs:
        fits &= set(fitting_tasks(spec))
    if len(fits) == 1:
        return fits.pop(), "losses"
    if not fits:
        wide = [s.name for s in specs if not set(fitting_tasks(s)) & {"regression", "binary"}]
        if wide:
            raise UsageError(
                f"{', '.join(wide)} need{'s' if len(wide) == 1 else ''} one prediction per "
                "class (several columns such as --pred-col 'p_*', a list column, or an (N, C) "
                f"array), but {describe('pred')} has one value per row. For one probability "
                "per row use bce, brier or zero_one."
            )
        by_task = {t: [s.name for s in specs if t in fitting_tasks(s)]
                   for t in ("regression", "binary")}
        raise UsageError(
            "The selected losses do not fit one task: "
            + "; ".join(f"{t}: {', '.join(n) or '—'}" for t, n in by_task.items())
            + ". Evaluate them in separate runs."
        )
    if arrays is not None and _looks_binary(arrays, from_logits):
        return "binary", "values"
    return "regression", "values"


def _distributions(a: np.ndarray) -> bool:
    """Every finite row is a probability distribution (entries ≥ 0 summing to 1)."""
    from losscli.losses.common import SUM_TOLERANCE

    rows = a[np.isfinite(a).all(axis=1)]
    return bool(rows.size == 0 or ((rows >= 0).all()
                                   and (np.abs(rows.sum(axis=1) - 1.0) <= SUM_TOLERANCE).all()))


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
    elif task == "binary":
        for role in ("pred", "target", "var"):
            if widths.get(role, 1) != 1:
                raise UsageError(
                    f"binary inputs have one value per row, but {describe(role)} has "
                    f"{widths[role]}. For one column per class use --task multiclass; for "
                    "several 0/1 labels per row, --task multilabel."
                )
    elif task in ("regression", "multilabel"):
        outputs = widths.get("pred", 1)
        for role in ("target", "var"):
            if role in widths and widths[role] != outputs:
                what = "outputs" if task == "regression" else "labels"
                raise UsageError(
                    f"The predictions have {_width_text(outputs)} ({describe('pred')}) but "
                    f"{describe(role)} has {_width_text(widths[role])}; {task} inputs need "
                    f"the same number of {what} in each."
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


def resolve_aliases(instances: list[LossInstance], task: str) -> list[LossInstance]:
    """``log_loss`` is the task's cross-entropy: bce for binary (and multi-label) data,
    cross_entropy for multi-class data, reported under that loss's canonical name."""
    from losscli.registry import get_loss

    out = []
    for inst in instances:
        if inst.alias == "log_loss" and task == "multiclass":
            ce = get_loss("cross_entropy")
            moved = {k: v for k, v in inst.params.items() if ce.param(k) is not None}
            dropped = [k for k, v in inst.params.items()
                       if ce.param(k) is None and v != inst.spec.param(k).default]  # type: ignore[union-attr]
            if dropped:
                raise UsageError(
                    f"log_loss on multi-class data is cross_entropy, which takes no "
                    f"{', '.join(dropped)}; drop {'it' if len(dropped) == 1 else 'them'}.")
            params = {p.name: moved.get(p.name, p.default) for p in ce.params}
            inst = replace(inst, spec=ce, params=params)
        out.append(inst)
    return out


def bind_options(instances: list[LossInstance], task: str, *, from_logits: bool,
                 classes: int | None = None) -> list[LossInstance]:
    """Each instance with its effective options: the evaluation's, overridden by what the
    loss implies (softmax_cross_entropy and bce_with_logits imply from_logits); parameters
    that do not apply to the task dropped (an error when set to another value than the
    default), and "auto" parameters resolved: a threshold is 0.5 on probabilities and 0 on
    logits (an explicit threshold equal to it is the default, so the loss's key does not
    change), an average ``binary`` for binary data and ``macro`` otherwise."""
    out = []
    for inst in instances:
        params = dict(inst.params)
        for p in inst.spec.params:
            if p.tasks and task not in p.tasks and p.name in params:
                if params.pop(p.name) != p.default:
                    raise UsageError(
                        f"{inst.name}'s {p.name} applies to {', '.join(p.tasks)} only, and the "
                        f"task here is {task}. Drop {p.name}, or set --task "
                        f"{p.tasks[0]}."
                    )
        logits = bool(inst.spec.implies.get("from_logits", from_logits))
        options: dict[str, Any] = {"task": task, "from_logits": logits}
        if classes is not None:
            options["classes"] = classes
        # (a threshold read by the aggregate alone, expected_cost's, keeps its own "auto")
        if "threshold" in params and getattr(inst.spec.param("threshold"), "kernel", True):
            auto = 0.0 if logits else 0.5
            given = params["threshold"]
            options["threshold"] = auto if given is None else float(given)  # type: ignore[arg-type]
            if given is not None and float(given) == auto:  # type: ignore[arg-type]
                params["threshold"] = None
        if "average" in params and params["average"] is None:
            options["average"] = "binary" if task == "binary" else "macro"
        elif "average" in params:
            options["average"] = params["average"]
        if options.get("average") == "binary" and task != "binary":
            raise UsageError(
                f"{inst.name}:average=binary scores the positive class of binary data; the "
                f"task here is {task}: use average=macro, micro or weighted.")
        out.append(replace(inst, params=params, options=options))
    return out


def check_logits(sample: dict[str, np.ndarray] | None, instances: list[LossInstance],
                 task: str, describe: Any, assume_logits: bool = False) -> None:
    """Refuse logits that look like probabilities: with --from-logits (or a loss that
    implies it), predictions whose first rows all lie in [0, 1] — and, for multi-class
    data, sum to 1 per row — are almost surely probabilities, and reading them as logits
    gives a plausible but wrong value."""
    if assume_logits or sample is None or task not in ("binary", "multiclass", "multilabel"):
        return
    pred = sample.get("pred")
    users = [i.name for i in instances
             if i.options.get("from_logits") and "from_logits" in i.spec.options]
    if pred is None or not users:
        return
    finite = pred[np.isfinite(pred) if pred.ndim == 1 else np.isfinite(pred).all(axis=1)]
    if not finite.size or finite.min() < 0.0 or finite.max() > 1.0:
        return
    rows = finite.shape[0]
    if task == "multiclass":
        if rows < 2 or not (np.abs(finite.sum(axis=1) - 1.0) <= 1e-3).all():
            return
        why = "every value is in [0, 1] and every row sums to 1"
    else:
        if rows < PROBABILITY_EVIDENCE_ROWS:
            return
        why = "every value is in [0, 1]"
    implied = [i.name for i in instances if i.spec.implies.get("from_logits")]
    flag = (f"{', '.join(implied)} take{'s' if len(implied) == 1 else ''} logits"
            if implied else "--from-logits says they are logits")
    fix = (f"use {'bce' if task != 'multiclass' else 'cross_entropy'} on probabilities"
           if implied else "drop --from-logits")
    raise UsageError(
        f"The predictions in {describe('pred')} look like probabilities ({why} in the first "
        f"{rows} rows), but {flag}; {fix}, or pass --assume-logits if they really are logits."
    )


def notes(sample: dict[str, np.ndarray] | None, instances: list[LossInstance], task: str,
          decided_by: str, from_logits: bool) -> list[str]:
    """One-line remarks about how the values were read, for stderr (never an error)."""
    out: list[str] = []
    if sample is None:
        return out
    pred, target = sample.get("pred"), sample.get("target")
    if pred is None or target is None:
        return out
    t = target[np.isfinite(target)] if target.ndim == 1 else target[np.isfinite(target).all(axis=1)]
    p = pred[np.isfinite(pred)] if pred.ndim == 1 else pred[np.isfinite(pred).all(axis=1)]
    zero_one = t.size > 0 and bool(np.isin(t, (0.0, 1.0)).all())
    if task == "regression" and decided_by == "values" and zero_one and p.size and (
            p.min() < 0.0 or p.max() > 1.0):
        out.append("the targets are 0/1 labels and the predictions are unbounded: evaluated "
                   "as regression (right for a linear-probability model); for a classifier's "
                   "logits pass --task binary --from-logits.")
    if (task == "regression" and decided_by == "values" and target.ndim == 1 and t.size
            and bool(np.isin(t, (1.0, 2.0)).all()) and p.size and p.min() >= 0.0
            and p.max() <= 1.0):
        out.append("the targets are 1/2 and the predictions lie in [0, 1]: evaluated as "
                   "regression; if 1/2 are class labels (1-based), pass --pos-label 2 (or 1).")
    if task == "regression" and target.ndim == 2 and zero_one:
        out.append("the targets are 0/1 in every column: evaluated as regression with several "
                   "outputs; for a multi-label classifier pass --task multilabel.")
    thresholds = {i.options["threshold"] for i in instances if "threshold" in i.options}
    if task == "binary" and 0.5 in thresholds and not from_logits and p.size and (
            p.min() < 0.0 or p.max() > 1.0):
        users = sorted({i.name for i in instances if i.options.get("threshold") == 0.5})
        out.append(f"{', '.join(users)} use{'s' if len(users) == 1 else ''} the threshold 0.5, "
                   "but some scores are outside [0, 1]: for decision scores pass --threshold 0, "
                   "for logits --from-logits.")
    return out


def context(instances: list[LossInstance], task: str, source: str, *,
            from_logits: bool) -> dict[str, Any]:
    """What the report's ``inputs`` says about how the values were read (the decision
    threshold in effect, when a loss uses one)."""
    out: dict[str, Any] = {"task": task, "task_from": source, "from_logits": from_logits}
    thresholds = [i.options["threshold"] for i in instances if "threshold" in i.options]
    if thresholds:
        out["threshold"] = thresholds[0] if len(set(thresholds)) == 1 else sorted(set(thresholds))
    return out
