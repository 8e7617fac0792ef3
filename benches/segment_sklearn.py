#!/usr/bin/env python3
"""K-Means speed against scikit-learn, both measured in the same run.

1M points x 10 features, 8 overlapping blobs (make_blobs, cluster_std 4.0 in the default
box), one k-means++ initialisation each: scikit-learn's KMeans(algorithm="lloyd",
n_init=1) against mergetag-segment's Hamerly (the default), plain Lloyd and mini-batch,
through crates/segment/examples/kmeans_speed.rs on the same numbers (a raw f64 file).

    pip install scikit-learn numpy
    python3 benches/segment_sklearn.py [N]

Prints each side's seconds and inertia, and the ratios.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    x, _ = make_blobs(n_samples=n, centers=8, n_features=10, cluster_std=4.0, random_state=0)
    x = np.ascontiguousarray(x, dtype=np.float64)
    path = os.path.join(tempfile.gettempdir(), f"segment_speed_{n}.f64")
    x.astype("<f8").tofile(path)
    env = dict(os.environ)
    subprocess.run(
        ["cargo", "build", "--release", "-q", "-p", "mergetag-segment", "--example", "kmeans_speed"],
        cwd=ROOT, check=True, env=env)
    target = env.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    exe = os.path.join(target, "release", "examples", "kmeans_speed")

    results = {}
    for rep in range(2):
        t = time.perf_counter()
        m = KMeans(n_clusters=8, n_init=1, random_state=rep, algorithm="lloyd").fit(x)
        results.setdefault("sklearn_lloyd", []).append(
            {"seconds": time.perf_counter() - t, "inertia": m.inertia_, "iterations": int(m.n_iter_)})
        for algo in ["hamerly", "lloyd", "mini_batch"]:
            out = subprocess.run([exe, path, "10", "8", algo], check=True, capture_output=True, text=True)
            results.setdefault(algo, []).append(json.loads(out.stdout))
    os.remove(path)
    sk = min(r["seconds"] for r in results["sklearn_lloyd"])
    for name, runs in results.items():
        best = min(runs, key=lambda r: r["seconds"])
        print(f"{name:14} {best['seconds']:8.3f} s  inertia {best['inertia']:.6e}  "
              f"iterations {best['iterations']}  sklearn/ours {sk / best['seconds']:.2f}x")


if __name__ == "__main__":
    main()
