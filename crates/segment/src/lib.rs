//! Customer segments found in the data: K-Means and DBSCAN over features of profiles and
//! events, with ids that stay the same across retraining and descriptions people can read.
//!
//! ```
//! use mergetag_segment::{KMeans, Matrix};
//!
//! let x = Matrix::from_rows(&[[1.0, 1.0], [1.2, 0.9], [8.0, 8.0], [8.1, 7.9]])?;
//! let fit = KMeans::new(2).seed(42).fit(&x)?;
//! assert_eq!(fit.labels[0], fit.labels[1]);
//! assert_ne!(fit.labels[0], fit.labels[3]);
//! # Ok::<(), mergetag_segment::Error>(())
//! ```

mod config;
mod dbscan;
mod error;
mod features;
mod hungarian;
mod kdtree;
mod kmeans;
mod matrix;
mod model;
mod quality;
mod rng;
mod scale;
mod table;

pub use crate::config::{Algorithm, Fitted, Mode, SegmentChange, SegmentConfig, Segmenter};
pub use crate::dbscan::{Dbscan, DbscanFit, EpsSuggestion, NOISE, suggest_eps};
pub use crate::error::{Error, Result};
pub use crate::features::{
    Column, ColumnKind, FeatureConfig, FeatureKind, FeatureTransform, Impute, Orders, ProfileInput,
};
pub use crate::kdtree::KdTree;
pub use crate::kmeans::{CHUNK, KMeans, KMeansAlgorithm, KMeansFit, assign};
pub use crate::matrix::{Matrix, sq_dist};
pub use crate::model::{
    Assignment, DensityModel, Highlight, Quality, Segment, SegmentModel, UNCLUSTERED,
    UNCLUSTERED_NAME,
};
pub use crate::quality::{
    KScore, SILHOUETTE_SAMPLE, adjusted_rand_index, choose_k, davies_bouldin, silhouette,
};
pub use crate::scale::{Scaler, Scaling};
pub use crate::table::FeatureTable;
