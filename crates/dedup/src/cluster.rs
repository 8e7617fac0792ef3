//! Clustering: connected components over matches, with a guard against chaining.

/// Union-find over `u32` nodes, with the members of each root kept for the bridge guard.
struct Components {
    parent: Vec<u32>,
    members: Vec<Vec<u32>>,
}

impl Components {
    fn new(n: usize) -> Components {
        Components {
            parent: (0..n as u32).collect(),
            members: (0..n as u32).map(|i| vec![i]).collect(),
        }
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }

    /// Joins two roots; the smaller root stays, so a root is its component's smallest node.
    fn join(&mut self, ra: u32, rb: u32) {
        let (keep, gone) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent[gone as usize] = keep;
        let moved = std::mem::take(&mut self.members[gone as usize]);
        self.members[keep as usize].extend(moved);
    }
}

/// One scored candidate pair: nodes, weight, and whether it is a match.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Edge {
    pub(crate) a: u32,
    pub(crate) b: u32,
    pub(crate) weight: f64,
    pub(crate) matched: bool,
}

/// The bridge guard's rule, for batch clustering and the incremental index alike: a join of
/// two groups is refused when most of the scored pairs between them (`matched` flags) are
/// non-matches.
pub(crate) fn refuse_bridge(between: impl IntoIterator<Item = bool>) -> bool {
    let (yes, no) = between.into_iter().fold(
        (0u32, 0u32),
        |(y, n), m| if m { (y + 1, n) } else { (y, n + 1) },
    );
    no > yes
}

/// Clusters `n` nodes: matches are joined strongest first. With `guard_bridges`, two groups of
/// two or more records are joined only when the scored pairs between them are not mostly
/// non-matches: one weak link between two well-separated people is refused instead of merging
/// them (chaining). Returns the root of every node and the number of refused joins.
///
/// Deterministic: edges are taken by weight, ties by node order.
pub(crate) fn cluster(n: usize, edges: &[Edge], guard_bridges: bool) -> (Vec<u32>, u64) {
    let mut comps = Components::new(n);
    let mut order: Vec<usize> = (0..edges.len()).filter(|&i| edges[i].matched).collect();
    order.sort_by(|&x, &y| {
        let (ex, ey) = (&edges[x], &edges[y]);
        ey.weight
            .total_cmp(&ex.weight)
            .then((ex.a, ex.b).cmp(&(ey.a, ey.b)))
    });
    // Every scored pair, matched or not, by node: the evidence the guard weighs.
    let mut adjacency: Vec<Vec<(u32, bool)>> = Vec::new();
    if guard_bridges {
        adjacency = vec![Vec::new(); n];
        for e in edges {
            adjacency[e.a as usize].push((e.b, e.matched));
            adjacency[e.b as usize].push((e.a, e.matched));
        }
    }
    let mut refused = 0;
    for i in order {
        let e = edges[i];
        let (ra, rb) = (comps.find(e.a), comps.find(e.b));
        if ra == rb {
            continue;
        }
        let (sa, sb) = (
            comps.members[ra as usize].len(),
            comps.members[rb as usize].len(),
        );
        if guard_bridges && sa >= 2 && sb >= 2 {
            let (small, other) = if sa <= sb { (ra, rb) } else { (rb, ra) };
            let small_members = comps.members[small as usize].clone();
            let mut between = Vec::new();
            for x in small_members {
                for &(y, matched) in &adjacency[x as usize] {
                    if comps.find(y) == other {
                        between.push(matched);
                    }
                }
            }
            if refuse_bridge(between) {
                refused += 1;
                continue;
            }
        }
        comps.join(ra, rb);
    }
    let roots = (0..n as u32).map(|x| comps.find(x)).collect();
    (roots, refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(a: u32, b: u32, weight: f64, matched: bool) -> Edge {
        Edge {
            a,
            b,
            weight,
            matched,
        }
    }

    #[test]
    fn plain_components() {
        let (roots, refused) = cluster(
            5,
            &[
                edge(0, 1, 10.0, true),
                edge(3, 4, 9.0, true),
                edge(1, 2, 1.0, false),
            ],
            true,
        );
        assert_eq!(roots, [0, 0, 2, 3, 3]);
        assert_eq!(refused, 0);
    }

    #[test]
    fn a_weak_bridge_between_two_people_is_refused() {
        // People {0,1,2} and {3,4,5}, each strongly linked; one weak match 2-3; the other
        // scored pairs across are non-matches.
        let edges = [
            edge(0, 1, 20.0, true),
            edge(1, 2, 20.0, true),
            edge(0, 2, 20.0, true),
            edge(3, 4, 20.0, true),
            edge(4, 5, 20.0, true),
            edge(2, 3, 1.0, true),
            edge(1, 3, -5.0, false),
            edge(2, 4, -5.0, false),
        ];
        let (guarded, refused) = cluster(6, &edges, true);
        assert_eq!(guarded, [0, 0, 0, 3, 3, 3]);
        assert_eq!(refused, 1);
        let (chained, _) = cluster(6, &edges, false);
        assert_eq!(chained, [0; 6]);
    }

    #[test]
    fn singletons_still_join_on_one_match() {
        let (roots, _) = cluster(
            3,
            &[
                edge(0, 1, 20.0, true),
                edge(1, 2, 1.0, true),
                edge(0, 2, -3.0, false),
            ],
            true,
        );
        assert_eq!(
            roots,
            [0, 0, 0],
            "a lone record is not a group; the guard is for groups"
        );
    }
}
