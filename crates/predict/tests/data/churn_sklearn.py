"""The churn comparisons of tests/predict.rs with scikit-learn (a one-off measurement; CI and
`cargo test` do not run Python). Two data sets, 5 folds by row (row i in fold i % 5), the
out-of-fold probabilities scored together:

1. CDNOW (tests/data/CDNOW_sample.txt): features per customer from the calibration period
   (to 1997-09-30, purchases counted once per day): frequency, recency, T (days), mean repeat
   value; churn = no purchase in the holdout (1997-10-01 to 1998-06-30). Customers in id
   order (ids as strings, sorted, as Summary::from_transactions orders them).
2. simulate_churn(5000, 21) of src/simulate.rs, drawn here with the same SplitMix64 numbers
   (the checksum printed is asserted by the Rust test, so both saw the same rows).

Models: LogisticRegression(C=1) after StandardScaler, and HistGradientBoostingClassifier with
its defaults (random_state=0; early stopping is off below 10,000 rows), uncalibrated and in
CalibratedClassifierCV(ensemble=False) with method sigmoid and isotonic, its inner folds
given as Classifier::fit makes them (position j of the training part in fold j % 5) rather
than scikit-learn's StratifiedKFold, whose blocks follow the row order (on CDNOW, the
customers' ids, so cohorts).

    python3 -m venv /tmp/v && /tmp/v/bin/pip install scikit-learn
    /tmp/v/bin/python crates/predict/tests/data/churn_sklearn.py
"""
import datetime as dt
import math
import os
from collections import defaultdict

import numpy as np
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

here = os.path.dirname(__file__)
M64 = (1 << 64) - 1


def cdnow():
    end = dt.date(1997, 9, 30)
    days = defaultdict(lambda: defaultdict(float))
    later = set()
    for line in open(os.path.join(here, "CDNOW_sample.txt")):
        f = line.split()
        if not f:
            continue
        cust = f[1].lstrip("0")
        d = dt.datetime.strptime(f[2], "%Y%m%d").date()
        if d <= end:
            days[cust][d] += float(f[4])
        else:
            later.add(cust)
    X, y = [], []
    for cust in sorted(days):
        ds = sorted(days[cust])
        x = len(ds) - 1
        rec = (ds[-1] - ds[0]).days
        T = (end - ds[0]).days
        m = sum(days[cust][d] for d in ds[1:]) / x if x else 0.0
        X.append([x, rec, T, m])
        y.append(cust not in later)
    return np.array(X), np.array(y)


class Rng:
    """SplitMix64, as src/simulate.rs."""

    def __init__(self, seed):
        self.s = seed

    def next_u64(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & M64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)

    def uniform(self):
        return ((self.next_u64() >> 11) + 0.5) / float(1 << 53)


def simulate_churn(n, seed):
    rng = Rng(seed)
    X, y = [], []
    for _ in range(n):
        u = [rng.uniform() for _ in range(7)]
        tenure = 30.0 + math.floor(970.0 * u[0])
        open_rate = u[1]
        orders = float(math.floor(-math.log(u[2]) * (1.0 + tenure / 100.0) * (0.3 + open_rate)))
        since_last = float(math.floor(u[3] * tenure))
        value = 10.0 + 190.0 * u[4]
        tickets = float(math.floor(6.0 * u[5] * u[5]))
        z = (-1.0 + 3.0 * (since_last > 120.0) - 1.2 * math.log1p(orders)
             + 1.5 * (tickets >= 3.0 and open_rate < 0.3)
             + 0.8 * math.sin(value / 20.0)
             + 2.0 * (2.0 * open_rate - 1.0) ** 2)
        p = 1.0 / (1.0 + math.exp(-z))
        X.append([tenure, orders, since_last, value, open_rate, tickets])
        y.append(u[6] < p)
    return np.array(X), np.array(y)


def interleaved(n, k=5):
    """Row j in test fold j % k, as src/classifier.rs."""
    return [(np.flatnonzero(np.arange(n) % k != f), np.flatnonzero(np.arange(n) % k == f)) for f in range(k)]


class Calibrated:
    """CalibratedClassifierCV(method, ensemble=False) over the interleaved folds of the rows it is fitted on."""

    def __init__(self, method):
        self.method = method

    def fit(self, X, y):
        self.m = CalibratedClassifierCV(
            HistGradientBoostingClassifier(random_state=0), method=self.method,
            cv=interleaved(len(y)), ensemble=False).fit(X, y)
        return self

    def predict_proba(self, X):
        return self.m.predict_proba(X)


def report(name, X, y):
    print(f"{name}: {len(y)} rows, churn rate {y.mean():.4f}, feature sum {X.sum():.6f}")
    for label, make in [
        ("logistic C=1", lambda: make_pipeline(StandardScaler(), LogisticRegression(C=1.0))),
        ("hist gradient boosting", lambda: HistGradientBoostingClassifier(random_state=0)),
        ("hgb + sigmoid", lambda: Calibrated("sigmoid")),
        ("hgb + isotonic", lambda: Calibrated("isotonic")),
    ]:
        p = np.zeros(len(y))
        for k in range(5):
            test = np.arange(len(y)) % 5 == k
            model = make().fit(X[~test], y[~test])
            p[test] = model.predict_proba(X[test])[:, 1]
        print(f"  {label}: AUC {roc_auc_score(y, p):.4f}, log-loss {log_loss(y, p):.4f}, Brier {brier_score_loss(y, p):.4f}")


print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}")
report("CDNOW", *cdnow())
report("simulate_churn(5000, 21)", *simulate_churn(5000, 21))
