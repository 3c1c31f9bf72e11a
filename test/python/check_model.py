#!/usr/bin/python3
"""Independent check of a model trained by triggerstock's train().

Usage: check_model.py MODEL_HEX FEATURES_CSV META_JSON

MODEL_HEX     the model bytes of triggerstock.models.model, hex encoded
FEATURES_CSV  the feature rows train() read (CSV with header, COPY ... CSV
              HEADER), in time order: bucket, close, the model's features in
              its column order, then `ours` = predict(symbol, ARRAY[features])
META_JSON     {"metrics": ..., "params": ..., "horizon": h, "nthread": n}:
              the stored metrics and params, the horizon, and the
              triggerstock.train_threads the model was trained with

It re-does the whole evaluation rule of train() with numpy and
python3-xgboost, sharing no code with the C implementation:
  labels      y[i] = close[i + h] > close[i];
  split       test = the last floor(n * test_fraction) labelled rows (at
              least 1), h rows left out before it, the rest trains;
  validation  the same split of the training rows with validation_fraction:
              fit rows | h rows left out | validation slice;
  rounds      xgboost.train on the fit rows with early stopping on the
              validation slice's log loss (early_stopping_rounds); 0 keeps
              num_boost_round rounds and uses no validation slice;
  refit       xgboost.train on all training rows with best_iteration + 1
              rounds: the model train() stores;
  metrics     the test window scored once with that model, beside the
              baselines (always the training base rate; always the training
              majority class).
Checks, printing one line "ok <what>" or "FAIL <what>" each:
  1. the stored bytes load; their trees equal the trees of the refit done
     here, and on the same rows their predictions equal ours
     (predict(symbol, float8[])) and the refit's to 1e-6;
  2. every stored metric equals the recomputed one to 1e-9.
Exit status 1 if any check failed.
"""
import csv
import json
import math
import sys

import numpy as np
import xgboost

OUR_KEYS = ("test_fraction", "validation_fraction", "num_boost_round", "early_stopping_rounds",
            "since", "until", "window")


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


def split(n, fraction, gap):
    """(n_train, test_begin): the last floor(n * fraction) rows, at least 1."""
    n_test = max(1, int(math.floor(n * fraction)))
    return n - n_test - gap, n - n_test


def ece10(y, p):
    """Expected calibration error over ten equal-width bins (p = 1 in the
    last), written independently of the C: per bin n_b / n * |mean p - mean y|."""
    bins = np.minimum(np.floor(p * 10).astype(int), 9)
    total = 0.0
    for b in range(10):
        sel = bins == b
        if sel.any():
            total += sel.sum() / len(p) * abs(float(np.mean(p[sel])) - float(np.mean(y[sel])))
    return total


def log_loss(y, p):
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def trees_of(booster):
    """The trees of a booster's JSON model (what decides its predictions);
    the weights of a linear (gblinear) one."""
    model = json.loads(booster.save_raw("json"))
    gb = model["learner"]["gradient_booster"]
    if gb["name"] == "gblinear":
        return gb["model"], model["learner"]["learner_model_param"]["base_score"]
    return gb["model"]["trees"], \
        model["learner"]["learner_model_param"]["base_score"]


def main():
    model_hex, features_csv, meta_json = sys.argv[1:4]
    with open(model_hex) as f:
        model_bytes = bytes.fromhex(f.read().strip().removeprefix("\\x"))
    with open(meta_json) as f:
        meta = json.load(f)
    stored = meta["metrics"]
    params = {k: v for k, v in meta["params"].items() if k not in OUR_KEYS}
    params["nthread"] = int(meta["nthread"])
    horizon = int(meta["horizon"])
    test_fraction = float(meta["params"]["test_fraction"])
    validation_fraction = float(meta["params"]["validation_fraction"])
    num_boost_round = int(meta["params"]["num_boost_round"])
    esr = int(meta["params"]["early_stopping_rounds"])

    with open(features_csv, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [[float(v) if v != "" else math.nan for v in r[1:]] for r in reader]
    data = np.array(rows, dtype=np.float64)
    names = header[2:-1]
    close = data[:, 0]
    x = data[:, 1:-1]
    ours = data[:, -1]

    # the rule, recomputed
    n = len(close) - horizon
    y = (close[horizon:] > close[:n]).astype(np.float64)
    n_train, test_begin = split(n, test_fraction, horizon)
    if esr > 0:
        n_fit, val_begin = split(n_train, validation_fraction, horizon)
        dfit = xgboost.DMatrix(x[:n_fit], label=y[:n_fit], missing=np.nan, feature_names=names)
        dval = xgboost.DMatrix(x[val_begin:n_train], label=y[val_begin:n_train], missing=np.nan,
                               feature_names=names)
        chooser = xgboost.train(params, dfit, num_boost_round, evals=[(dval, "validation")],
                                early_stopping_rounds=esr, verbose_eval=False)
        best_iteration = chooser.best_iteration
        validation_log_loss = float(chooser.best_score)
    else:
        n_fit, val_begin = n_train, n_train
        best_iteration = num_boost_round - 1
        validation_log_loss = None
    dall = xgboost.DMatrix(x[:n_train], label=y[:n_train], missing=np.nan, feature_names=names)
    refit = xgboost.train(params, dall, best_iteration + 1)

    booster = xgboost.Booster(model_file=bytearray(model_bytes))
    good = True
    good &= fail_or_ok(booster.feature_names == names,
                       "model feature names %s match the exported columns" % len(names))
    good &= fail_or_ok(trees_of(booster) == trees_of(refit),
                       "the stored trees equal python3-xgboost's refit (%d rounds on %d training rows, "
                       "rounds chosen on %d validation rows)" % (best_iteration + 1, n_train, n_train - val_begin))
    dx = xgboost.DMatrix(x, missing=np.nan, feature_names=names)
    theirs = booster.predict(dx).astype(np.float64)
    refit_p = refit.predict(dx).astype(np.float64)
    diff = float(np.max(np.abs(theirs - ours)))
    good &= fail_or_ok(diff <= 1e-6, "python3-xgboost predictions of the stored model equal ours on %d rows "
                       "(max diff %.3g)" % (len(ours), diff))
    diff = float(np.max(np.abs(refit_p - ours)))
    good &= fail_or_ok(diff <= 1e-6, "the refit's predictions equal ours (max diff %.3g)" % diff)

    # the test window, scored once with the refit model
    p = refit_p[test_begin:n]
    yt = y[test_begin:n]
    train_base_rate = float(np.mean(y[:n_train]))
    majority = 1 if 2 * int(np.sum(y[:n_train])) > n_train else 0
    pred = (p >= 0.5).astype(np.float64)
    tp = int(np.sum((pred == 1) & (yt == 1)))
    fp = int(np.sum((pred == 1) & (yt == 0)))
    fn = int(np.sum((pred == 0) & (yt == 1)))
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    accuracy = float(np.mean(pred == yt))
    majority_accuracy = float(np.mean(yt == majority))
    ll = log_loss(yt, p)
    baseline_ll = log_loss(yt, np.full(len(yt), train_base_rate))
    brier = float(np.mean((p - yt) ** 2))
    baseline_brier = float(np.mean((train_base_rate - yt) ** 2))
    expect = {
        "n_train": n_train,
        "n_fit": n_fit,
        "n_validation": n_train - val_begin,
        "n_test": n - test_begin,
        "n_gap": horizon,
        "rounds": best_iteration + 1,
        "best_iteration": best_iteration,
        "validation_log_loss": validation_log_loss,
        "accuracy": accuracy,
        "majority_class": majority,
        "majority_accuracy": majority_accuracy,
        "edge_accuracy": accuracy - majority_accuracy,
        "log_loss": ll,
        "baseline_log_loss": baseline_ll,
        "edge_log_loss": baseline_ll - ll,
        "brier": brier,
        "baseline_brier": baseline_brier,
        "edge_brier": baseline_brier - brier,
        "roc_auc": auc_by_pairs(yt, p),
        "baseline_roc_auc": 0.5,
        "precision": precision,
        "recall": recall,
        "f1": (2 * precision * recall / (precision + recall)
               if precision is not None and recall is not None and precision + recall else None),
        "base_rate": float(np.mean(yt)),
        "train_base_rate": train_base_rate,
        "ece": ece10(yt, p),
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
