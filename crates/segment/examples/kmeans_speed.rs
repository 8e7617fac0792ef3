//! Times K-Means on a raw table of little-endian `f64` (rows after rows), for the speed
//! comparison with scikit-learn in `benches/segment_sklearn.py`:
//!
//! ```text
//! cargo run --release -p mergetag-segment --example kmeans_speed -- POINTS.f64 COLS K [ALGORITHM]
//! ```
//!
//! Prints one JSON object: the algorithm, seconds, inertia, iterations. With `dbscan EPS
//! MIN_SAMPLES` instead of the algorithm, times DBSCAN (the clusters and noise printed).

// An example talks to the person running it; the print lints are for libraries.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use mergetag_segment::{KMeans, KMeansAlgorithm, Matrix};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        return Err("usage: kmeans_speed POINTS.f64 COLS K [hamerly|lloyd|mini_batch]".into());
    }
    let bytes = std::fs::read(&args[1])?;
    let cols: usize = args[2].parse()?;
    let k: usize = args[3].parse()?;
    if args.get(4).map(String::as_str) == Some("dbscan") {
        let bytes = std::fs::read(&args[1])?;
        let cols: usize = args[2].parse()?;
        let eps: f64 = args.get(5).ok_or("dbscan needs EPS")?.parse()?;
        let min: usize = args.get(6).ok_or("dbscan needs MIN_SAMPLES")?.parse()?;
        let data: Vec<f64> = bytes
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
            .collect();
        let x = Matrix::new(cols, data)?;
        let start = Instant::now();
        let fit = mergetag_segment::Dbscan::new(eps, min).fit(&x)?;
        println!(
            "{{\"algorithm\":\"dbscan\",\"seconds\":{},\"clusters\":{},\"noise\":{}}}",
            start.elapsed().as_secs_f64(),
            fit.clusters,
            fit.noise
        );
        return Ok(());
    }
    let algorithm = match args.get(4).map(String::as_str) {
        None | Some("hamerly") => KMeansAlgorithm::Hamerly,
        Some("lloyd") => KMeansAlgorithm::Lloyd,
        Some("mini_batch") => KMeansAlgorithm::MiniBatch,
        Some(other) => return Err(format!("unknown algorithm {other}").into()),
    };
    let data: Vec<f64> = bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
        .collect();
    let x = Matrix::new(cols, data)?;
    let start = Instant::now();
    let fit = KMeans::new(k)
        .n_init(1)
        .seed(0)
        .algorithm(algorithm)
        .fit(&x)?;
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{{\"algorithm\":\"{algorithm:?}\",\"seconds\":{seconds},\"inertia\":{},\"iterations\":{},\"converged\":{}}}",
        fit.inertia, fit.iterations, fit.converged
    );
    Ok(())
}
