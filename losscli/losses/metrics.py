"""Classification metrics: accuracy, precision / recall / F1, ROC-AUC and average precision,
and the Hamming loss — streamed like every loss, each checked against scikit-learn.

The kernels stay pure: accuracy and hamming give a value per row (their mean is the metric);
precision, recall and f1 give each row's predicted class, which the
:class:`~losscli.metric_aggregates.Confusion` aggregate counts against the true class; roc_auc and
average_precision give each row's score(s), which
:class:`~losscli.metric_aggregates.RankingMetric` ranks — and so do the operating points
(precision_at_recall, recall_at_precision, threshold_at_fpr, expected_cost), read from the
same ranking state (:mod:`losscli.stats.operating_points`). Inputs are those of the other
classification losses: binary scores (n,) against labels 0/1 or -1/1 (positive when
``score >= threshold``: 0.5 on probabilities, 0 on logits, or ``--threshold``), multi-class
scores (n, C) against class indices (the argmax is the prediction), multi-label scores
(n, L) against 0/1 per label (``--task multilabel``).
"""

from __future__ import annotations

import numpy as np

from losscli.losses.common import (
    BINARY_LABELS,
    CLASS_TARGETS,
    MULTILABEL_TARGETS,
    PROBABILITY_PREDS,
    PROBABILITY_ROWS,
    binary_probability,
    class_index,
    class_probabilities,
    misclassified,
    pick,
    propagate_nan,
)
from losscli.losses.regression import THRESHOLD
from losscli.registry import Param, register

_TARGETS = (BINARY_LABELS, *CLASS_TARGETS[1:], MULTILABEL_TARGETS)
_TASKS = ("binary", "multiclass", "multilabel")
_EXAMPLE = "sample_data/binary.csv"

AVERAGE = Param(
    "average", None, "how per-class values combine: binary (the positive class of binary "
    "data), micro, macro or weighted (auto: binary for binary data, else macro)", type=str,
    choices=("binary", "micro", "macro", "weighted"), kernel=False)
BINS = Param(
    "bins", 0, "0: exact (memory grows with the distinct scores); N: N equal bins of the "
    "score range, with the error bound they imply reported", type=int, minimum=0,
    kernel=False)


def predicted_labels(pred: np.ndarray, task: str, threshold: float) -> np.ndarray:
    """Each row's predicted class: ``score >= threshold`` (binary; (n, L) per label for
    multi-label) or the argmax (multi-class, first on ties)."""
    if task == "multiclass":
        return np.argmax(pred, axis=1)
    return (pred >= threshold).astype(np.int64)


@register(
    "accuracy",
    aliases=("accuracy_score",),
    summary="Accuracy: the fraction of rows predicted right (higher is better).",
    formula="binary: [s ≥ threshold] = [y = 1]; multi-class: argmax s = y; multi-label: every "
            "label right (subset accuracy)",
    reference="sklearn.metrics.accuracy_score",
    task="classification", tasks=_TASKS, options=("task", "threshold"),
    higher_is_better=True, params=(THRESHOLD,), domain=_TARGETS, indicator=True,
    expects="binary: score vs label (positive when score ≥ threshold); multi-class: scores "
            "vs class index; multi-label: scores vs 0/1 per label",
    example=_EXAMPLE,
)
def accuracy(pred: np.ndarray, target: np.ndarray, *, task: str = "binary",
             threshold: float = 0.5) -> np.ndarray:
    """1.0 where the row is predicted right (sklearn ``accuracy_score`` per row; for
    multi-label data every label must be right)."""
    if task == "multilabel":
        right = np.all((pred >= threshold) == (target > 0), axis=1).astype(np.float64)
        return propagate_nan(right, pred, target)
    return 1.0 - misclassified(pred, target, threshold)


@register(
    "hamming",
    aliases=("hamming_loss",),
    summary="Hamming loss: the fraction of labels predicted wrong.",
    formula="mean over labels of [s_l ≥ threshold] ≠ [y_l = 1]; binary and multi-class: the "
            "0-1 loss",
    reference="sklearn.metrics.hamming_loss",
    task="classification", tasks=_TASKS, options=("task", "threshold"),
    params=(THRESHOLD,), domain=_TARGETS, indicator=True,
    expects="multi-label: scores vs 0/1 per label (binary, multi-class: as zero_one)",
    example=_EXAMPLE,
)
def hamming(pred: np.ndarray, target: np.ndarray, *, task: str = "binary",
            threshold: float = 0.5) -> np.ndarray:
    """Per row, the fraction of its labels predicted wrong (sklearn ``hamming_loss``)."""
    if task == "multilabel":
        wrong = ((pred >= threshold) != (target > 0)).mean(axis=1)
        return propagate_nan(wrong, pred, target)
    return misclassified(pred, target, threshold)


def _labels_kernel(pred: np.ndarray, target: np.ndarray, *, task: str = "binary",
                   threshold: float = 0.5) -> np.ndarray:
    """Each row's predicted class (or, multi-label, its 0/1 per label)."""
    return predicted_labels(pred, task, threshold)


_PRF = dict(
    task="classification", tasks=_TASKS, options=("task", "threshold"),
    higher_is_better=True, params=(AVERAGE, THRESHOLD), domain=_TARGETS, aggregate="confusion",
    expects="binary: score vs label (positive when score ≥ threshold); multi-class: scores "
            "vs class index (argmax); multi-label: scores vs 0/1 per label",
    example=_EXAMPLE,
)
register("precision", aliases=("precision_score",),
         summary="Precision: of the rows predicted positive (per class), the fraction right.",
         formula="tp / (tp + fp), per class, averaged (binary | micro | macro | weighted)",
         reference="sklearn.metrics.precision_score (precision_recall_fscore_support)",
         **_PRF)(_labels_kernel)  # type: ignore[arg-type]
register("recall", aliases=("recall_score", "sensitivity", "tpr"),
         summary="Recall: of the rows truly positive (per class), the fraction found.",
         formula="tp / (tp + fn), per class, averaged (binary | micro | macro | weighted)",
         reference="sklearn.metrics.recall_score (precision_recall_fscore_support)",
         **_PRF)(_labels_kernel)  # type: ignore[arg-type]
register("f1", aliases=("f1_score", "f_score"),
         summary="F1: the harmonic mean of precision and recall, per class, averaged.",
         formula="2·tp / (2·tp + fp + fn), per class, averaged (binary | micro | macro | "
                 "weighted)",
         reference="sklearn.metrics.f1_score (precision_recall_fscore_support)",
         **_PRF)(_labels_kernel)  # type: ignore[arg-type]


def _scores_kernel(pred: np.ndarray, target: np.ndarray, *, task: str = "binary",
                   from_logits: bool = False) -> np.ndarray:
    """Each row's score(s) to rank: binary scores as they are (a monotone map changes no
    ranking), multi-class logits turned into probabilities (one-vs-rest ranks each class's
    probability, which softmax couples)."""
    if task == "multiclass":
        return class_probabilities(pred, from_logits)
    return pred


_RANK = dict(
    task="classification", tasks=_TASKS, options=("task", "from_logits"),
    higher_is_better=True, params=(BINS,), domain=(*_TARGETS, PROBABILITY_ROWS),
    aggregate="ranking",
    expects="binary: score, probability or logit vs label; multi-class: probabilities (or "
            "logits with --from-logits) vs class index, one-vs-rest macro; multi-label: "
            "scores vs 0/1 per label, macro",
    example=_EXAMPLE,
)
register("roc_auc", aliases=("auc", "roc_auc_score", "auroc"),
         summary="Area under the ROC curve (ties count half; higher is better).",
         formula="P(s₊ > s₋) + ½·P(s₊ = s₋), weighted; multi-class: one-vs-rest, macro",
         reference="sklearn.metrics.roc_auc_score (multi_class='ovr', average='macro')",
         **_RANK)(_scores_kernel)  # type: ignore[arg-type]
register("average_precision", aliases=("ap", "pr_auc", "average_precision_score"),
         summary="Average precision: the area under the precision-recall curve, as a step "
                 "sum (higher is better).",
         formula="Σ_k (R_k − R_{k−1})·P_k over distinct thresholds; multi-class: one-vs-rest, "
                 "macro",
         reference="sklearn.metrics.average_precision_score",
         **_RANK)(_scores_kernel)  # type: ignore[arg-type]


CAL_BINS = Param("bins", 15, "equal-width confidence bins on [0, 1] (a value on an edge goes "
                 "to the upper bin, 1.0 to the last)", type=int, minimum=1, maximum=10_000,
                 kernel=False)


def _probabilities_kernel(pred: np.ndarray, target: np.ndarray, *, task: str = "binary",
                          from_logits: bool = False) -> np.ndarray:
    """Each row's probabilities (sigmoid / softmax of logits): what is calibrated."""
    if task == "multiclass":
        return class_probabilities(pred, from_logits)
    return binary_probability(pred, from_logits)


_CAL = dict(
    task="classification", tasks=("binary", "multiclass"), options=("task", "from_logits"),
    params=(CAL_BINS,), domain=(*PROBABILITY_PREDS, BINARY_LABELS, *CLASS_TARGETS[1:]),
    aggregate="calibration",
    expects="binary: probability of class 1 vs label; multi-class: probabilities (logits "
            "with --from-logits) vs class index (top-label confidence vs correctness)",
    example=_EXAMPLE,
)
register("ece", aliases=("expected_calibration_error", "calibration_error"),
         summary="Expected calibration error: mean |accuracy − confidence| over confidence "
                 "bins, weighted by the bins' rows.",
         formula="Σ_b (W_b/W)·|acc_b − conf_b|  (15 equal-width bins on [0, 1])",
         reference="torchmetrics BinaryCalibrationError / MulticlassCalibrationError "
                   "(norm='l1')",
         **_CAL)(_probabilities_kernel)  # type: ignore[arg-type]
register("mce", aliases=("maximum_calibration_error",),
         summary="Maximum calibration error: the largest |accuracy − confidence| of a bin.",
         formula="max_b |acc_b − conf_b|  (15 equal-width bins on [0, 1])",
         reference="torchmetrics BinaryCalibrationError / MulticlassCalibrationError "
                   "(norm='max')",
         **_CAL)(_probabilities_kernel)  # type: ignore[arg-type]


# Metrics of the whole confusion matrix (losscli.stats.confusion.ConfusionMatrix.metric):
# the kernel gives each row's predicted class, the Confusion aggregate counts it against the
# true class, exactly, and reads the metric from the merged counts.
_MATRIX = dict(
    task="classification", options=("task", "threshold"), higher_is_better=True,
    domain=(BINARY_LABELS, *CLASS_TARGETS[1:]), aggregate="confusion",
    expects="binary: score vs label (positive when score ≥ threshold); multi-class: scores "
            "vs class index (argmax)",
    example=_EXAMPLE,
)
register("mcc", aliases=("matthews_corrcoef", "matthews", "phi"),
         summary="Matthews correlation coefficient: the correlation of true and predicted "
                 "labels, from -1 to 1 (0: chance; higher is better).",
         formula="(s·n − Σ_c t_c·p_c) / √((n² − Σ_c p_c²)·(n² − Σ_c t_c²)); 0 when a factor "
                 "is 0  (t_c, p_c: true and predicted totals, s: the diagonal, n: all)",
         reference="sklearn.metrics.matthews_corrcoef",
         tasks=("binary", "multiclass"), params=(THRESHOLD,),
         **_MATRIX)(_labels_kernel)  # type: ignore[arg-type]
register("balanced_accuracy", aliases=("balanced_accuracy_score",),
         summary="Balanced accuracy: the mean recall over the classes that occur as true "
                 "labels (adjusted: chance is 0, a perfect score 1).",
         formula="(1/K)·Σ_c tp_c / t_c over the K classes with t_c > 0; adjusted: "
                 "(b − 1/K)/(1 − 1/K)",
         reference="sklearn.metrics.balanced_accuracy_score",
         tasks=("binary", "multiclass"),
         params=(Param("adjusted", False, "rescale so that chance scores 0 and a perfect "
                       "prediction 1 (sklearn's adjusted)", type=bool, kernel=False),
                 THRESHOLD),
         **_MATRIX)(_labels_kernel)  # type: ignore[arg-type]
register("cohen_kappa", aliases=("cohen_kappa_score", "kappa"),
         summary="Cohen's kappa: agreement of predicted with true labels beyond chance "
                 "(weighting: linear or quadratic for ordered classes).",
         formula="1 − Σ w_ij·M_ij / Σ w_ij·t_i·p_j/n;  w_ij = [i ≠ j], |i − j| (linear) or "
                 "(i − j)² (quadratic), i, j class indices",
         reference="sklearn.metrics.cohen_kappa_score (weights=weighting, labels=range(C): a "
                   "class that never occurs still counts in the distances)",
         tasks=("binary", "multiclass"),
         params=(Param("weighting", "none", "disagreement weights between classes i and j "
                       "(sklearn's weights; --weights is the sample-weights file): none "
                       "(1 if i ≠ j), linear |i − j| or quadratic (i − j)²", type=str,
                       choices=("none", "linear", "quadratic"), kernel=False),
                 THRESHOLD),
         **_MATRIX)(_labels_kernel)  # type: ignore[arg-type]
_BINARY_MATRIX = {**_MATRIX, "expects": "score vs label 0/1 or -1/1 (positive when score ≥ "
                  "threshold)"}
register("specificity", aliases=("tnr", "true_negative_rate", "selectivity"),
         summary="Specificity: of the rows truly negative, the fraction predicted negative "
                 "(binary).",
         formula="tn / (tn + fp); 0 when no row is negative",
         reference="sklearn.metrics.recall_score with pos_label the negative label",
         tasks=("binary",), params=(THRESHOLD,),
         **_BINARY_MATRIX)(_labels_kernel)  # type: ignore[arg-type]
register("npv", aliases=("negative_predictive_value",),
         summary="Negative predictive value: of the rows predicted negative, the fraction "
                 "truly negative (binary).",
         formula="tn / (tn + fn); 0 when no row is predicted negative",
         reference="sklearn.metrics.precision_score with pos_label the negative label",
         tasks=("binary",), params=(THRESHOLD,),
         **_BINARY_MATRIX)(_labels_kernel)  # type: ignore[arg-type]


@register(
    "top_k_accuracy",
    aliases=("top_k_accuracy_score", "top_k"),
    summary="Top-k accuracy: the fraction of rows whose true class is among the k highest "
            "scores (multi-class; higher is better).",
    formula="[#{j: s_j > s_y} + #{j > y: s_j = s_y} < k]  (ties: the higher class index "
            "ranks first, as sklearn's stable sort reversed)",
    reference="sklearn.metrics.top_k_accuracy_score",
    task="classification", tasks=("multiclass",), options=("task",),
    higher_is_better=True, domain=CLASS_TARGETS[1:], indicator=True,
    params=(Param("k", 2, "how many of the highest-scored classes may hold the true one "
                  "(k ≥ the number of classes: every row is a hit)", type=int, minimum=1),),
    expects="multi-class: scores, probabilities or logits (any monotone scale) vs class "
            "index",
    example="sample_data/multiclass.csv --pred-col 'p_*'",
)
def top_k_accuracy(pred: np.ndarray, target: np.ndarray, *, k: int = 2,
                   task: str = "multiclass") -> np.ndarray:
    """1.0 where the true class is among the ``k`` highest scores of its row (sklearn
    ``top_k_accuracy_score`` per row: its ranking is a stable ascending sort reversed, so of
    tied scores the higher class index ranks first). Needs no probabilities: any monotone
    map of the scores ranks the same."""
    y = class_index(target)
    own = pick(pred, y)[:, None]
    later = np.arange(pred.shape[1])[None, :] > y[:, None]
    ahead = np.count_nonzero((pred > own) | ((pred == own) & later), axis=1)
    return propagate_nan((ahead < k).astype(np.float64), pred, target)


# Operating points of a binary score (losscli.stats.operating_points): read from the same
# exact per-score counts as roc_auc (or its bins with bins=/--auc-bins, with a bound); the
# threshold is on the score's own scale (logits stay logits; with bins and --from-logits the
# bins are of the sigmoid, their edges mapped back).
_POINT = dict(
    task="classification", tasks=("binary",), options=("task", "from_logits"),
    higher_is_better=True, domain=(BINARY_LABELS,), aggregate="ranking",
    expects="binary: score, probability or logit vs label 0/1 or -1/1 (positive when score "
            "≥ t); the threshold reached is in the details",
    example=_EXAMPLE,
)
register("precision_at_recall", aliases=("precision_at_min_recall",),
         summary="Precision at a minimum recall: the highest precision of a threshold whose "
                 "recall is at least min_recall (binary; higher is better).",
         formula="max_t TP(t)/(TP(t) + FP(t)) over thresholds t with TP(t)/P ≥ min_recall "
                 "(positive when s ≥ t)",
         reference="sklearn.metrics.precision_recall_curve: max(precision[recall >= R])",
         params=(Param("min_recall", 0.9, "the recall the threshold must reach", type=float,
                       exclusive_minimum=0.0, maximum=1.0, kernel=False), BINS),
         **_POINT)(_scores_kernel)  # type: ignore[arg-type]
register("recall_at_precision", aliases=("recall_at_min_precision",),
         summary="Recall at a minimum precision: the highest recall of a threshold whose "
                 "precision is at least min_precision (binary; NaN when none reaches it).",
         formula="max_t TP(t)/P over thresholds t with TP(t)/(TP(t) + FP(t)) ≥ min_precision",
         reference="sklearn.metrics.precision_recall_curve: max(recall[:-1][precision[:-1] "
                   ">= Q]) (without the appended point 'predict nothing')",
         params=(Param("min_precision", 0.9, "the precision the threshold must keep",
                       type=float, exclusive_minimum=0.0, maximum=1.0, kernel=False), BINS),
         **_POINT)(_scores_kernel)  # type: ignore[arg-type]
register("threshold_at_fpr", aliases=("threshold_for_fpr",),
         summary="The score threshold for a target false-positive rate: the highest t with "
                 "the largest TPR at FPR ≤ fpr, the TPR reached in the details (binary; "
                 "informational: no better direction — check --max/--min bound it).",
         formula="t* = the highest t maximising TP(t)/P subject to FP(t)/N ≤ fpr (positive "
                 "when s ≥ t)",
         reference="sklearn.metrics.roc_curve(drop_intermediate=False): i = flatnonzero(fpr "
                   "<= F); thresholds[i[argmax(tpr[i])]]",
         params=(Param("fpr", 0.01, "the largest false-positive rate allowed", type=float,
                       minimum=0.0, maximum=1.0, kernel=False), BINS),
         **{**_POINT, "higher_is_better": False,  # type: ignore[arg-type]
            "informational": True})(_scores_kernel)


def _cost_kernel(pred: np.ndarray, target: np.ndarray, *, task: str = "binary",
                 from_logits: bool = False) -> np.ndarray:
    """Each row's score(s): binary scores to rank, multi-class scores whose argmax is the
    prediction (any monotone scale: logits or probabilities give the same argmax)."""
    return pred


def _parse_costs(raw: object, where: str) -> str:
    from losscli import cost_matrix

    return cost_matrix.parse(raw, where)


register("expected_cost", aliases=("min_expected_cost", "cost"),
         summary="Expected cost per row from a cost matrix (rows: true class, columns: "
                 "predicted, as sklearn's confusion_matrix): binary at the best threshold or "
                 "a fixed one (threshold=), multi-class over the argmax (lower is better; "
                 "the threshold used is in the details).",
         formula="binary: min_t (C_tn·TN(t) + C_fp·FP(t) + C_fn·FN(t) + C_tp·TP(t)) / n "
                 "('predict nothing' included; at threshold=t: that t alone); multi-class: "
                 "Σ_ij C_ij·M_ij / n, M the confusion matrix of the argmax (weighted: n = Σw)",
         reference="scikit-learn counts: binary, over roc_curve(drop_intermediate=False) of "
                   "(C · [[TN, FP], [FN, TP]]).sum()/n; multi-class, (C * confusion_matrix(y, "
                   "argmax, sample_weight=w)).sum()/w.sum()",
         params=(Param("cost_fp", 1.0, "binary: the cost of a false positive (the matrix "
                       "0,cost_fp;cost_fn,0)", type=float, minimum=0.0, kernel=False),
                 Param("cost_fn", 1.0, "binary: the cost of a false negative", type=float,
                       minimum=0.0, kernel=False),
                 Param("cost_matrix", None, "the cost of each (true, predicted) class pair: "
                       "rows the true class, columns the predicted one, in the run's class "
                       "order (binary: negative, positive; multi-class: the prediction "
                       "columns' order): inline, rows by ';', e.g. 0,1;5,0 — or a CSV/JSON file",
                       type=str, kernel=False, parse=_parse_costs),
                 Param("threshold", None, "binary: read at this fixed threshold (positive "
                       "when score ≥ t; auto: the best threshold)", type=float, kernel=False,
                       tasks=("binary",)),
                 BINS),
         **{**_POINT, "tasks": ("binary", "multiclass"),  # type: ignore[arg-type]
            "higher_is_better": False,
            "domain": (BINARY_LABELS, *CLASS_TARGETS[1:]),
            "expects": "binary: score, probability or logit vs label 0/1 or -1/1 (positive "
                       "when score ≥ t); multi-class: scores vs class index (argmax)"}
         )(_cost_kernel)  # type: ignore[arg-type]
