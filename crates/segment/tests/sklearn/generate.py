#!/usr/bin/env python3
"""Writes the scikit-learn expectations that crates/segment/tests/sklearn.rs compares against.

Regenerate (needs Python 3 with scikit-learn and numpy; CI has neither, so the files it
writes are committed):

    pip install scikit-learn numpy
    python3 crates/segment/tests/sklearn/generate.py

Each case is a feature table `<case>.csv` (id, then the features, rounded to 4 decimals and
read back, so that both sides cluster exactly the same numbers), the labels scikit-learn
gives `<case>.labels.csv` (id,label) and `<case>.json` (parameters and scores).
"""
import json
import os

import numpy as np
import sklearn
from sklearn.cluster import DBSCAN, KMeans
from sklearn.datasets import make_blobs, make_moons
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))


def write_table(name, x):
    path = os.path.join(HERE, name + ".csv")
    with open(path, "w") as f:
        f.write("id," + ",".join(f"f{j}" for j in range(x.shape[1])) + "\n")
        for i, row in enumerate(x):
            f.write(f"p{i}," + ",".join(f"{v:.4f}" for v in row) + "\n")
    # Read back: both sides see the rounded values.
    return np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(1, x.shape[1] + 1))


def write_labels(name, labels):
    with open(os.path.join(HERE, name + ".labels.csv"), "w") as f:
        f.write("id,label\n")
        for i, l in enumerate(labels):
            f.write(f"p{i},{int(l)}\n")


def write_meta(name, meta):
    meta["sklearn"] = sklearn.__version__
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(meta, f, indent=2, sort_keys=True)
        f.write("\n")


def kmeans_case(name, x, k, scale):
    xs = StandardScaler().fit_transform(x) if scale == "standard" else x
    # One initialisation, a hundred seeds: how good single runs are, optimum reached or not.
    single = [KMeans(n_clusters=k, n_init=1, random_state=s, algorithm="lloyd").fit(xs) for s in range(100)]
    inertias = [m.inertia_ for m in single]
    best = min(single, key=lambda m: m.inertia_)
    write_labels(name, best.labels_)
    write_meta(name, {
        "algorithm": "kmeans",
        "k": k,
        "scale": scale,
        "inertia_one_init": [round(v, 6) for v in inertias],
        "inertia_best": best.inertia_,
        "silhouette": float(silhouette_score(xs, best.labels_)),
    })


def dbscan_case(name, x, eps, min_samples, scale):
    xs = StandardScaler().fit_transform(x) if scale == "standard" else x
    m = DBSCAN(eps=eps, min_samples=min_samples).fit(xs)
    write_labels(name, m.labels_)
    core = np.zeros(len(xs), dtype=bool)
    core[m.core_sample_indices_] = True
    write_meta(name, {
        "algorithm": "dbscan",
        "eps": eps,
        "min_samples": min_samples,
        "scale": scale,
        "core": [int(i) for i in np.nonzero(core)[0]],
        "clusters": int(m.labels_.max() + 1),
        "noise": int((m.labels_ == -1).sum()),
    })


def main():
    # Well separated: 5 blobs in 4 dimensions (ARI >= 0.99 expected).
    x, _ = make_blobs(n_samples=800, centers=5, n_features=4, cluster_std=1.0, random_state=1)
    kmeans_case("kmeans_separated", write_table("kmeans_separated", x), 5, "none")
    # Overlapping: 8 blobs in 5 dimensions, scaled (inertia within 0.1% expected).
    x, _ = make_blobs(n_samples=1000, centers=8, n_features=5, cluster_std=2.5, random_state=7)
    x[:, 0] *= 100.0  # a feature in other units: what standard scaling is for
    kmeans_case("kmeans_overlapping", write_table("kmeans_overlapping", x), 8, "standard")
    # DBSCAN: two moons and a blob with uniform noise around them.
    rng = np.random.RandomState(3)
    moons, _ = make_moons(n_samples=600, noise=0.06, random_state=3)
    blob = rng.normal(loc=[3.0, 2.0], scale=0.25, size=(200, 2))
    noise = rng.uniform(low=[-1.5, -1.0], high=[4.0, 3.0], size=(60, 2))
    x = np.vstack([moons, blob, noise])
    rng.shuffle(x)
    x = write_table("dbscan_moons", x)
    dbscan_case("dbscan_moons", x, 0.15, 5, "none")
    # DBSCAN on scaled blobs in 3 dimensions.
    x, _ = make_blobs(n_samples=700, centers=4, n_features=3, cluster_std=0.8, random_state=11)
    x = write_table("dbscan_blobs", x)
    dbscan_case("dbscan_blobs", x, 0.3, 8, "standard")


if __name__ == "__main__":
    main()
