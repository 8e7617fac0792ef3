//! [`SegmentModel`]: what a segmentation learnt (the feature transform, each segment's
//! centre, size, name and description, the quality scores), serialized as JSON, reloaded to
//! assign new profiles and to keep segment ids across retraining.

use std::path::Path;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::{ColumnKind, FeatureKind, FeatureTransform, ProfileInput};
use crate::kdtree::KdTree;
use crate::matrix::{Matrix, sq_dist};
use crate::quality::KScore;

/// The id of the segment of profiles no cluster holds (DBSCAN noise).
pub const UNCLUSTERED: u32 = 0;

/// The name of the [`UNCLUSTERED`] segment.
pub const UNCLUSTERED_NAME: &str = "unclustered";

/// One way a segment differs from everyone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Highlight {
    /// The feature column (`recency`, `purchase_categories=Footwear`).
    pub column: String,
    /// The segment's mean (raw units; a share from 0 to 1 for categories).
    pub segment: f64,
    /// Everyone's mean.
    pub overall: f64,
    /// How far apart, in everyone's standard deviations.
    pub z: f64,
}

/// A segment found in the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// The stable id (1 and up; kept across retraining when the centre is found again).
    pub id: u32,
    /// The name: from the configuration's `names`, else kept from the previous model, else
    /// `segment <id>`.
    pub name: String,
    /// The training profiles in it.
    pub size: usize,
    /// The centre in the scaled feature space (what distances are measured to).
    pub centroid: Vec<f64>,
    /// The members' mean of every column, in raw units.
    pub mean: Vec<f64>,
    /// What distinguishes it, strongest first.
    pub highlights: Vec<Highlight>,
    /// The highlights in words: `recency 12 days vs 90 overall; 64% Footwear vs 20% overall`.
    pub description: String,
}

/// The quality of the partition learnt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    /// The sum of squared distances of the clustered profiles to their centres.
    pub inertia: f64,
    /// The mean silhouette (sampled above 10,000 profiles), when defined.
    pub silhouette: Option<f64>,
    /// The Davies-Bouldin index, when defined.
    pub davies_bouldin: Option<f64>,
    /// K-Means iterations of the kept run (0 for DBSCAN).
    pub iterations: usize,
    /// Whether K-Means converged (true for DBSCAN).
    pub converged: bool,
    /// When k was chosen: every candidate's scores.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub k_scores: Vec<KScore>,
}

/// What DBSCAN keeps to assign new profiles: its core points and their segments.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DensityModel {
    /// The radius.
    pub eps: f64,
    /// The neighbourhood a core point needs.
    pub min_samples: usize,
    /// The core points (scaled).
    pub core: Matrix,
    /// Each core point's segment id.
    pub core_segment: Vec<u32>,
    #[serde(skip)]
    tree: OnceLock<KdTree>,
}

impl DensityModel {
    pub(crate) fn new(
        eps: f64,
        min_samples: usize,
        core: Matrix,
        core_segment: Vec<u32>,
    ) -> DensityModel {
        DensityModel {
            eps,
            min_samples,
            core,
            core_segment,
            tree: OnceLock::new(),
        }
    }
}

/// Where one profile goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    /// The segment id ([`UNCLUSTERED`] for none).
    pub segment: u32,
    /// The segment's name.
    pub name: String,
    /// The distance to the segment's centre in the scaled feature space (`None` when
    /// unclustered).
    pub distance: Option<f64>,
}

/// A fitted segmentation, serialized as JSON with everything needed to assign new profiles.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SegmentModel {
    /// The format version of this document (1).
    pub format: u32,
    /// "Now" when it was trained: the end of its training window.
    pub trained_at: DateTime<Utc>,
    /// The profiles it was trained on.
    pub profiles: usize,
    /// `kmeans` or `dbscan`.
    pub algorithm: String,
    /// The feature transform.
    pub transform: FeatureTransform,
    /// The segments, by id.
    pub segments: Vec<Segment>,
    /// Training profiles in no segment (DBSCAN noise).
    pub unclustered: usize,
    /// Every training profile's mean of every column (raw units), for descriptions.
    pub overall_mean: Vec<f64>,
    /// Every column's standard deviation over the training profiles.
    pub overall_sd: Vec<f64>,
    /// The quality scores.
    pub quality: Quality,
    /// DBSCAN's core points, to assign new profiles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub density: Option<DensityModel>,
    /// The next fresh segment id.
    pub next_id: u32,
}

impl SegmentModel {
    /// Reads a model from JSON text; `origin` names it in errors.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`] with line and column; [`Error::Invalid`] for a model whose parts
    /// disagree (centroid lengths, format).
    pub fn from_json_str(text: &str, origin: &str) -> Result<SegmentModel> {
        let m: SegmentModel =
            mergetag_model::config::load(text, origin, mergetag_model::config::Format::Json)?;
        m.check()?;
        Ok(m)
    }

    /// Reads a model file.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when it cannot be read; [`SegmentModel::from_json_str`]'s errors.
    pub fn from_path(path: impl AsRef<Path>) -> Result<SegmentModel> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            origin: origin.clone(),
            source,
        })?;
        SegmentModel::from_json_str(&text, &origin)
    }

    /// The model as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Writes the model to `path` (through a temporary file renamed into place).
    ///
    /// # Errors
    ///
    /// [`Error::Io`].
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let io = |source| Error::Io {
            origin: path.display().to_string(),
            source,
        };
        let name = path
            .file_name()
            .map_or_else(|| "model".into(), |n| n.to_string_lossy().into_owned());
        let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        std::fs::write(&temp, self.to_json()).map_err(io)?;
        std::fs::rename(&temp, path).map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            io(e)
        })
    }

    fn check(&self) -> Result<()> {
        if self.format != 1 {
            return Err(Error::invalid(
                "format",
                "this version reads segment models of format 1",
            ));
        }
        let d = self.transform.columns.len();
        if self.transform.scaler.center.len() != d || self.transform.scaler.scale.len() != d {
            return Err(Error::invalid(
                "transform.scaler",
                "one value per column is needed",
            ));
        }
        if self
            .transform
            .scaler
            .scale
            .iter()
            .any(|s| !s.is_finite() || *s == 0.0)
            || self.transform.scaler.center.iter().any(|c| !c.is_finite())
        {
            return Err(Error::invalid(
                "transform.scaler",
                "scales must be finite and non-zero",
            ));
        }
        for (i, s) in self.segments.iter().enumerate() {
            if s.centroid.len() != d
                || s.mean.len() != d
                || s.centroid.iter().any(|v| !v.is_finite())
            {
                return Err(Error::invalid(
                    format!("segments[{i}].centroid"),
                    format!("a centre needs {d} finite values, one per column"),
                ));
            }
            if s.id == UNCLUSTERED {
                return Err(Error::invalid(
                    format!("segments[{i}].id"),
                    "0 is the unclustered segment's",
                ));
            }
        }
        if let Some(dm) = &self.density {
            if dm.core.cols() != d && !dm.core.is_empty() || dm.core.rows() != dm.core_segment.len()
            {
                return Err(Error::invalid(
                    "density.core",
                    "one segment per core point, of every column",
                ));
            }
            if dm
                .core_segment
                .iter()
                .any(|id| !self.segments.iter().any(|s| s.id == *id))
            {
                return Err(Error::invalid(
                    "density.core_segment",
                    "names a segment the model has not",
                ));
            }
        }
        Ok(())
    }

    /// The segment with id `id`.
    pub fn segment(&self, id: u32) -> Option<&Segment> {
        self.segments.iter().find(|s| s.id == id)
    }

    /// Assigns a scaled feature row: K-Means to the nearest centre; DBSCAN to the segment of
    /// the nearest core point within `eps`, else [`UNCLUSTERED`].
    pub fn assign_row(&self, row: &[f64]) -> Assignment {
        let unclustered = || Assignment {
            segment: UNCLUSTERED,
            name: UNCLUSTERED_NAME.to_owned(),
            distance: None,
        };
        let id = match &self.density {
            Some(dm) => {
                let tree = dm.tree.get_or_init(|| KdTree::new(&dm.core));
                match tree.nearest(row, 1).first() {
                    Some(&(dist, i)) if dist <= dm.eps => dm.core_segment.get(i).copied(),
                    _ => None,
                }
            }
            None => self
                .segments
                .iter()
                .map(|s| (sq_dist(row, &s.centroid), s.id))
                .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
                .map(|p| p.1),
        };
        match id.and_then(|id| self.segment(id)) {
            Some(s) => Assignment {
                segment: s.id,
                name: s.name.clone(),
                distance: Some(sq_dist(row, &s.centroid).sqrt()),
            },
            None => unclustered(),
        }
    }

    /// Assigns one profile (the incremental path: a new or changed profile scored against the
    /// model without retraining), with the same transform as the training profiles.
    pub fn assign(&self, input: &ProfileInput<'_>, now: DateTime<Utc>) -> Assignment {
        self.assign_row(&self.transform.transform(input, now))
    }

    /// One line per segment: id, name, size and description, then the unclustered profiles.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let total = self.profiles.max(1) as f64;
        for s in &self.segments {
            out.push_str(&format!(
                "{:>3}  {}  {} profiles ({:.0}%): {}\n",
                s.id,
                s.name,
                s.size,
                100.0 * s.size as f64 / total,
                s.description
            ));
        }
        if self.unclustered > 0 || self.density.is_some() {
            out.push_str(&format!(
                "{:>3}  {UNCLUSTERED_NAME}  {} profiles ({:.0}%): in no dense region\n",
                UNCLUSTERED,
                self.unclustered,
                100.0 * self.unclustered as f64 / total
            ));
        }
        out
    }
}

/// Means and standard deviations of the columns of `raw` over the rows `members` (all when
/// `None`).
pub(crate) fn column_stats(raw: &Matrix, members: Option<&[usize]>) -> (Vec<f64>, Vec<f64>) {
    let d = raw.cols();
    let rows: Vec<&[f64]> = match members {
        Some(m) => m.iter().map(|&i| raw.row(i)).collect(),
        None => raw.iter_rows().collect(),
    };
    let n = rows.len().max(1) as f64;
    let mut mean = vec![0.0; d];
    for r in &rows {
        for (m, v) in mean.iter_mut().zip(*r) {
            *m += v;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut sd = vec![0.0; d];
    for r in &rows {
        for j in 0..d {
            sd[j] += (r[j] - mean[j]).powi(2);
        }
    }
    sd.iter_mut().for_each(|s| *s = (*s / n).sqrt());
    (mean, sd)
}

/// A number for people: whole above 10, one decimal above 1, two below.
fn readable(v: f64) -> String {
    let s = if v.abs() >= 10.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    if s == "-0" { "0".to_owned() } else { s }
}

/// The `top` columns on which a segment's mean differs most from everyone's (in everyone's
/// standard deviations; ties by column order), and those differences in words.
pub(crate) fn describe(
    t: &FeatureTransform,
    mean: &[f64],
    overall: &[f64],
    sd: &[f64],
    top: usize,
) -> (Vec<Highlight>, String) {
    let mut ranked: Vec<(usize, f64)> = (0..mean.len())
        .map(|j| {
            let spread = if sd[j] > 1e-12 { sd[j] } else { 1.0 };
            (j, (mean[j] - overall[j]) / spread)
        })
        .filter(|(_, z)| z.abs() >= 0.1)
        .collect();
    ranked.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
    ranked.truncate(top);
    let mut highlights = Vec::new();
    let mut words = Vec::new();
    for (j, z) in ranked {
        let col = &t.columns[j];
        let feature = t.features.get(col.feature);
        let phrase = match &col.kind {
            ColumnKind::Number { .. } => format!(
                "{} {}{} vs {} overall",
                col.name,
                readable(mean[j]),
                t.unit(j),
                readable(overall[j])
            ),
            ColumnKind::OneHot { value } | ColumnKind::Share { value } => {
                let what = match feature.map(|f| f.kind) {
                    Some(FeatureKind::PurchaseCategories) => format!("{value} purchases"),
                    Some(FeatureKind::BrowsingCategories) => format!("{value} views"),
                    _ => format!(
                        "{} {value}",
                        feature.map_or_else(String::new, |f| f.display_name())
                    ),
                };
                format!(
                    "{:.0}% {what} vs {:.0}% overall",
                    100.0 * mean[j],
                    100.0 * overall[j]
                )
            }
            ColumnKind::Other | ColumnKind::OtherShare => format!(
                "{:.0}% {} vs {:.0}% overall",
                100.0 * mean[j],
                col.name,
                100.0 * overall[j]
            ),
        };
        words.push(phrase);
        highlights.push(Highlight {
            column: col.name.clone(),
            segment: mean[j],
            overall: overall[j],
            z,
        });
    }
    let description = if words.is_empty() {
        "like everyone".to_owned()
    } else {
        words.join("; ")
    };
    (highlights, description)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_numbers() {
        assert_eq!(readable(12.4), "12");
        assert_eq!(readable(3.26), "3.3");
        assert_eq!(readable(0.256), "0.26");
        assert_eq!(readable(-0.001), "-0.00");
    }

    #[test]
    fn bad_models_are_errors() {
        assert!(SegmentModel::from_json_str("{", "m.json").is_err());
        assert!(SegmentModel::from_json_str("{}", "m.json").is_err());
    }
}
