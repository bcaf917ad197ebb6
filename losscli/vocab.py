"""The words losscli accepts, in one place: formats, reductions, policies, tasks, roles.

Plain tuples and small dataclasses only: the CLI builds its choices from here at start-up,
so this module imports nothing but the standard library (no numpy, no pyarrow).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Input formats (``--format-in``), and the file extensions that name them.
INPUT_FORMATS = ("csv", "tsv", "parquet", "npy", "feather", "arrow", "ndjson")
EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".npy": "npy",
    ".feather": "feather",
    ".arrow": "feather",
    ".ipc": "feather",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".json": "ndjson",
}
#: Compression suffixes a text input may carry (``.csv.gz``).
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".zst", ".lz4")

#: Per-row output formats (``--output FILE``), and those standard output can take.
SINK_FORMATS = ("csv", "tsv", "parquet", "npy", "ndjson")
STDOUT_SINK_FORMATS = ("csv", "tsv", "ndjson")

#: Report formats on standard output (``--format``).
OUTPUT_FORMATS = ("table", "json", "markdown", "csv", "ndjson")
#: ``check --format`` writes these besides: JUnit XML (one test case per loss and group
#: check) and GitLab's metrics report (the OpenMetrics text format).
CHECK_FORMATS = (*OUTPUT_FORMATS, "junit", "openmetrics")
#: ``history --format``: one row per commit (no per-row ndjson).
HISTORY_FORMATS = ("table", "json", "markdown", "csv")

#: ``--ci-format``: GitHub's annotations and step summary inside GitHub Actions
#: (``GITHUB_ACTIONS=true``), always, or never.
CI_FORMATS = ("auto", "github", "none")

#: ``--reduction``: mean Σw·ℓ/Σw, sum Σw·ℓ, none (per-row w·ℓ).
REDUCTIONS = ("mean", "sum", "none")

#: ``--nan-policy``: what a NaN/inf value in any input does.
NAN_POLICIES = ("raise", "omit", "propagate")

#: ``check --data-changed``: what a baseline computed on other data does to the gate.
DATA_CHANGED = ("warn", "fail")

#: ``--engine``: threads of this process, or the workers of a Dask cluster.
ENGINES = ("local", "dask")

#: ``--ci-method``: analytic where valid else bootstrap, analytic only, bootstrap for all.
CI_METHODS = ("auto", "analytic", "bootstrap")

#: ``--sort``: groups by key, or by value (worst first on the first loss).
GROUP_SORTS = ("key", "value")
#: --group-gap: the gap between groups as fairlearn's MetricFrame.difference()/ratio()
#: (method="between_groups"): max − min, or min / max
GROUP_GAPS = ("difference", "ratio")

#: ``--unmatched``: rows of a join without a partner are an error, or left out and counted.
UNMATCHED = ("error", "omit")

#: ``--partitioning``: key=value folders are hive partitions, or plain folders.
PARTITIONINGS = ("hive", "none")

#: What a loss can be evaluated on. regression data are one number per row (or one per
#: output, against as many targets); binary data one number per row (a probability, logit or
#: score against a 0/1 or -1/1 label); multiclass data one number per class and row against a
#: class index or a distribution; multilabel data one score per label against a 0/1 per
#: label; embedding data anchor/positive/negative vectors.
TASKS = ("regression", "binary", "multiclass", "multilabel", "embedding")

#: Which way a loss's value is better: lower (a loss), higher (a score), or none — an
#: informational value such as threshold_at_fpr's threshold: no winner in compare, no gate
#: against a baseline (its change is a note), only the --max/--min bounds given for it.
DIRECTIONS = ("lower", "higher", "none")

#: Evaluation-wide options a kernel may declare in ``LossSpec.options`` to receive them as
#: keyword arguments (they are not loss parameters: one value for the whole evaluation).
KERNEL_OPTIONS = ("task", "from_logits", "threshold", "classes")


@dataclass(frozen=True)
class Role:
    """How an input role is named on the command line, in the API and in the JSON report."""

    name: str
    col_flag: str  # --pred-col
    file_flag: str | None  # --targets (None: the role always comes from the main file)
    names: tuple[str, ...]  # column names detected when the flag is absent
    noun: str
    key: str  # key in Report.inputs


PRED_NAMES = ("pred", "preds", "prediction", "predictions", "y_pred", "yhat", "y_hat",
              "predicted", "output", "score", "scores", "prob", "probs", "proba",
              "probability", "probabilities", "logit", "logits")
TARGET_NAMES = ("target", "targets", "label", "labels", "y_true", "y", "truth", "actual",
                "ground_truth")
#: A prediction column named after the label it scores: ``p_yes``, ``prob_yes``,
#: ``yes_proba`` — one of these words (any case) and a separator ``_ - . :`` or space before
#: (after) the label. Found as the predictions when no column has a name of PRED_NAMES, and
#: a binary column named so scores its label (losscli.labels).
PROB_WORDS = ("p", "prob", "proba", "probability")
_SEPARATORS = "_-.: "


def prob_column_label(name: str) -> str | None:
    """The label a ``p_<label>`` / ``<label>_prob`` column names, or None."""
    for i, ch in enumerate(name):
        if ch in _SEPARATORS:
            if name[:i].lower() in PROB_WORDS and name[i + 1:]:
                return name[i + 1:]
            break
    for i in range(len(name) - 1, 0, -1):
        if name[i] in _SEPARATORS:
            if name[i + 1:].lower() in PROB_WORDS[1:] and name[:i]:
                return name[:i]
            break
    return None


#: Weights are never bound by name: these names only make ``inspect`` suggest --weight-col.
WEIGHT_NAMES = ("weight", "weights", "sample_weight", "w")
VAR_NAMES = ("var", "variance", "pred_var", "y_var")

ROLES = {
    "pred": Role("pred", "--pred-col", None, PRED_NAMES, "prediction", "predictions"),
    "target": Role("target", "--target-col", "--targets", TARGET_NAMES, "target", "targets"),
    "weight": Role("weight", "--weight-col", "--weights", WEIGHT_NAMES, "weight", "weights"),
    "var": Role("var", "--var-col", "--var", VAR_NAMES, "variance", "variances"),
    "anchor": Role("anchor", "--anchor-col", None, ("anchor", "anchors"), "anchor", "anchors"),
    "positive": Role("positive", "--positive-col", "--positive", ("positive", "positives"),
                     "positive", "positives"),
    "negative": Role("negative", "--negative-col", "--negative", ("negative", "negatives"),
                     "negative", "negatives"),
}
EMBEDDING_ROLES = ("anchor", "positive", "negative")
#: Forecast inputs (losscli.losses.forecast): a prediction interval's bounds, and a naive
#: forecast whose error scales MASE; read from the predictions' file only.
FORECAST_ROLES = {
    "lower": Role("lower", "--lower-col", None, ("lower", "lo", "lower_bound", "y_lower",
                                                 "pred_lower"), "lower bound", "lower"),
    "upper": Role("upper", "--upper-col", None, ("upper", "hi", "upper_bound", "y_upper",
                                                 "pred_upper"), "upper bound", "upper"),
    "naive": Role("naive", "--naive-col", None, ("naive", "y_naive", "naive_pred"),
                  "naive forecast", "naive"),
    # never detected: named with --quantile-cols (levels parsed from the names)
    "quantiles": Role("quantiles", "--quantile-cols", None, (), "quantile forecast",
                      "quantiles"),
}
ROLES.update(FORECAST_ROLES)


def choices(words: tuple[str, ...]) -> str:
    """``a, b, c`` for messages that list the allowed values."""
    return ", ".join(words)
