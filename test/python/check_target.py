#!/usr/bin/python3
"""Independent check of a return or volatility model trained by train(..., target => ...).

Usage: check_target.py MODEL_HEX FEATURES_CSV META_JSON

MODEL_HEX     triggerstock.models.model, hex encoded
FEATURES_CSV  the feature rows train() read (CSV with header): bucket, close,
              then the model's features in its column order
META_JSON     {"metrics": ..., "params": ..., "horizon": h, "target": t,
               "nthread": n, "live": {"features": [...], "forecast": f} or null}

It re-does train()'s rule for the regression targets with numpy and
python3-xgboost, sharing no code with the C implementation (issue 15):
  labels      return: ln(close[i+h] / close[i]); volatility:
              ln(max(sqrt(sum_{k=1..h} ln(close[i+k]/close[i+k-1])^2), 1e-6));
              a label reads closes after its row only, never a regressor;
  split       as for direction (check_model.py): training rows | h rows left
              out | test window; fit rows | h rows | validation slice;
  rounds      early stopping on the validation rmse, base_score = the mean
              label of the fit rows; refit on all training rows with
              base_score = their mean label;
  baselines   training mean; zero (return); persistence and HAR (volatility:
              OLS of the label on ln rv of the last 1, 5, 22 buckets, fitted
              by numpy.linalg.lstsq on the training rows);
  metrics     MSE, MAE, out-of-sample R^2, directional accuracy, QLIKE, the
              Diebold-Mariano statistics (Newey-West, lag h - 1).
Checks print "ok <what>" or "FAIL <what>"; exit status 1 if any failed.
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


def split(n, fraction, gap):
    n_test = max(1, int(math.floor(n * fraction)))
    return n - n_test - gap, n - n_test


def log_rv_past(close, i, k, h):
    if i < k:
        return math.nan
    r = np.log(close[i - k + 1:i + 1] / close[i - k:i])
    return math.log(max(math.sqrt(float(np.sum(r * r)) * h / k), 1e-6))


def dm_stat(loss_model, loss_base, lag):
    d = loss_base - loss_model
    n = len(d)
    dc = d - d.mean()
    lrv = float(np.dot(dc, dc)) / n
    for l in range(1, lag + 1):
        lrv += 2 * (1 - l / (lag + 1)) * float(np.dot(dc[l:], dc[:-l])) / n
    return None if lrv <= 0 else float(d.mean() / math.sqrt(lrv / n))


def metrics(y, f, train_mean, ref, vol):
    e = y - f
    out = {"mse": float(np.mean(e * e)), "mae": float(np.mean(np.abs(e)))}
    sst = float(np.sum((y - train_mean) ** 2))
    out["r2_oos"] = 1 - float(np.sum(e * e)) / sst if sst > 0 else None
    r0 = ref if ref is not None else np.zeros(len(y))
    moves = y != r0
    informative = bool(np.any(f != r0))
    out["directional_accuracy"] = (float(np.mean((f[moves] > r0[moves]) == (y[moves] > r0[moves])))
                                   if moves.any() and informative else None)
    if vol:
        out["qlike"] = float(np.mean(np.exp(2 * e) - 2 * e - 1))
    return out


def main():
    model_hex, features_csv, meta_json = sys.argv[1:4]
    with open(model_hex) as f:
        model_bytes = bytes.fromhex(f.read().strip().removeprefix("\\x"))
    with open(meta_json) as f:
        meta = json.load(f)
    stored = meta["metrics"]
    target = meta["target"]
    vol = target == "volatility"
    params = {k: v for k, v in meta["params"].items() if k not in OUR_KEYS}
    params["nthread"] = int(meta["nthread"])
    h = int(meta["horizon"])
    test_fraction = float(meta["params"]["test_fraction"])
    validation_fraction = float(meta["params"]["validation_fraction"])
    num_boost_round = int(meta["params"]["num_boost_round"])
    esr = int(meta["params"]["early_stopping_rounds"])

    with open(features_csv, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [[float(v) if v != "" else math.nan for v in r[1:]] for r in reader]
    data = np.array(rows, dtype=np.float64)
    names = header[2:]
    close = data[:, 0]
    x = data[:, 1:]

    n = len(close) - h
    if target == "return":
        y64 = np.log(close[h:] / close[:n])
    else:
        lr = np.log(close[1:] / close[:-1])
        y64 = np.array([math.log(max(math.sqrt(float(np.sum(lr[i:i + h] ** 2))), 1e-6)) for i in range(n)])
    y = y64.astype(np.float32).astype(np.float64)    # XGBoost's and train()'s labels are float
    n_train, test_begin = split(n, test_fraction, h)
    good = True
    good &= fail_or_ok(test_begin - n_train == h, "%d rows left out between training and test (horizon %d)"
                       % (test_begin - n_train, h))
    fit_params = dict(params)
    if esr > 0:
        n_fit, val_begin = split(n_train, validation_fraction, h)
        fit_params["base_score"] = "%.17g" % float(np.sum(y[:n_fit]) / n_fit)
        dfit = xgboost.DMatrix(x[:n_fit], label=y[:n_fit], missing=np.nan, feature_names=names)
        dval = xgboost.DMatrix(x[val_begin:n_train], label=y[val_begin:n_train], missing=np.nan,
                               feature_names=names)
        chooser = xgboost.train(fit_params, dfit, num_boost_round, evals=[(dval, "validation")],
                                early_stopping_rounds=esr, verbose_eval=False)
        best_iteration = chooser.best_iteration
        validation_rmse = float(chooser.best_score)
    else:
        n_fit, val_begin = n_train, n_train
        best_iteration = num_boost_round - 1
        validation_rmse = None
    train_mean = float(np.mean(y[:n_train]))
    good &= fail_or_ok(abs(float(params["base_score"]) - train_mean) <= 1e-12 * max(1, abs(train_mean)),
                       "refit base_score %s is the training mean label %.17g" % (params["base_score"], train_mean))
    dall = xgboost.DMatrix(x[:n_train], label=y[:n_train], missing=np.nan, feature_names=names)
    refit = xgboost.train(params, dall, best_iteration + 1)

    booster = xgboost.Booster(model_file=bytearray(model_bytes))
    good &= fail_or_ok(booster.feature_names == names, "model feature names match the %d columns" % len(names))
    mine = json.loads(booster.save_raw("json"))["learner"]["gradient_booster"]
    theirs_model = json.loads(refit.save_raw("json"))["learner"]["gradient_booster"]
    good &= fail_or_ok(mine == theirs_model,
                       "the stored %s equals python3-xgboost's refit (%d rounds on %d training rows, rounds "
                       "chosen on %d validation rows)" % (mine["name"], best_iteration + 1, n_train,
                                                         n_train - val_begin))
    dx = xgboost.DMatrix(x, missing=np.nan, feature_names=names)
    f_all = booster.predict(dx).astype(np.float64)
    diff = float(np.max(np.abs(f_all - refit.predict(dx).astype(np.float64))))
    good &= fail_or_ok(diff <= 1e-6, "stored model and refit predict the same on %d rows (max diff %.3g)"
                       % (len(f_all), diff))

    f = f_all[test_begin:n]
    yt = y[test_begin:n]
    ref = np.array([log_rv_past(close, i, h, h) for i in range(test_begin, n)]) if vol else None
    model = metrics(yt, f, train_mean, ref, vol)
    expect = {"n_train": n_train, "n_fit": n_fit, "n_validation": n_train - val_begin, "n_test": n - test_begin,
              "n_gap": h, "rounds": best_iteration + 1, "validation_rmse": validation_rmse,
              "train_mean": train_mean}
    expect.update(model)
    base = {"train_mean": np.full(len(yt), train_mean)}
    if not vol:
        base["zero"] = np.zeros(len(yt))
    else:
        base["persistence"] = ref
        lags = (1, 5, 22)
        xtr = np.array([[log_rv_past(close, i, k, h) for k in lags] for i in range(n_train)])
        ok_rows = np.all(np.isfinite(xtr), axis=1)
        design = np.column_stack([np.ones(int(ok_rows.sum())), xtr[ok_rows]])
        beta = np.linalg.lstsq(design, y[:n_train][ok_rows], rcond=None)[0]
        xte = np.array([[log_rv_past(close, i, k, h) for k in lags] for i in range(test_begin, n)])
        base["har"] = beta[0] + xte @ beta[1:]
        for k in range(4):
            expect_b = float(beta[k])
            got = stored["har"]["beta"][k]
            good &= fail_or_ok(abs(got - expect_b) <= 1e-6 * max(1, abs(expect_b)),
                               "HAR beta[%d]: stored %s, numpy lstsq %s" % (k, got, expect_b))
    se_m = (yt - f) ** 2
    ql_m = np.exp(2 * (yt - f)) - 2 * (yt - f) - 1
    beats = []
    for name, fb in base.items():
        bm = metrics(yt, fb, train_mean, ref, vol)
        se_b = (yt - fb) ** 2
        want = dict(bm)
        want["edge_mse"] = bm["mse"] - model["mse"]
        want["dm_mse"] = dm_stat(se_m, se_b, h - 1)
        if vol:
            want["edge_qlike"] = bm["qlike"] - model["qlike"]
            want["dm_qlike"] = dm_stat(ql_m, np.exp(2 * (yt - fb)) - 2 * (yt - fb) - 1, h - 1)
        if model["mse"] < bm["mse"]:
            beats.append(name)
        for key, w in want.items():
            got = stored["baselines"][name].get(key)
            good &= check(got, w, 1e-6 if key.startswith("dm_") or key.startswith("edge") else 1e-9,
                          "baseline %s %s" % (name, key))
        good &= fail_or_ok(stored["baselines"][name]["beaten"] == (model["mse"] < bm["mse"]),
                           "baseline %s beaten = %s" % (name, model["mse"] < bm["mse"]))
    good &= fail_or_ok(stored["beats"] == beats, "beats %s" % beats)
    for key, w in expect.items():
        good &= check(stored.get(key), w, 1e-9, "metric %s" % key)

    live = meta.get("live")
    if live is not None:
        fx = np.array([[math.nan if v is None else float(v) for v in live["features"]]])
        p = float(booster.predict(xgboost.DMatrix(fx, missing=np.nan, feature_names=names))[0])
        p = math.exp(p) if vol else p
        good &= fail_or_ok(abs(p - live["forecast"]) <= 1e-6 * max(1, abs(p)),
                           "predict(symbol, '%s') %.9g equals python3-xgboost on its feature row (%.9g)"
                           % (target, live["forecast"], p))
    sys.exit(0 if good else 1)


def check(got, want, rel, what):
    if want is None or got is None:
        ok = want is None and got is None
    else:
        ok = abs(float(got) - float(want)) <= rel * max(1e-12, abs(float(want))) or \
            abs(float(got) - float(want)) <= 1e-15
    return fail_or_ok(ok, "%s: stored %s, recomputed %s" % (what, got, want))


if __name__ == "__main__":
    main()
