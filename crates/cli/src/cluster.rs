//! `mergetag cluster`: K-Means or DBSCAN over a CSV table of numeric features, so that the
//! clustering can be checked on any data (against scikit-learn, for one).
//!
//! - Input (FEATURES.csv): a header, the id column first, then numeric columns. An empty or
//!   non-numeric cell stops the command (exit 2) with its line and column.
//! - Output (LABELS.csv): `id,label`, one row per input row in input order; labels are
//!   `0..k`, and `-1` for DBSCAN noise. The file is written to a temporary file and renamed
//!   into place; `--out` may not be the input.
//! - Stdout: one JSON object, `{"algorithm", "k", "inertia", "silhouette", "iterations",
//!   "converged", "noise"}`: for DBSCAN `k` is the number of clusters, `inertia` the squared
//!   distances of the clustered points to their cluster means, and `iterations` and
//!   `converged` are null; the silhouette is computed on the scaled features (on a seeded
//!   sample of 10,000 points for larger tables, noise left out) and is null when undefined.
//!
//! ```
//! use mergetag_cli::cluster::{Algorithm, ClusterOptions, cluster_table};
//! use mergetag_segment::FeatureTable;
//!
//! let table = FeatureTable::from_reader("id,x\na,0\nb,0.1\nc,9\nd,9.2\n".as_bytes(), "f.csv")?;
//! let options = ClusterOptions { k: Some(2), ..ClusterOptions::new(Algorithm::Kmeans) };
//! let (labels, summary) = cluster_table(&table, &options)?;
//! assert_eq!(labels[0], labels[1]);
//! assert_ne!(labels[0], labels[2]);
//! assert_eq!(summary.k, 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::Write;
use std::path::Path;

use mergetag_segment::{
    Dbscan, FeatureTable, KMeans, Matrix, SILHOUETTE_SAMPLE, Scaler, Scaling, choose_k, silhouette,
    sq_dist, suggest_eps,
};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::matching::{Staged, refuse_overwrites};

/// Which clustering `mergetag cluster` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// K-Means (k-means++ seeding, Hamerly's bounds).
    Kmeans,
    /// DBSCAN over a k-d tree.
    Dbscan,
}

impl Algorithm {
    fn as_str(self) -> &'static str {
        match self {
            Algorithm::Kmeans => "kmeans",
            Algorithm::Dbscan => "dbscan",
        }
    }
}

/// The options of `mergetag cluster`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterOptions {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// K-Means: the clusters (default: chosen from 2 to 10 by the silhouette).
    pub k: Option<usize>,
    /// K-Means: seeded runs, the best kept (default 3).
    pub n_init: usize,
    /// DBSCAN: the radius (default: suggested from the k-distance curve).
    pub eps: Option<f64>,
    /// DBSCAN: the neighbourhood a core point needs, itself included (default 5).
    pub min_samples: usize,
    /// Scaling of the columns before clustering (default standard).
    pub scale: Scaling,
    /// The seed (default 0).
    pub seed: u64,
}

impl ClusterOptions {
    /// The defaults for `algorithm`.
    pub fn new(algorithm: Algorithm) -> ClusterOptions {
        ClusterOptions {
            algorithm,
            k: None,
            n_init: 3,
            eps: None,
            min_samples: 5,
            scale: Scaling::Standard,
            seed: 0,
        }
    }
}

/// The JSON object `mergetag cluster` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterSummary {
    /// `kmeans` or `dbscan`.
    pub algorithm: &'static str,
    /// The number of clusters (noise not counted).
    pub k: usize,
    /// The sum of squared distances to the cluster centres (scaled space; noise left out).
    pub inertia: f64,
    /// The mean silhouette (sampled above 10,000 points), null when undefined.
    pub silhouette: Option<f64>,
    /// K-Means iterations of the kept run (null for DBSCAN).
    pub iterations: Option<usize>,
    /// Whether K-Means converged (null for DBSCAN).
    pub converged: Option<bool>,
    /// Points in no cluster (always 0 for K-Means).
    pub noise: usize,
    /// DBSCAN: the radius used (given or suggested); absent for K-Means.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eps: Option<f64>,
}

/// Clusters `table`: each row's label (in row order, `-1` for noise) and the summary.
///
/// # Errors
///
/// [`Error::Usage`] for parameters that cannot work (`--k` above the rows, `--eps` not
/// positive, no `--eps` and too few rows to suggest one).
pub fn cluster_table(
    table: &FeatureTable,
    o: &ClusterOptions,
) -> Result<(Vec<i64>, ClusterSummary)> {
    let usage = |e: mergetag_segment::Error| Error::Usage(format!("cluster: {e}"));
    let scaler = Scaler::fit(o.scale, &table.matrix);
    let x = scaler.transform(&table.matrix);
    let n = x.rows();
    match o.algorithm {
        Algorithm::Kmeans => {
            let params = KMeans::new(o.k.unwrap_or(2)).n_init(o.n_init).seed(o.seed);
            let fit = match o.k {
                Some(_) => params.fit(&x).map_err(usage)?,
                None => {
                    let top = 10.min(n.saturating_sub(1)).max(2);
                    choose_k(&x, &params, 2..=top, SILHOUETTE_SAMPLE)
                        .map_err(usage)?
                        .0
                }
            };
            let labels: Vec<i64> = fit.labels.iter().map(|&l| i64::from(l)).collect();
            let summary = ClusterSummary {
                algorithm: o.algorithm.as_str(),
                k: fit.centroids.rows(),
                inertia: fit.inertia,
                silhouette: silhouette(&x, &labels, SILHOUETTE_SAMPLE, o.seed),
                iterations: Some(fit.iterations),
                converged: Some(fit.converged),
                noise: 0,
                eps: None,
            };
            Ok((labels, summary))
        }
        Algorithm::Dbscan => {
            let eps = match o.eps {
                Some(e) => e,
                None => {
                    suggest_eps(&x, o.min_samples, SILHOUETTE_SAMPLE, o.seed)
                        .ok_or_else(|| {
                            Error::Usage(format!(
                                "cluster: {n} rows are too few to suggest --eps for --min-samples {}; give --eps",
                                o.min_samples
                            ))
                        })?
                        .eps
                }
            };
            let fit = Dbscan::new(eps, o.min_samples).fit(&x).map_err(usage)?;
            let summary = ClusterSummary {
                algorithm: o.algorithm.as_str(),
                k: fit.clusters,
                inertia: inertia_around_means(&x, &fit.labels, fit.clusters),
                silhouette: silhouette(&x, &fit.labels, SILHOUETTE_SAMPLE, o.seed),
                iterations: None,
                converged: None,
                noise: fit.noise,
                eps: Some(eps),
            };
            Ok((fit.labels, summary))
        }
    }
}

fn inertia_around_means(x: &Matrix, labels: &[i64], k: usize) -> f64 {
    let d = x.cols();
    let mut sums = vec![0.0; k * d];
    let mut counts = vec![0usize; k];
    for (p, &l) in x.iter_rows().zip(labels) {
        if l >= 0 {
            let c = l as usize;
            counts[c] += 1;
            for (s, v) in sums[c * d..(c + 1) * d].iter_mut().zip(p) {
                *s += v;
            }
        }
    }
    for c in 0..k {
        for s in &mut sums[c * d..(c + 1) * d] {
            *s /= counts[c].max(1) as f64;
        }
    }
    x.iter_rows()
        .zip(labels)
        .filter(|(_, l)| **l >= 0)
        .map(|(p, &l)| sq_dist(p, &sums[l as usize * d..(l as usize + 1) * d]))
        .sum()
}

/// The whole command: refuses an `--out` that is the input, reads the table, clusters it,
/// writes LABELS.csv (through a temporary file) and returns the summary.
///
/// # Errors
///
/// [`Error::Usage`] for an `--out` that is the input or parameters that cannot work;
/// [`Error::Input`] for a table that cannot be read (with line and column); [`Error::Io`].
pub fn run_cluster(input: &Path, out: &Path, o: &ClusterOptions) -> Result<ClusterSummary> {
    refuse_overwrites(&[("the input", input)], &[("--out", out)])?;
    let table = FeatureTable::from_path(input).map_err(|e| match e {
        mergetag_segment::Error::Io { source, .. } => Error::io(input.display(), source),
        other => Error::Input(other.to_string()),
    })?;
    let (labels, summary) = cluster_table(&table, o)?;
    let mut staged = Staged::default();
    staged.write(out, |temp| write_labels(temp, &table.ids, &labels))?;
    staged.commit()?;
    Ok(summary)
}

fn write_labels(path: &Path, ids: &[String], labels: &[i64]) -> Result<()> {
    let io = |e: std::io::Error| Error::io(path.display(), e);
    let file = std::fs::File::create(path).map_err(io)?;
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
    let csv_err = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(e) => Error::io(path.display(), e),
        other => Error::io(path.display(), std::io::Error::other(format!("{other:?}"))),
    };
    w.write_record(["id", "label"]).map_err(csv_err)?;
    let mut buf = itoa_buf();
    for (id, l) in ids.iter().zip(labels) {
        buf.clear();
        write!(buf, "{l}").map_err(io)?;
        w.write_record([id.as_bytes(), &buf[..]]).map_err(csv_err)?;
    }
    let inner = w
        .into_inner()
        .map_err(|e| io(std::io::Error::other(e.to_string())))?;
    inner
        .into_inner()
        .map_err(|e| io(e.into_error()))?
        .sync_all()
        .map_err(io)
}

fn itoa_buf() -> Vec<u8> {
    Vec::with_capacity(24)
}

/// `mergetag segment --config pipeline.toml`: runs the pipeline up to its profile stages
/// (nothing is written but the `[clusters]` model, when `model` is set) and returns what the
/// `[clusters]` stage found.
///
/// # Errors
///
/// [`Error::Usage`] when the file has no `[clusters]` table; [`Error::Pipeline`] when the
/// pipeline cannot be loaded or run.
pub fn run_segment(path: &Path) -> Result<mergetag::pipeline::ClusterResult> {
    use mergetag::pipeline::{ClusterStage, Pipeline, PipelineConfig};
    let config = PipelineConfig::load(path).map_err(Error::Pipeline)?;
    let Some(clusters) = config.clusters_config().map_err(Error::Pipeline)? else {
        return Err(Error::Usage(format!(
            "{}: no [clusters] table; add one with at least one [[clusters.features]]",
            path.display()
        )));
    };
    let segmenter = clusters
        .build()
        .map_err(|e| Error::Usage(format!("{}: clusters: {e}", path.display())))?;
    let mut rest = config.clone();
    rest.clusters = None;
    let stage = ClusterStage::new(segmenter);
    let handle = stage.handle();
    Pipeline::builder_from_config(&rest)
        .map_err(Error::Pipeline)?
        .profile_stage(stage)
        .build()
        .map_err(Error::Pipeline)?
        .run(|_| {})
        .map_err(Error::Pipeline)?;
    handle.result().ok_or_else(|| {
        Error::Input(format!(
            "{}: the pipeline produced no profiles to find segments in",
            path.display()
        ))
    })
}

/// The text `mergetag segment` prints: the quality line, one line per segment (id, name,
/// size, share, description) and the changes from the saved model.
pub fn segment_text(r: &mergetag::pipeline::ClusterResult) -> String {
    use mergetag_segment::SegmentChange;
    let m = &r.model;
    let q = &m.quality;
    let opt = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.3}"));
    let mut out = format!(
        "{} segments of {} profiles ({}): silhouette {}, Davies-Bouldin {}, inertia {:.1}\n",
        m.segments.len(),
        m.profiles,
        m.algorithm,
        opt(q.silhouette),
        opt(q.davies_bouldin),
        q.inertia
    );
    for s in &q.k_scores {
        out.push_str(&format!(
            "  k = {:>2}: silhouette {}, Davies-Bouldin {}, inertia {:.1}\n",
            s.k,
            opt(s.silhouette),
            opt(s.davies_bouldin),
            s.inertia
        ));
    }
    out.push_str(&m.summary());
    for c in &r.changes {
        out.push_str(&match c {
            SegmentChange::Kept { id, distance } => {
                format!("kept {id} (centre moved {distance:.3})\n")
            }
            SegmentChange::Moved { id, distance } => {
                format!("moved {id} (centre moved {distance:.3})\n")
            }
            SegmentChange::Appeared { id } => format!("appeared {id}\n"),
            SegmentChange::Vanished { id, name } => format!("vanished {id} ({name})\n"),
        });
    }
    out
}
