//! [`SegmentConfig`] (serde; `[clusters]` in a pipeline file) builds the [`Segmenter`] that
//! fits a [`SegmentModel`] on profiles.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use mergetag_model::config::{self as loader, Format};
use serde::{Deserialize, Serialize};

use crate::dbscan::{Dbscan, NOISE, suggest_eps};
use crate::error::{Error, Result};
use crate::features::{FeatureConfig, FeatureTransform, Orders, ProfileInput};
use crate::hungarian;
use crate::kmeans::{KMeans, KMeansAlgorithm};
use crate::matrix::sq_dist;
use crate::model::{
    Assignment, DensityModel, Quality, Segment, SegmentModel, UNCLUSTERED, column_stats, describe,
};
use crate::quality::{choose_k, davies_bouldin, silhouette};
use crate::scale::Scaling;

/// Which clustering finds the segments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// K-Means (the default): every profile in the segment of its nearest centre.
    #[default]
    Kmeans,
    /// Mini-batch K-Means, for millions of profiles.
    MiniBatchKmeans,
    /// DBSCAN: segments are dense regions; profiles in none are `unclustered`.
    Dbscan,
}

/// Whether a pipeline run retrains the model or only assigns profiles with it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Fit on this run's profiles, matching ids to the saved model's (the default).
    #[default]
    Retrain,
    /// Assign with the saved model, unchanged (it must exist).
    Assign,
}

/// The segmentation, as configured (`[clusters]` in a pipeline file; every key but
/// `features` optional):
///
/// ```toml
/// algorithm = "kmeans"        # kmeans (default), mini_batch_kmeans or dbscan
/// k = 4                       # K-Means clusters; absent: chosen from k_min..=k_max by silhouette
/// k_min = 2                   # (default 2)
/// k_max = 8                   # (default 8)
/// n_init = 3                  # seeded k-means++ runs, best kept (default 3)
/// seed = 0                    # (default 0)
/// eps = 0.5                   # DBSCAN radius; absent: suggested from the k-distance curve
/// min_samples = 5             # DBSCAN (default 5)
/// scale = "standard"          # none, standard (default) or robust; numeric columns only
/// order_event = "Order Completed"  # the track event of an order (default)
/// amount = "total"            # its amount property (default)
/// describe = 3                # highlights per description (default 3)
/// match_distance = 0.5        # a centre that moved further than this share of the distance
///                             # to the nearest other old centre is new (default 0.5)
/// model = "segments.json"     # where the model is kept (optional; relative to the file)
/// mode = "retrain"            # retrain (default) or assign (with the saved model)
/// [names]                     # names by segment id (optional)
/// 1 = "Loyal runners"
/// [[features]]
/// kind = "recency"
/// ```
///
/// ```
/// use mergetag_segment::SegmentConfig;
///
/// let config = SegmentConfig::from_toml_str(r#"
///     k = 3
///     [[features]]
///     kind = "recency"
///     [[features]]
///     kind = "monetary_total"
/// "#)?;
/// let segmenter = config.build()?;
/// # let _ = segmenter;
/// # Ok::<(), mergetag_segment::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentConfig {
    /// The clustering.
    #[serde(default)]
    pub algorithm: Algorithm,
    /// K-Means clusters (absent: chosen by silhouette).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<usize>,
    /// The smallest k tried when choosing.
    #[serde(default = "default_k_min")]
    pub k_min: usize,
    /// The largest k tried when choosing.
    #[serde(default = "default_k_max")]
    pub k_max: usize,
    /// Seeded k-means++ runs.
    #[serde(default = "default_n_init")]
    pub n_init: usize,
    /// The seed.
    #[serde(default)]
    pub seed: u64,
    /// DBSCAN radius (absent: suggested).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eps: Option<f64>,
    /// DBSCAN neighbourhood.
    #[serde(default = "default_min_samples")]
    pub min_samples: usize,
    /// Scaling of numeric columns.
    #[serde(default)]
    pub scale: Scaling,
    /// The track event of an order.
    #[serde(default = "default_order_event")]
    pub order_event: String,
    /// The amount property of an order.
    #[serde(default = "default_amount")]
    pub amount: String,
    /// Highlights per description.
    #[serde(default = "default_describe")]
    pub describe: usize,
    /// The largest centre movement that keeps a segment's id, as a share of the distance from
    /// the old centre to the nearest other old centre (scale-free: a centre found again is
    /// nearer its old place than halfway to a neighbour's at the default 0.5).
    #[serde(default = "default_match_distance")]
    pub match_distance: f64,
    /// Where the model is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<PathBuf>,
    /// Retrain or assign.
    #[serde(default)]
    pub mode: Mode,
    /// Names by segment id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub names: BTreeMap<String, String>,
    /// The features.
    #[serde(default)]
    pub features: Vec<FeatureConfig>,
}

fn default_k_min() -> usize {
    2
}
fn default_k_max() -> usize {
    8
}
fn default_n_init() -> usize {
    3
}
fn default_min_samples() -> usize {
    5
}
fn default_order_event() -> String {
    Orders::default().event
}
fn default_amount() -> String {
    Orders::default().amount
}
fn default_describe() -> usize {
    3
}
fn default_match_distance() -> f64 {
    0.5
}

impl Default for SegmentConfig {
    fn default() -> SegmentConfig {
        SegmentConfig {
            algorithm: Algorithm::default(),
            k: None,
            k_min: default_k_min(),
            k_max: default_k_max(),
            n_init: default_n_init(),
            seed: 0,
            eps: None,
            min_samples: default_min_samples(),
            scale: Scaling::default(),
            order_event: default_order_event(),
            amount: default_amount(),
            describe: default_describe(),
            match_distance: default_match_distance(),
            model: None,
            mode: Mode::default(),
            names: BTreeMap::new(),
            features: Vec::new(),
        }
    }
}

impl SegmentConfig {
    /// Parses and checks a TOML document.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with line and column; [`SegmentConfig::validate`]'s errors.
    pub fn from_toml_str(text: &str) -> Result<SegmentConfig> {
        let c: SegmentConfig = loader::load(text, Format::Toml.text_origin(), Format::Toml)?;
        c.validate()?;
        Ok(c)
    }

    /// Parses and checks a JSON document.
    ///
    /// # Errors
    ///
    /// As [`SegmentConfig::from_toml_str`].
    pub fn from_json_str(text: &str) -> Result<SegmentConfig> {
        let c: SegmentConfig = loader::load(text, Format::Json.text_origin(), Format::Json)?;
        c.validate()?;
        Ok(c)
    }

    /// Reads a `.toml` or `.json` file; a relative `model` path is resolved against the
    /// file's directory.
    ///
    /// # Errors
    ///
    /// [`Error::Load`] or [`Error::Parse`] naming the file; [`SegmentConfig::validate`]'s
    /// errors.
    pub fn from_path(path: impl AsRef<Path>) -> Result<SegmentConfig> {
        let path = path.as_ref();
        let mut c: SegmentConfig = loader::from_path(path)?;
        c.validate()?;
        if let (Some(m), Some(dir)) = (&c.model, path.parent())
            && m.is_relative()
        {
            c.model = Some(dir.join(m));
        }
        Ok(c)
    }

    /// Checks everything that can be checked without data.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the key and how to fix it.
    pub fn validate(&self) -> Result<()> {
        if self.k == Some(0) {
            return Err(Error::invalid("k", "must be at least 1"));
        }
        if self.k_min < 2 || self.k_max < self.k_min {
            return Err(Error::invalid(
                "k_min",
                "k is chosen from k_min to k_max: k_min must be at least 2 and at most k_max",
            ));
        }
        if self.k_max > 100 {
            return Err(Error::invalid(
                "k_max",
                "at most 100; set `k` for more segments",
            ));
        }
        if self.n_init == 0 || self.n_init > 1000 {
            return Err(Error::invalid("n_init", "must be from 1 to 1000"));
        }
        if let Some(e) = self.eps
            && !(e.is_finite() && e > 0.0)
        {
            return Err(Error::invalid("eps", "must be a finite number above 0"));
        }
        if self.min_samples == 0 {
            return Err(Error::invalid("min_samples", "must be at least 1"));
        }
        if !(self.match_distance.is_finite() && self.match_distance >= 0.0) {
            return Err(Error::invalid(
                "match_distance",
                "must be a finite number, 0 or more",
            ));
        }
        if self.describe > 20 {
            return Err(Error::invalid("describe", "at most 20 highlights"));
        }
        if self.features.is_empty() {
            return Err(Error::invalid(
                "features",
                "declare at least one feature, e.g. [[features]] kind = \"recency\"",
            ));
        }
        for (i, f) in self.features.iter().enumerate() {
            f.validate(&format!("features[{i}]"))?;
        }
        for (key, name) in &self.names {
            match key.parse::<u32>() {
                Ok(id) if id != UNCLUSTERED => {}
                _ => {
                    return Err(Error::invalid(
                        format!("names.{key}"),
                        "names are keyed by segment id, a whole number from 1",
                    ));
                }
            }
            if name.trim().is_empty() {
                return Err(Error::invalid(
                    format!("names.{key}"),
                    "a name cannot be empty",
                ));
            }
        }
        if self.mode == Mode::Assign && self.model.is_none() {
            return Err(Error::invalid(
                "mode",
                "mode = \"assign\" needs `model`, the saved model to assign with",
            ));
        }
        Ok(())
    }

    /// Checks the configuration and gives the [`Segmenter`].
    ///
    /// # Errors
    ///
    /// [`SegmentConfig::validate`]'s errors.
    pub fn build(&self) -> Result<Segmenter> {
        self.validate()?;
        Ok(Segmenter {
            config: self.clone(),
        })
    }
}

/// How the segments changed from the previous model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum SegmentChange {
    /// Found again; its centre moved by `distance` (scaled units).
    Kept {
        /// The id.
        id: u32,
        /// How far the centre moved.
        distance: f64,
    },
    /// Found again, but its centre moved by more than a fifth of the largest distance that
    /// keeps an id.
    Moved {
        /// The id.
        id: u32,
        /// How far the centre moved.
        distance: f64,
    },
    /// New this time.
    Appeared {
        /// The new id.
        id: u32,
    },
    /// Not found this time.
    Vanished {
        /// The old id.
        id: u32,
        /// Its name.
        name: String,
    },
}

/// A fit: the model, each profile's assignment (in input order) and the changes from the
/// previous model (empty without one).
#[derive(Debug, Clone)]
pub struct Fitted {
    /// The model.
    pub model: SegmentModel,
    /// Each profile's segment.
    pub assignments: Vec<Assignment>,
    /// What changed from the previous model.
    pub changes: Vec<SegmentChange>,
}

/// Fits segmentations as configured.
#[derive(Debug, Clone)]
pub struct Segmenter {
    config: SegmentConfig,
}

impl Segmenter {
    /// The configuration.
    pub fn config(&self) -> &SegmentConfig {
        &self.config
    }

    /// Fits the segments of `inputs` at `now`; with `previous`, segment ids (and names) carry
    /// over to the clusters whose centres are found again (Hungarian matching of centres).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] when there are too few profiles for `k`, or no eps can be
    /// suggested.
    pub fn fit(
        &self,
        inputs: &[ProfileInput<'_>],
        now: DateTime<Utc>,
        previous: Option<&SegmentModel>,
    ) -> Result<Fitted> {
        let c = &self.config;
        let orders = Orders {
            event: c.order_event.clone(),
            amount: c.amount.clone(),
        };
        let (transform, raw) = FeatureTransform::fit(&c.features, &orders, c.scale, inputs, now)?;
        let x = transform.scaler.transform(&raw);
        let n = x.rows();
        if n == 0 {
            return Err(Error::invalid(
                "profiles",
                "no profiles to find segments in",
            ));
        }
        // Cluster numbers (noise -1), the number of clusters, quality.
        let (labels, clusters, mut quality, density) = match c.algorithm {
            Algorithm::Kmeans | Algorithm::MiniBatchKmeans => {
                let params = KMeans {
                    k: c.k.unwrap_or(c.k_min),
                    n_init: c.n_init,
                    seed: c.seed,
                    algorithm: if c.algorithm == Algorithm::MiniBatchKmeans {
                        KMeansAlgorithm::MiniBatch
                    } else {
                        KMeansAlgorithm::Hamerly
                    },
                    ..KMeans::default()
                };
                let (fit, k_scores) = match c.k {
                    Some(k) if k > n => {
                        return Err(Error::invalid(
                            "k",
                            format!("{k} segments need at least {k} profiles; there are {n}"),
                        ));
                    }
                    Some(_) => (params.fit(&x)?, Vec::new()),
                    None => {
                        let top = c.k_max.min(n.saturating_sub(1));
                        if top < c.k_min {
                            return Err(Error::invalid(
                                "k_min",
                                format!("choosing k from {} needs more than {n} profiles", c.k_min),
                            ));
                        }
                        choose_k(&x, &params, c.k_min..=top, crate::SILHOUETTE_SAMPLE)?
                    }
                };
                let labels: Vec<i64> = fit.labels.iter().map(|&l| i64::from(l)).collect();
                let q = Quality {
                    inertia: fit.inertia,
                    silhouette: None,
                    davies_bouldin: None,
                    iterations: fit.iterations,
                    converged: fit.converged,
                    k_scores,
                };
                (labels, fit.centroids.rows(), q, None)
            }
            Algorithm::Dbscan => {
                let eps = match c.eps {
                    Some(e) => e,
                    None => suggest_eps(&x, c.min_samples, crate::SILHOUETTE_SAMPLE, c.seed)
                        .map(|s| s.eps)
                        .filter(|e| *e > 0.0)
                        .ok_or_else(|| {
                            Error::invalid(
                                "eps",
                                format!("{n} profiles are too few to suggest eps; set `eps`"),
                            )
                        })?,
                };
                let fit = Dbscan::new(eps, c.min_samples).fit(&x)?;
                let q = Quality {
                    inertia: 0.0,
                    silhouette: None,
                    davies_bouldin: None,
                    iterations: 0,
                    converged: true,
                    k_scores: Vec::new(),
                };
                let core = fit.core.clone();
                (fit.labels, fit.clusters, q, Some((eps, core)))
            }
        };
        quality.silhouette = silhouette(&x, &labels, crate::SILHOUETTE_SAMPLE, c.seed);
        quality.davies_bouldin = davies_bouldin(&x, &labels);
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); clusters];
        for (i, &l) in labels.iter().enumerate() {
            if l >= 0 {
                members[l as usize].push(i);
            }
        }
        let (overall_mean, overall_sd) = column_stats(&raw, None);
        let centroids: Vec<Vec<f64>> = members
            .iter()
            .map(|m| column_stats(&x, Some(m)).0)
            .collect();
        if c.algorithm != Algorithm::Dbscan {
            quality.inertia = labels
                .iter()
                .enumerate()
                .map(|(i, &l)| sq_dist(x.row(i), &centroids[l as usize]))
                .sum();
        } else {
            quality.inertia = labels
                .iter()
                .enumerate()
                .filter(|(_, l)| **l >= 0)
                .map(|(i, &l)| sq_dist(x.row(i), &centroids[l as usize]))
                .sum();
        }
        // Ids: matched to the previous model's segments, else fresh, largest first.
        let mut order: Vec<usize> = (0..clusters).collect();
        order.sort_by(|&a, &b| {
            members[b]
                .len()
                .cmp(&members[a].len())
                .then_with(|| lexicographic(&centroids[a], &centroids[b]))
        });
        let mut ids = vec![0u32; clusters];
        let mut changes = Vec::new();
        let mut next_id = previous.map_or(1, |p| p.next_id.max(1));
        let mut names: BTreeMap<u32, String> = BTreeMap::new();
        if let Some(prev) = previous {
            let old: Vec<Vec<f64>> = prev
                .segments
                .iter()
                .map(|s| centre_in(&transform, prev, &s.mean))
                .collect();
            let mut cost = Vec::with_capacity(old.len() * clusters);
            for o in &old {
                for cen in &centroids {
                    cost.push(sq_dist(o, cen).sqrt());
                }
            }
            let matched = hungarian::assign(&cost, old.len(), clusters);
            for (oi, m) in matched.iter().enumerate() {
                let s = &prev.segments[oi];
                // The distance to the nearest other old centre: how far counts as "moved".
                let separation = (0..old.len())
                    .filter(|&o| o != oi)
                    .map(|o| sq_dist(&old[oi], &old[o]).sqrt())
                    .fold(f64::INFINITY, f64::min);
                let limit = c.match_distance * separation;
                match m {
                    Some(j) if cost[oi * clusters + j] <= limit => {
                        let distance = cost[oi * clusters + j];
                        ids[*j] = s.id;
                        names.insert(s.id, s.name.clone());
                        changes.push(if distance > limit / 5.0 {
                            SegmentChange::Moved { id: s.id, distance }
                        } else {
                            SegmentChange::Kept { id: s.id, distance }
                        });
                    }
                    _ => changes.push(SegmentChange::Vanished {
                        id: s.id,
                        name: s.name.clone(),
                    }),
                }
            }
        }
        for &j in &order {
            if ids[j] == 0 {
                ids[j] = next_id;
                next_id += 1;
                if previous.is_some() {
                    changes.push(SegmentChange::Appeared { id: ids[j] });
                }
            }
        }
        let mut segments: Vec<Segment> = (0..clusters)
            .map(|j| {
                let (mean, _) = column_stats(&raw, Some(&members[j]));
                let (highlights, description) =
                    describe(&transform, &mean, &overall_mean, &overall_sd, c.describe);
                let id = ids[j];
                let name = c
                    .names
                    .get(&id.to_string())
                    .cloned()
                    .or_else(|| names.get(&id).cloned())
                    .unwrap_or_else(|| format!("segment {id}"));
                Segment {
                    id,
                    name,
                    size: members[j].len(),
                    centroid: centroids[j].clone(),
                    mean,
                    highlights,
                    description,
                }
            })
            .collect();
        let density = density.map(|(eps, core)| {
            let idx: Vec<usize> = (0..n).filter(|&i| core[i] && labels[i] >= 0).collect();
            let seg: Vec<u32> = idx.iter().map(|&i| ids[labels[i] as usize]).collect();
            DensityModel::new(eps, c.min_samples, x.select(&idx), seg)
        });
        changes.sort_by_key(|ch| match ch {
            SegmentChange::Kept { id, .. }
            | SegmentChange::Moved { id, .. }
            | SegmentChange::Appeared { id }
            | SegmentChange::Vanished { id, .. } => *id,
        });
        let unclustered = labels.iter().filter(|&&l| l == NOISE).count();
        let mut model = SegmentModel {
            format: 1,
            trained_at: now,
            profiles: n,
            algorithm: match c.algorithm {
                Algorithm::Dbscan => "dbscan",
                _ => "kmeans",
            }
            .to_owned(),
            transform,
            segments: Vec::new(),
            unclustered,
            overall_mean,
            overall_sd,
            quality,
            density,
            next_id,
        };
        let assignments: Vec<Assignment> = labels
            .iter()
            .enumerate()
            .map(|(i, &l)| {
                if l < 0 {
                    return Assignment {
                        segment: UNCLUSTERED,
                        name: crate::model::UNCLUSTERED_NAME.to_owned(),
                        distance: None,
                    };
                }
                let s = &segments[l as usize];
                Assignment {
                    segment: s.id,
                    name: s.name.clone(),
                    distance: Some(sq_dist(x.row(i), &s.centroid).sqrt()),
                }
            })
            .collect();
        segments.sort_by_key(|s| s.id);
        model.segments = segments;
        Ok(Fitted {
            model,
            assignments,
            changes,
        })
    }
}

fn lexicographic(a: &[f64], b: &[f64]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = x.total_cmp(y);
        if o.is_ne() {
            return o;
        }
    }
    std::cmp::Ordering::Equal
}

/// A previous segment's raw mean, in the new transform's scaled space: columns matched by
/// name; a column the previous model had not is taken at the new overall centre (0 scaled).
fn centre_in(t: &FeatureTransform, prev: &SegmentModel, mean: &[f64]) -> Vec<f64> {
    let mut row: Vec<f64> = t
        .columns
        .iter()
        .enumerate()
        .map(|(j, col)| {
            prev.transform
                .columns
                .iter()
                .position(|p| p.name == col.name)
                .and_then(|p| mean.get(p).copied())
                .unwrap_or(t.scaler.center[j])
        })
        .collect();
    t.scaler.transform_row(&mut row);
    row
}
