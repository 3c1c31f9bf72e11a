#!/usr/bin/python3
"""Independent check of a model trained by triggerstock's train().

Usage: check_model.py MODEL_HEX FEATURES_CSV METRICS_JSON

MODEL_HEX     the model bytes of triggerstock.models.model, hex encoded
FEATURES_CSV  the feature rows (CSV with header, COPY ... CSV HEADER), in
              time order: bucket, close, the model's features in its
              column order, then `ours` = predict(symbol, ARRAY[features])
METRICS_JSON  a JSON object {"metrics": ..., "horizon": h, "test_fraction": f}

Checks, printing one line "ok <what>" or "FAIL <what>" each:
  1. python3-xgboost loads the same bytes; on the same rows its predictions
     equal ours to 1e-6;
  2. labels, the time-ordered split and every stored metric recomputed here
     with numpy only (no code shared with the C implementation) equal the
     stored metrics to 1e-9.
Exit status 1 if any check failed.
"""
import csv
import json
import math
import sys

import numpy as np
import xgboost


def fail_or_ok(ok, what):
    print(("ok " if ok else "FAIL ") + what)
    return ok


def auc_by_pairs(y, p):
    """ROC AUC as the share of (positive, negative) pairs ranked right."""
    pos = np.sort(p[y == 1])
    neg = np.sort(p[y == 0])
    if len(pos) == 0 or len(neg) == 0:
        return None
    below = np.searchsorted(neg, pos, side="left")
    not_above = np.searchsorted(neg, pos, side="right")
    return float(np.sum(below + 0.5 * (not_above - below)) / (len(pos) * len(neg)))


def main():
    model_hex, features_csv, metrics_json = sys.argv[1:4]
    with open(model_hex) as f:
        model_bytes = bytes.fromhex(f.read().strip().removeprefix("\\x"))
    with open(metrics_json) as f:
        meta = json.load(f)
    stored = meta["metrics"]
    horizon = int(meta["horizon"])
    test_fraction = float(meta["test_fraction"])

    with open(features_csv, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [[float(v) if v != "" else math.nan for v in r[1:]] for r in reader]
    data = np.array(rows, dtype=np.float64)
    names = header[2:-1]
    close = data[:, 0]
    x = data[:, 1:-1]
    ours = data[:, -1]

    booster = xgboost.Booster(model_file=bytearray(model_bytes))
    good = True
    good &= fail_or_ok(booster.feature_names == names,
                       "model feature names %s match the exported columns" % len(names))
    theirs = booster.predict(xgboost.DMatrix(x, missing=np.nan, feature_names=names))
    diff = float(np.max(np.abs(theirs.astype(np.float64) - ours)))
    good &= fail_or_ok(diff <= 1e-6, "python3-xgboost predictions equal ours on %d rows (max diff %.3g)"
                       % (len(ours), diff))

    # labels and the split, recomputed
    n = len(close) - horizon
    y = (close[horizon:] > close[:n]).astype(np.int64)
    n_test = max(1, int(math.floor(n * test_fraction)))
    test_begin = n - n_test
    n_train = test_begin - horizon
    p = theirs[test_begin:n].astype(np.float64)
    yt = y[test_begin:n]
    majority = 1 if 2 * int(np.sum(y[:n_train])) > n_train else 0
    pred = (p >= 0.5).astype(np.int64)
    tp = int(np.sum((pred == 1) & (yt == 1)))
    fp = int(np.sum((pred == 1) & (yt == 0)))
    fn = int(np.sum((pred == 0) & (yt == 1)))
    clipped = np.clip(p, 1e-15, 1 - 1e-15)
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    expect = {
        "n_train": n_train,
        "n_test": n_test,
        "accuracy": float(np.mean(pred == yt)),
        "precision": precision,
        "recall": recall,
        "f1": (2 * precision * recall / (precision + recall)
               if precision is not None and recall is not None and precision + recall else None),
        "roc_auc": auc_by_pairs(yt, p),
        "log_loss": float(-np.mean(yt * np.log(clipped) + (1 - yt) * np.log(1 - clipped))),
        "brier": float(np.mean((p - yt) ** 2)),
        "base_rate": float(np.mean(yt)),
        "majority_class": majority,
        "majority_accuracy": float(np.mean(yt == majority)),
        "train_base_rate": float(np.mean(y[:n_train])),
    }
    for key, want in expect.items():
        got = stored.get(key)
        if want is None or got is None:
            ok = want is None and got is None
        else:
            ok = abs(float(got) - float(want)) <= 1e-9 * max(1.0, abs(float(want)))
        good &= fail_or_ok(ok, "metric %s: stored %s, recomputed %s" % (key, got, want))
    sys.exit(0 if good else 1)


if __name__ == "__main__":
    main()
