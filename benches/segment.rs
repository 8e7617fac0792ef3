//! K-Means: our fit (k-means++ seeding, Hamerly's bounds, parallel chunks) beside plain
//! Lloyd on the same seeding, and the assignment step beside a naive single-threaded loop,
//! measured in the same run; DBSCAN over the k-d tree.
//!
//! Run with `cargo bench --bench segment`. The comparison with scikit-learn (1M points) is
//! `benches/segment_sklearn.py`, which needs Python.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mergetag::segment::{Dbscan, KMeans, KMeansAlgorithm, Matrix, assign, sq_dist};

/// `n` points in 10 dimensions around 8 overlapping centres (a fixed linear congruential
/// generator: the same fixture on every machine).
fn blobs(n: usize) -> Matrix {
    let mut s: u64 = 42;
    let mut uniform = move || {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let centres: Vec<Vec<f64>> = (0..8)
        .map(|_| (0..10).map(|_| uniform() * 20.0 - 10.0).collect())
        .collect();
    let mut data = Vec::with_capacity(n * 10);
    for i in 0..n {
        let c = &centres[i % 8];
        for v in c {
            // A sum of uniforms: roughly normal, spread 4 (overlapping blobs).
            let noise: f64 = (0..4).map(|_| uniform() - 0.5).sum::<f64>() * 7.0;
            data.push(v + noise);
        }
    }
    Matrix::new(10, data).unwrap()
}

/// The baseline assignment: every point against every centre, one thread.
fn naive_assign(x: &Matrix, centres: &Matrix) -> Vec<u32> {
    x.iter_rows()
        .map(|p| {
            let mut best = (f64::INFINITY, 0u32);
            for (c, row) in centres.iter_rows().enumerate() {
                let d: f64 = p.iter().zip(row).map(|(a, b)| (a - b) * (a - b)).sum();
                if d < best.0 {
                    best = (d, c as u32);
                }
            }
            best.1
        })
        .collect()
}

fn fit(c: &mut Criterion) {
    let mut group = c.benchmark_group("mergetag_segment::KMeans::fit");
    group.sample_size(10);
    for n in [20_000usize, 200_000] {
        let x = blobs(n);
        group.throughput(Throughput::Elements(n as u64));
        for (name, algorithm) in [
            ("plain_lloyd_baseline", KMeansAlgorithm::Lloyd),
            ("hamerly", KMeansAlgorithm::Hamerly),
            ("mini_batch", KMeansAlgorithm::MiniBatch),
        ] {
            group.bench_with_input(BenchmarkId::new(name, n), &x, |b, x| {
                b.iter(|| {
                    let fit = KMeans::new(8)
                        .n_init(1)
                        .seed(3)
                        .algorithm(algorithm)
                        .fit(x)
                        .unwrap();
                    assert_eq!(fit.labels.len(), x.rows());
                    assert!(fit.inertia.is_finite());
                    black_box(fit.inertia)
                });
            });
        }
    }
    group.finish();
}

fn assignment(c: &mut Criterion) {
    let x = blobs(200_000);
    let centres = KMeans::new(8).n_init(1).fit(&x).unwrap().centroids;
    let expected = naive_assign(&x, &centres);
    let mut group = c.benchmark_group("mergetag_segment::assign");
    group.sample_size(10);
    group.throughput(Throughput::Elements(x.rows() as u64));
    group.bench_function(BenchmarkId::new("naive_baseline", x.rows()), |b| {
        b.iter(|| {
            let labels = naive_assign(&x, &centres);
            assert_eq!(labels.len(), x.rows());
            black_box(labels)
        });
    });
    group.bench_function(BenchmarkId::new("chunked_parallel", x.rows()), |b| {
        b.iter(|| {
            let (labels, _) = assign(&x, &centres);
            assert_eq!(labels, expected);
            black_box(labels)
        });
    });
    group.finish();
}

fn dbscan(c: &mut Criterion) {
    let x = blobs(50_000);
    let mut group = c.benchmark_group("mergetag_segment::Dbscan::fit");
    group.sample_size(10);
    group.throughput(Throughput::Elements(x.rows() as u64));
    group.bench_function(BenchmarkId::new("kd_tree", x.rows()), |b| {
        b.iter(|| {
            let fit = Dbscan::new(3.0, 10).fit(&x).unwrap();
            assert_eq!(fit.labels.len(), x.rows());
            black_box(fit.clusters)
        });
    });
    group.finish();
    // Keeps the distance helper in the public API exercised by the bench build.
    black_box(sq_dist(x.row(0), x.row(1)));
}

criterion_group!(benches, fit, assignment, dbscan);
criterion_main!(benches);
