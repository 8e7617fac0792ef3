//! A k-d tree over the rows of a [`Matrix`] for radius and nearest-neighbour queries: what
//! keeps DBSCAN's memory linear in the points instead of quadratic.

use crate::matrix::{Matrix, sq_dist};

const LEAF: usize = 32;
const NONE: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct Node {
    start: u32,
    end: u32,
    left: u32,
    right: u32,
}

/// A k-d tree (Bentley 1975) built by median splits on the widest dimension, each node with
/// its bounding box; leaves hold up to 32 points, copied contiguously in tree order.
///
/// ```
/// use mergetag_segment::{KdTree, Matrix};
///
/// let x = Matrix::from_rows(&[[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])?;
/// let tree = KdTree::new(&x);
/// let mut near = Vec::new();
/// tree.within(&[0.0, 0.0], 1.0, &mut near);
/// near.sort();
/// assert_eq!(near, vec![0, 1]);
/// assert_eq!(tree.nearest(&[4.0, 4.0], 1)[0].1, 2);
/// # Ok::<(), mergetag_segment::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct KdTree {
    d: usize,
    points: Vec<f64>,
    index: Vec<u32>,
    nodes: Vec<Node>,
    /// Per node: `d` lows then `d` highs.
    bounds: Vec<f64>,
}

impl KdTree {
    /// Builds the tree over the rows of `x` (row numbers must fit in `u32`; larger inputs
    /// keep their first 4,294,967,294 rows).
    pub fn new(x: &Matrix) -> KdTree {
        let d = x.cols();
        let n = x.rows().min(NONE as usize - 1);
        let mut index: Vec<u32> = (0..n as u32).collect();
        let mut nodes = Vec::new();
        let mut bounds = Vec::new();
        if n > 0 {
            nodes.push(Node {
                start: 0,
                end: n as u32,
                left: NONE,
                right: NONE,
            });
            let mut stack = vec![0usize];
            while let Some(id) = stack.pop() {
                let (s, e) = (nodes[id].start as usize, nodes[id].end as usize);
                let mut lo = vec![f64::INFINITY; d];
                let mut hi = vec![f64::NEG_INFINITY; d];
                for &i in &index[s..e] {
                    for (j, v) in x.row(i as usize).iter().enumerate() {
                        lo[j] = lo[j].min(*v);
                        hi[j] = hi[j].max(*v);
                    }
                }
                let base = id * 2 * d;
                if bounds.len() < base + 2 * d {
                    bounds.resize(base + 2 * d, 0.0);
                }
                bounds[base..base + d].copy_from_slice(&lo);
                bounds[base + d..base + 2 * d].copy_from_slice(&hi);
                if e - s <= LEAF || d == 0 {
                    continue;
                }
                let (dim, spread) = (0..d)
                    .map(|j| (j, hi[j] - lo[j]))
                    .fold((0, f64::NEG_INFINITY), |a, b| if b.1 > a.1 { b } else { a });
                if spread <= 0.0 {
                    // Every point equal: a leaf, however many.
                    continue;
                }
                let mid = (e - s) / 2;
                index[s..e].select_nth_unstable_by(mid, |&a, &b| {
                    x.row(a as usize)[dim]
                        .total_cmp(&x.row(b as usize)[dim])
                        .then(a.cmp(&b))
                });
                let left = nodes.len();
                nodes.push(Node {
                    start: s as u32,
                    end: (s + mid) as u32,
                    left: NONE,
                    right: NONE,
                });
                nodes.push(Node {
                    start: (s + mid) as u32,
                    end: e as u32,
                    left: NONE,
                    right: NONE,
                });
                nodes[id].left = left as u32;
                nodes[id].right = left as u32 + 1;
                stack.push(left + 1);
                stack.push(left);
            }
        }
        let mut points = Vec::with_capacity(n * d);
        for &i in &index {
            points.extend_from_slice(x.row(i as usize));
        }
        KdTree {
            d,
            points,
            index,
            nodes,
            bounds,
        }
    }

    /// The number of points.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the tree holds no points.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    fn min_sq(&self, node: usize, q: &[f64]) -> f64 {
        let b = &self.bounds[node * 2 * self.d..(node + 1) * 2 * self.d];
        let (lo, hi) = b.split_at(self.d);
        let mut s = 0.0;
        for j in 0..self.d {
            let v = q[j];
            let t = if v < lo[j] {
                lo[j] - v
            } else if v > hi[j] {
                v - hi[j]
            } else {
                0.0
            };
            s += t * t;
        }
        s
    }

    fn max_sq(&self, node: usize, q: &[f64]) -> f64 {
        let b = &self.bounds[node * 2 * self.d..(node + 1) * 2 * self.d];
        let (lo, hi) = b.split_at(self.d);
        let mut s = 0.0;
        for j in 0..self.d {
            let t = (q[j] - lo[j]).abs().max((hi[j] - q[j]).abs());
            s += t * t;
        }
        s
    }

    fn point(&self, k: usize) -> &[f64] {
        &self.points[k * self.d..(k + 1) * self.d]
    }

    /// Appends to `out` the row numbers of the points within distance `radius` of `q`
    /// (distance at most `radius`, as scikit-learn's `radius_neighbors`), in tree order.
    pub fn within(&self, q: &[f64], radius: f64, out: &mut Vec<usize>) {
        self.visit_within(q, radius, usize::MAX, |i| out.push(i));
    }

    /// How many points lie within `radius` of `q`, counting at most to `limit`.
    pub fn count_within(&self, q: &[f64], radius: f64, limit: usize) -> usize {
        let mut n = 0;
        self.visit_within(q, radius, limit, |_| n += 1);
        n.min(limit)
    }

    fn visit_within(&self, q: &[f64], radius: f64, limit: usize, mut f: impl FnMut(usize)) {
        if self.nodes.is_empty() || q.len() != self.d {
            return;
        }
        let r2 = radius * radius;
        let mut seen = 0usize;
        let mut stack = vec![0usize];
        while let Some(id) = stack.pop() {
            if seen >= limit {
                return;
            }
            if self.min_sq(id, q) > r2 {
                continue;
            }
            let node = &self.nodes[id];
            let (s, e) = (node.start as usize, node.end as usize);
            if node.left == NONE || self.max_sq(id, q) <= r2 {
                let inside = self.max_sq(id, q) <= r2;
                for k in s..e {
                    if inside || sq_dist(q, self.point(k)) <= r2 {
                        f(self.index[k] as usize);
                        seen += 1;
                    }
                }
                continue;
            }
            stack.push(node.right as usize);
            stack.push(node.left as usize);
        }
    }

    /// The `k` nearest points of `q` as (distance, row number), nearest first (ties by row
    /// number).
    pub fn nearest(&self, q: &[f64], k: usize) -> Vec<(f64, usize)> {
        let mut best: Vec<(f64, usize)> = Vec::with_capacity(k + 1);
        if self.nodes.is_empty() || k == 0 || q.len() != self.d {
            return best;
        }
        let worst = |b: &Vec<(f64, usize)>| {
            if b.len() < k {
                f64::INFINITY
            } else {
                b[b.len() - 1].0
            }
        };
        let mut stack = vec![0usize];
        while let Some(id) = stack.pop() {
            if self.min_sq(id, q) > worst(&best) {
                continue;
            }
            let node = &self.nodes[id];
            if node.left == NONE {
                for p in node.start as usize..node.end as usize {
                    let dist = sq_dist(q, self.point(p));
                    let cand = (dist, self.index[p] as usize);
                    if best.len() < k || cand < best[best.len() - 1] {
                        let at = best
                            .partition_point(|b| b.0 < cand.0 || (b.0 == cand.0 && b.1 < cand.1));
                        best.insert(at, cand);
                        best.truncate(k);
                    }
                }
                continue;
            }
            let (l, r) = (node.left as usize, node.right as usize);
            // The nearer child last, so that it is searched first.
            if self.min_sq(l, q) <= self.min_sq(r, q) {
                stack.push(r);
                stack.push(l);
            } else {
                stack.push(l);
                stack.push(r);
            }
        }
        best.into_iter().map(|(d2, i)| (d2.sqrt(), i)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn agrees_with_brute_force() {
        let mut rng = Rng::new(5);
        let rows: Vec<[f64; 3]> = (0..700)
            .map(|_| [rng.next_f64(), rng.next_f64(), (rng.below(4)) as f64 * 0.1])
            .collect();
        let x = Matrix::from_rows(&rows).unwrap();
        let tree = KdTree::new(&x);
        for q in rows.iter().take(50) {
            let mut got = Vec::new();
            tree.within(q, 0.2, &mut got);
            got.sort();
            let want: Vec<usize> = (0..rows.len())
                .filter(|&i| sq_dist(q, &rows[i]) <= 0.04)
                .collect();
            assert_eq!(got, want);
            assert_eq!(tree.count_within(q, 0.2, usize::MAX), want.len());
            let nn = tree.nearest(q, 5);
            let mut all: Vec<(f64, usize)> =
                (0..rows.len()).map(|i| (sq_dist(q, &rows[i]), i)).collect();
            all.sort_by(|a, b| a.partial_cmp(b).unwrap());
            let want: Vec<usize> = all[..5].iter().map(|p| p.1).collect();
            assert_eq!(nn.iter().map(|p| p.1).collect::<Vec<_>>(), want);
        }
    }
}
