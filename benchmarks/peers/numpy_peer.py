"""Plain numpy: np.load the whole arrays, compute, print.

    python numpy_peer.py regression npy PRED.npy TARGET.npy      -> mse, mae, huber (delta = 1)
    python numpy_peer.py binary npy PROB.npy LABEL.npy           -> bce, brier
    python numpy_peer.py multiclass npy LOGITS.npy LABELS.npy    -> cross_entropy
    python numpy_peer.py multiclass parquet FILE                 -> cross_entropy (pyarrow read)

Cross-entropy is the usual log-sum-exp over float64 logits (float32 files are upcast, so
the value agrees with float64 tools to 1e-9).
"""

import json
import sys

import numpy as np


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    x = logits.astype(np.float64)
    m = x.max(axis=1, keepdims=True)
    x -= m
    lse = np.log(np.exp(x).sum(axis=1))  # log-sum-exp, shifted by the row max
    return float(np.mean(lse - x[np.arange(len(labels)), labels]))


def main() -> None:
    task, fmt, *paths = sys.argv[1:]
    if fmt == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(paths[0])
        names = [c for c in table.column_names if c != "label"]
        logits = np.stack([table.column(c).to_numpy() for c in names], axis=1)
        labels = table.column("label").to_numpy()
        out = {"cross_entropy": cross_entropy(logits, labels)}
    elif task == "regression":
        p, t = np.load(paths[0]), np.load(paths[1])
        d = p - t
        ad = np.abs(d)
        out = {
            "mse": np.mean(d * d),
            "mae": np.mean(ad),
            "huber": np.mean(np.where(ad < 1.0, 0.5 * d * d, ad - 0.5)),
        }
    elif task == "binary":
        p, y = np.load(paths[0]), np.load(paths[1])
        out = {
            "bce": -np.mean(np.where(y == 1, np.log(p), np.log(1.0 - p))),
            "brier": np.mean((p - y) ** 2),
        }
    else:
        out = {"cross_entropy": cross_entropy(np.load(paths[0]), np.load(paths[1]))}
    print(json.dumps({k: float(v) for k, v in out.items()}))


if __name__ == "__main__":
    main()
