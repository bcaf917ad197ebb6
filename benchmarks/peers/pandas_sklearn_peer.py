"""pandas + scikit-learn: read the whole file into a DataFrame, then sklearn metrics
(huber with numpy: sklearn has no Huber metric).

    python pandas_sklearn_peer.py regression parquet|csv FILE   -> mse, mae, huber (delta = 1)
    python pandas_sklearn_peer.py binary parquet|csv FILE       -> bce, brier
"""

import json
import sys

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, log_loss, mean_absolute_error, mean_squared_error


def main() -> None:
    task, fmt, path = sys.argv[1:4]
    df = pd.read_parquet(path) if fmt == "parquet" else pd.read_csv(path)
    if task == "regression":
        y, p = df["target"].to_numpy(), df["pred"].to_numpy()
        ad = np.abs(p - y)
        out = {
            "mse": mean_squared_error(y, p),
            "mae": mean_absolute_error(y, p),
            "huber": np.mean(np.where(ad < 1.0, 0.5 * ad * ad, ad - 0.5)),
        }
    else:
        y, p = df["label"].to_numpy(), df["prob"].to_numpy()
        out = {"bce": log_loss(y, p), "brier": brier_score_loss(y, p)}
    print(json.dumps({k: float(v) for k, v in out.items()}))


if __name__ == "__main__":
    main()
