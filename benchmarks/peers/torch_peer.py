"""PyTorch on the CPU: torch.nn.functional on the whole arrays (float64, so the values
agree with the float64 tools to 1e-9).

    python torch_peer.py binary npy PROB.npy LABEL.npy          -> bce, brier
    python torch_peer.py multiclass npy LOGITS.npy LABELS.npy   -> cross_entropy
    python torch_peer.py multiclass parquet FILE                -> cross_entropy (pyarrow read)
"""

import json
import sys

import numpy as np
import torch
import torch.nn.functional as F


def main() -> None:
    task, fmt, *paths = sys.argv[1:]
    if task == "binary":
        p = torch.from_numpy(np.load(paths[0]))
        y = torch.from_numpy(np.load(paths[1])).to(torch.float64)
        out = {"bce": F.binary_cross_entropy(p, y).item(), "brier": ((p - y) ** 2).mean().item()}
    else:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(paths[0])
            names = [c for c in table.column_names if c != "label"]
            logits = np.stack([table.column(c).to_numpy() for c in names], axis=1)
            labels = table.column("label").to_numpy()
        else:
            logits, labels = np.load(paths[0]), np.load(paths[1])
        x = torch.from_numpy(logits).to(torch.float64)
        out = {"cross_entropy": F.cross_entropy(x, torch.from_numpy(labels)).item()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
