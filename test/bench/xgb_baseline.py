#!/usr/bin/python3
"""Training benchmark helper for test/bench/run-models.sh.

generate N FILE   write N rows "i,close,f01..f20" (float32-exact values, so
                  Postgres and numpy see bit-identical matrices): a random
                  walk close and 20 noisy features, some related to it.
train FILE NTHREAD [gblinear]  load FILE (not timed), then time what train_from_query()
                  does from a matrix already in memory: labels (next close
                  higher), the same time-ordered split (last 20 %, one row
                  left out), DMatrix construction and 100 rounds with the
                  same parameters, then the test window scored once (with
                  early_stopping_rounds 0 train() evaluates nothing per
                  round); prints milliseconds.  With gblinear: the linear
                  booster as train() sets it up (tree defaults dropped,
                  updater coord_descent).
"""
import sys
import time

import numpy as np


def generate(n, path):
    rng = np.random.default_rng(42)
    steps = rng.normal(0, 1, n).astype(np.float32)
    close = (10000 + np.cumsum(steps)).astype(np.float32)
    feats = rng.normal(0, 1, (n, 20)).astype(np.float32)
    feats[:, 0] = np.concatenate([[0], np.diff(close)]).astype(np.float32)
    feats[:, 1] = (feats[:, 0] + rng.normal(0, 0.5, n)).astype(np.float32)
    with open(path, "w") as f:
        for i in range(0, n, 100000):
            block = np.column_stack([np.arange(i, min(n, i + 100000)), close[i:i + 100000],
                                     feats[i:i + 100000]])
            np.savetxt(f, block, delimiter=",", fmt=["%d"] + ["%.9g"] * 21)


def train(path, nthread, booster_name="gbtree"):
    import xgboost as xgb
    data = np.loadtxt(path, delimiter=",", dtype=np.float64)
    close = data[:, 1]
    x = data[:, 2:].astype(np.float32)
    t0 = time.perf_counter()
    n = len(close) - 1
    y = (close[1:] > close[:-1]).astype(np.float32)
    n_test = int(n * 0.2)
    test_begin = n - n_test
    n_train = test_begin - 1
    dtrain = xgb.DMatrix(x[:n_train], label=y[:n_train], missing=np.nan)
    dtest = xgb.DMatrix(x[test_begin:n], label=y[test_begin:n], missing=np.nan)
    params = {"objective": "binary:logistic", "eval_metric": "logloss", "tree_method": "hist",
              "max_depth": 4, "eta": 0.1, "seed": 0, "nthread": nthread}
    if booster_name == "gblinear":
        params = {"objective": "binary:logistic", "eval_metric": "logloss", "booster": "gblinear",
                  "updater": "coord_descent", "seed": 0, "nthread": nthread}
    booster = xgb.train(params, dtrain, 100)
    booster.predict(dtest)
    print("%.1f" % ((time.perf_counter() - t0) * 1000))


if __name__ == "__main__":
    if sys.argv[1] == "generate":
        generate(int(sys.argv[2]), sys.argv[3])
    else:
        train(sys.argv[2], int(sys.argv[3]), *sys.argv[4:5])
