"""The per-row Poisson bootstrap's work while streaming: the replicate weights of a chunk's
rows drawn once for every interval state that resamples them (:func:`flush_bootstrap`), and
the calibration errors' per-bin replicate sums (:func:`calibration_sums`). The weights are
:func:`losscli.stats.resample.poisson_weights` of the rows' identities: the same for any
chunking, worker count or merge."""

from __future__ import annotations

from typing import Any

import numpy as np

from losscli.stats.resample import BootstrapSums, poisson_weights, replicate_sums

#: Rows per block of replicate weights: (replicates × block) float64 at a time (13 MB at 200
#: replicates), whatever the chunk size.
BOOTSTRAP_BLOCK = 8192


def flush_bootstrap(trackers: list[Any]) -> None:
    """Add the chunk each interval state (:class:`losscli.uncertainty.Uncertainty`) holds
    (``pending``: row ids, value columns, weights) to its bootstrap sums, drawing the
    Poisson replicate weights once per block of rows for all the states that share the same
    row ids (every loss of a model, and the paired differences)."""
    waiting = [u for u in trackers if u.pending is not None and u.boot is not None]
    while waiting:
        ids = waiting[0].pending[0]  # type: ignore[index]
        group = [u for u in waiting if u.pending[0] is ids]  # type: ignore[index]
        waiting = [u for u in waiting if u.pending[0] is not ids]  # type: ignore[index]
        boot = group[0].boot
        assert boot is not None
        n = ids.shape[0]
        # One matrix of every state's weighted columns (and its weights, for the totals):
        # a single matrix product per block instead of one per state.
        blocks, widths = [], []
        for u in group:
            _, cols, weights = u.pending  # type: ignore[misc]
            w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
            blocks.append(w[:, None])
            blocks.append(cols if weights is None else cols * w[:, None])
            widths.append(cols.shape[1])
        positive = [n if u.pending[2] is None  # type: ignore[index]
                    else int(np.count_nonzero(np.asarray(u.pending[2]) > 0))  # type: ignore[index]
                    for u in group]
        matrix = np.ascontiguousarray(np.hstack(blocks).T)  # (columns, n)
        acc = np.zeros((matrix.shape[0], boot.replicates))
        for lo in range(0, n, BOOTSTRAP_BLOCK):
            hi = min(lo + BOOTSTRAP_BLOCK, n)
            wb = poisson_weights(boot.seed, ids[lo:hi], boot.replicates).astype(np.float64)
            # (columns, block) x (replicates, block), never by BLAS: see replicate_sums
            acc += replicate_sums(wb, matrix[:, lo:hi].T).T
        acc = acc.T
        at = 0
        for u, width, pos in zip(group, widths, positive):
            assert u.boot is not None
            u.boot.add_chunk(n, acc[:, at], acc[:, at + 1: at + 1 + width], pos)
            at += 1 + width
            u.pending = None



def calibration_sums(boot: BootstrapSums, bins: int, task: str, values: np.ndarray,
                     weights: np.ndarray | None, ids: np.ndarray, true: np.ndarray) -> None:
    """ece/mce (``task`` binary or multiclass, ``bins`` equal-width bins): per replicate and
    bin, the sums of weight, confidence and correctness of a chunk (``true``: the rows'
    true classes), added to ``boot`` — by one sort of each block's rows by bin (never a
    dense rows × bins matrix)."""
    from losscli.stats.calibration import CalibrationError

    cal = CalibrationError(bins, task)
    conf, correct = cal._confidence(values, true)
    n = conf.shape[0]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    where = np.clip(np.searchsorted(cal.edges, conf, side="right") - 1, 0, bins - 1)
    reps = boot.replicates
    totals = np.zeros(reps)
    sums = np.zeros((reps, bins, 3))
    for lo in range(0, n, BOOTSTRAP_BLOCK):
        hi = min(lo + BOOTSTRAP_BLOCK, n)
        order = np.argsort(where[lo:hi], kind="stable") + lo
        b = where[order]
        starts = np.flatnonzero(np.concatenate(([True], b[1:] != b[:-1])))
        rw = poisson_weights(boot.seed, ids[order], reps) * w[order]  # (B, block)
        totals += rw.sum(axis=1)
        for j, q in enumerate((None, conf[order], correct[order])):
            part = rw if q is None else rw * q
            sums[:, b[starts], j] += np.add.reduceat(part, starts, axis=1)
    boot.add_chunk(n, totals, sums.reshape(reps, -1), int(np.count_nonzero(w > 0)))
