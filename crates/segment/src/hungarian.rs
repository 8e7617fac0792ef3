//! The assignment problem (Kuhn 1955, Munkres 1957) in O(n³): which new cluster continues
//! which old segment, at the least total centre movement.

/// For a `rows` x `cols` cost matrix (row-major), the column assigned to each row (`None`
/// when there are more rows than columns and the row is left out), minimising the total cost.
/// Costs must be finite.
pub(crate) fn assign(cost: &[f64], rows: usize, cols: usize) -> Vec<Option<usize>> {
    let n = rows.max(cols);
    if n == 0 {
        return Vec::new();
    }
    // Square, padded with zeros; 1-based potentials as in the classic formulation.
    let at = |i: usize, j: usize| -> f64 {
        if i < rows && j < cols {
            cost[i * cols + j]
        } else {
            0.0
        }
    };
    let mut u = vec![0.0f64; n + 1];
    let mut v = vec![0.0f64; n + 1];
    let mut p = vec![0usize; n + 1];
    let mut way = vec![0usize; n + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0usize;
        let mut minv = vec![f64::INFINITY; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0usize;
            for j in 1..=n {
                if !used[j] {
                    let cur = at(i0 - 1, j - 1) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            if j1 == 0 {
                // Only with non-finite costs; stop rather than loop.
                break;
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut out = vec![None; rows];
    for (j, &i) in p.iter().enumerate().skip(1) {
        if i >= 1 && i - 1 < rows && j - 1 < cols {
            out[i - 1] = Some(j - 1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_cheapest_assignment() {
        // Greedy would take (0,0)=1 then (1,1)=10; the optimum is (0,1)+(1,0) = 2+2.
        assert_eq!(assign(&[1.0, 2.0, 2.0, 10.0], 2, 2), vec![Some(1), Some(0)]);
        // More rows than columns: one row is left out.
        let a = assign(&[0.0, 5.0, 1.0], 3, 1);
        assert_eq!(a, vec![Some(0), None, None]);
        // More columns than rows.
        assert_eq!(assign(&[3.0, 1.0, 2.0], 1, 3), vec![Some(1)]);
        assert!(assign(&[], 0, 0).is_empty());
    }
}
