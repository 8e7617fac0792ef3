//! Clustering: connected components over matches, with a guard against chaining.

/// Union-find over `u32` nodes, with the members of each root kept for the bridge guard.
///
/// The members are a ring per component (`next`), so a join splices two rings in constant
/// time and nothing is allocated per node: on a million records, one `Vec` per node cost more
/// in the allocator than the whole union-find.
struct Components {
    parent: Vec<u32>,
    size: Vec<u32>,
    /// The next member of the same component (a ring).
    next: Vec<u32>,
}

impl Components {
    fn new(n: usize) -> Components {
        Components {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
            next: (0..n as u32).collect(),
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
        self.size[keep as usize] += self.size[gone as usize];
        self.next.swap(keep as usize, gone as usize);
    }

    /// The members of the component of root `r`.
    fn members(&self, r: u32) -> impl Iterator<Item = u32> + '_ {
        let mut at = Some(r);
        std::iter::from_fn(move || {
            let x = at?;
            let n = self.next[x as usize];
            at = (n != r).then_some(n);
            Some(x)
        })
    }
}

/// Every scored pair by node, matched or not (the evidence the bridge guard weighs), in one
/// flat array: node `x`'s neighbours are `nodes[start[x]..start[x + 1]]`.
struct Adjacency {
    start: Vec<usize>,
    nodes: Vec<u32>,
    /// Bit `k`: whether the pair of slot `k` is a match.
    matched: Vec<u64>,
}

impl Adjacency {
    fn new(n: usize, count: usize, edge: &impl Fn(usize) -> Edge) -> Adjacency {
        let mut start = vec![0usize; n + 1];
        for e in (0..count).map(edge) {
            start[e.a as usize + 1] += 1;
            start[e.b as usize + 1] += 1;
        }
        for x in 0..n {
            start[x + 1] += start[x];
        }
        let mut fill = start.clone();
        let mut nodes = vec![0u32; start[n]];
        let mut matched = vec![0u64; start[n].div_ceil(64)];
        for e in (0..count).map(edge) {
            for (x, y) in [(e.a, e.b), (e.b, e.a)] {
                let k = fill[x as usize];
                fill[x as usize] += 1;
                nodes[k] = y;
                if e.matched {
                    matched[k / 64] |= 1 << (k % 64);
                }
            }
        }
        Adjacency {
            start,
            nodes,
            matched,
        }
    }

    /// The neighbours of `x`, each with whether its pair is a match.
    fn of(&self, x: u32) -> impl Iterator<Item = (u32, bool)> + '_ {
        let x = x as usize;
        (self.start[x]..self.start[x + 1])
            .map(|k| (self.nodes[k], self.matched[k / 64] & (1 << (k % 64)) != 0))
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
    cluster_by(n, edges.len(), |k| edges[k], guard_bridges)
}

/// [`cluster`] over `count` edges given by `edge` (a batch run's pairs, weights and threshold,
/// without an array of edges beside them).
pub(crate) fn cluster_by(
    n: usize,
    count: usize,
    edge: impl Fn(usize) -> Edge,
    guard_bridges: bool,
) -> (Vec<u32>, u64) {
    let mut comps = Components::new(n);
    let mut order: Vec<usize> = (0..count).filter(|&i| edge(i).matched).collect();
    order.sort_by(|&x, &y| {
        let (ex, ey) = (edge(x), edge(y));
        ey.weight
            .total_cmp(&ex.weight)
            .then((ex.a, ex.b).cmp(&(ey.a, ey.b)))
    });
    let adjacency = guard_bridges.then(|| Adjacency::new(n, count, &edge));
    let mut refused = 0;
    let mut between = Vec::new();
    for i in order {
        let e = edge(i);
        let (ra, rb) = (comps.find(e.a), comps.find(e.b));
        if ra == rb {
            continue;
        }
        let (sa, sb) = (comps.size[ra as usize], comps.size[rb as usize]);
        if let Some(adjacency) = &adjacency
            && sa >= 2
            && sb >= 2
        {
            let (small, other) = if sa <= sb { (ra, rb) } else { (rb, ra) };
            between.clear();
            let mut members = Vec::with_capacity(sa.min(sb) as usize);
            members.extend(comps.members(small));
            for x in members {
                for (y, matched) in adjacency.of(x) {
                    if comps.find(y) == other {
                        between.push(matched);
                    }
                }
            }
            if refuse_bridge(between.iter().copied()) {
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
