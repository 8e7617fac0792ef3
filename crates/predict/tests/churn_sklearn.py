"""The CDNOW churn comparison of tests/predict.rs with scikit-learn (a one-off measurement;
CI does not run Python). Features per customer from the calibration period (to 1997-09-30,
purchases counted once per day): frequency, recency, T (days), mean repeat value; churn = no
purchase in the holdout (1997-10-01 to 1998-06-30). 5 folds by row (i % 5) in customer order
(ids as strings, sorted, as Summary::from_transactions orders them).

    python3 -m venv /tmp/v && /tmp/v/bin/pip install scikit-learn
    /tmp/v/bin/python crates/predict/tests/churn_sklearn.py
"""
import datetime as dt
import os
from collections import defaultdict

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

here = os.path.dirname(__file__)
end = dt.date(1997, 9, 30)
days = defaultdict(lambda: defaultdict(float))
later = set()
for line in open(os.path.join(here, "data", "CDNOW_sample.txt")):
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
X, y = np.array(X), np.array(y)
for name, make in [
    ("logistic C=1", lambda: make_pipeline(StandardScaler(), LogisticRegression(C=1.0))),
    ("hist gradient boosting", lambda: HistGradientBoostingClassifier(random_state=0)),
]:
    p = np.zeros(len(y))
    for k in range(5):
        test = np.arange(len(y)) % 5 == k
        model = make().fit(X[~test], y[~test])
        p[test] = model.predict_proba(X[test])[:, 1]
    print(f"{name}: AUC {roc_auc_score(y, p):.4f}, log-loss {log_loss(y, p):.4f}, Brier {brier_score_loss(y, p):.4f}, churn rate {y.mean():.3f}")
