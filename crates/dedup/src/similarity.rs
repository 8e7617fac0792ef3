//! String similarity kernels, with `strsim` as the reference.
//!
//! [`jaro_winkler`] gives exactly `strsim::jaro_winkler`'s results (a property test compares
//! them on arbitrary strings) but works on pre-folded slices with bit sets for the match flags
//! instead of allocating a flag vector per call: the comparison loop calls it millions of times.
//! [`jaro_winkler_bound`] is a cheap upper bound that lets a comparison skip the full Jaro-Winkler
//! when it cannot reach the level's cut-off (most non-matching pairs). Levenshtein calls
//! `strsim` directly; Damerau-Levenshtein has its own kernel for short ASCII strings (equal to
//! `strsim`'s, checked by a property test), because `strsim`'s keeps a hash map per call: on the
//! FEBRL benchmark it was a sixth of the whole run.

/// Jaro similarity of two sequences, in `[0, 1]`; 1 for two empty sequences.
pub fn jaro<T: PartialEq + Copy>(a: &[T], b: &[T]) -> f64 {
    let (a_len, b_len) = (a.len(), b.len());
    if a_len == 0 && b_len == 0 {
        return 1.0;
    }
    if a_len == 0 || b_len == 0 {
        return 0.0;
    }
    if a_len <= 64 && b_len <= 64 {
        jaro_small(a, b)
    } else {
        jaro_large(a, b)
    }
}

/// The search window, as strsim computes it.
fn window(a_len: usize, b_len: usize) -> usize {
    (a_len.max(b_len) / 2).saturating_sub(1)
}

fn score(matches: usize, transpositions: usize, a_len: usize, b_len: usize) -> f64 {
    if matches == 0 {
        return 0.0;
    }
    ((matches as f64 / a_len as f64)
        + (matches as f64 / b_len as f64)
        + ((matches - transpositions) as f64 / matches as f64))
        / 3.0
}

/// Both sequences at most 64 long: flags in two `u64` bit sets.
fn jaro_small<T: PartialEq + Copy>(a: &[T], b: &[T]) -> f64 {
    let range = window(a.len(), b.len());
    let (mut a_flags, mut b_flags) = (0u64, 0u64);
    let mut matches = 0;
    for (i, &x) in a.iter().enumerate() {
        let lo = i.saturating_sub(range);
        let hi = (i + range + 1).min(b.len());
        for (j, &y) in b.iter().enumerate().take(hi).skip(lo) {
            if b_flags & (1 << j) == 0 && x == y {
                a_flags |= 1 << i;
                b_flags |= 1 << j;
                matches += 1;
                break;
            }
        }
    }
    let mut transpositions = 0;
    if matches != 0 {
        let mut bf = b_flags;
        let mut af = a_flags;
        while af != 0 {
            let i = af.trailing_zeros() as usize;
            let j = bf.trailing_zeros() as usize;
            if a[i] != b[j] {
                transpositions += 1;
            }
            af &= af - 1;
            bf &= bf - 1;
        }
    }
    score(matches, transpositions / 2, a.len(), b.len())
}

/// Longer sequences: flags in vectors.
fn jaro_large<T: PartialEq + Copy>(a: &[T], b: &[T]) -> f64 {
    let range = window(a.len(), b.len());
    let mut a_flags = vec![false; a.len()];
    let mut b_flags = vec![false; b.len()];
    let mut matches = 0;
    for (i, &x) in a.iter().enumerate() {
        let lo = i.saturating_sub(range);
        let hi = (i + range + 1).min(b.len());
        for j in lo..hi {
            if !b_flags[j] && x == b[j] {
                a_flags[i] = true;
                b_flags[j] = true;
                matches += 1;
                break;
            }
        }
    }
    let mut transpositions = 0;
    if matches != 0 {
        let mut bj = b_flags.iter().zip(b).filter(|(f, _)| **f).map(|(_, y)| y);
        for (_, x) in a_flags.iter().zip(a).filter(|(f, _)| **f) {
            if bj.next().is_some_and(|y| x != y) {
                transpositions += 1;
            }
        }
    }
    score(matches, transpositions / 2, a.len(), b.len())
}

/// Jaro-Winkler similarity in `[0, 1]`: Jaro with a bonus for a common prefix of up to four
/// elements when the Jaro similarity is above 0.7, exactly as `strsim::jaro_winkler`.
///
/// ```
/// use mergetag_dedup::similarity::jaro_winkler;
///
/// let a: Vec<char> = "martha".chars().collect();
/// let b: Vec<char> = "marhta".chars().collect();
/// assert_eq!(jaro_winkler(&a, &b), strsim::jaro_winkler("martha", "marhta"));
/// ```
pub fn jaro_winkler<T: PartialEq + Copy>(a: &[T], b: &[T]) -> f64 {
    let sim = jaro(a, b);
    if sim > 0.7 {
        let prefix = a.iter().take(4).zip(b).take_while(|(x, y)| x == y).count();
        sim + 0.1 * prefix as f64 * (1.0 - sim)
    } else {
        sim
    }
}

/// An upper bound on the Jaro-Winkler similarity of two byte strings, from their lengths and
/// the bytes they share (matching characters are at most the common multiset), with the
/// largest prefix bonus: `jaro_winkler(a, b) <= jaro_winkler_bound(a, b)` always.
///
/// ```
/// use mergetag_dedup::similarity::{jaro_winkler, jaro_winkler_bound};
///
/// assert!(jaro_winkler_bound(b"white", b"green") < 0.8);
/// assert!(jaro_winkler(b"martha", b"marhta") <= jaro_winkler_bound(b"martha", b"marhta"));
/// ```
pub fn jaro_winkler_bound(a: &[u8], b: &[u8]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return if a.is_empty() && b.is_empty() {
            1.0
        } else {
            0.0
        };
    }
    let mut counts = [0u16; 256];
    for &y in b {
        counts[y as usize] = counts[y as usize].saturating_add(1);
    }
    let mut common = 0usize;
    for &x in a {
        let c = &mut counts[x as usize];
        if *c > 0 {
            *c -= 1;
            common += 1;
        }
    }
    if common == 0 {
        return 0.0;
    }
    let m = common as f64;
    let jaro = (m / a.len() as f64 + m / b.len() as f64 + 1.0) / 3.0;
    let prefix = a.iter().take(4).zip(b).take_while(|(x, y)| x == y).count();
    // Jaro-Winkler grows with Jaro, so the bound of Jaro gives the bound of the bonus too.
    (jaro + 0.1 * prefix as f64 * (1.0 - jaro)).min(1.0)
}

/// Levenshtein distance (insertions, deletions, substitutions), from `strsim`.
pub fn levenshtein(a: &str, b: &str) -> usize {
    strsim::levenshtein(a, b)
}

/// Damerau-Levenshtein distance (adjacent transpositions count as one edit, and the transposed
/// characters may be edited in between: the unrestricted distance), equal to
/// `strsim::damerau_levenshtein`. ASCII strings of at most 62 bytes, the usual case after
/// folding, use a table on the stack; others call `strsim`.
///
/// ```
/// use mergetag_dedup::similarity::damerau_levenshtein;
///
/// assert_eq!(damerau_levenshtein("ca", "abc"), 2);
/// assert_eq!(damerau_levenshtein("7364009", "7346009"), 1);
/// ```
pub fn damerau_levenshtein(a: &str, b: &str) -> usize {
    const MAX: usize = 62;
    if !(a.is_ascii() && b.is_ascii() && a.len() <= MAX && b.len() <= MAX) {
        return strsim::damerau_levenshtein(a, b);
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (n, m) = (a.len(), b.len());
    if n == 0 || m == 0 {
        return n.max(m);
    }
    // Lowrance-Wagner, as strsim computes it, with the row of each byte's last position in a
    // fixed array instead of a hash map. d[i + 1][j + 1] is the distance of a[..i], b[..j].
    let inf = (n + m) as u8;
    let mut d = [[0u8; MAX + 2]; MAX + 2];
    d[0][0] = inf;
    for i in 0..=n {
        d[i + 1][0] = inf;
        d[i + 1][1] = i as u8;
    }
    for j in 0..=m {
        d[0][j + 1] = inf;
        d[1][j + 1] = j as u8;
    }
    let mut last_row = [0u8; 128];
    for i in 1..=n {
        let mut last_col = 0usize;
        for j in 1..=m {
            let i1 = last_row[b[j - 1] as usize] as usize;
            let j1 = last_col;
            let cost = if a[i - 1] == b[j - 1] {
                last_col = j;
                0
            } else {
                1
            };
            let substitute = d[i][j] + cost;
            let insert = d[i + 1][j] + 1;
            let delete = d[i][j + 1] + 1;
            let transpose = (d[i1][j1] as usize + (i - i1 - 1) + 1 + (j - j1 - 1)) as u8;
            d[i + 1][j + 1] = substitute.min(insert).min(delete).min(transpose);
        }
        last_row[a[i - 1] as usize] = i as u8;
    }
    d[n + 1][m + 1] as usize
}

/// Whether two byte strings are within one edit (insert, delete, substitute, or swap of two
/// adjacent bytes) of each other, without computing the full distance.
pub fn within_one_edit(a: &[u8], b: &[u8]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    match long.len() - short.len() {
        0 => {
            let diffs: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).take(3).collect();
            match diffs.as_slice() {
                [] | [_] => true,
                [i, j] => *j == i + 1 && a[*i] == b[*j] && a[*j] == b[*i],
                _ => false,
            }
        }
        1 => {
            let p = short.iter().zip(long).take_while(|(x, y)| x == y).count();
            short[p..] == long[p + 1..]
        }
        _ => false,
    }
}

/// Token-set similarity of two multi-word strings: the Jaccard index of their sets of
/// whitespace-separated words, in `[0, 1]` (1 for two empty strings).
pub fn token_set(a: &str, b: &str) -> f64 {
    let mut x: Vec<&str> = a.split_whitespace().collect();
    let mut y: Vec<&str> = b.split_whitespace().collect();
    x.sort_unstable();
    x.dedup();
    y.sort_unstable();
    y.dedup();
    if x.is_empty() && y.is_empty() {
        return 1.0;
    }
    let common = x.iter().filter(|t| y.binary_search(t).is_ok()).count();
    common as f64 / (x.len() + y.len() - common) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jw(a: &str, b: &str) -> f64 {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        jaro_winkler(&a, &b)
    }

    #[test]
    fn matches_strsim_on_classic_pairs() {
        for (a, b) in [
            ("martha", "marhta"),
            ("dwayne", "duane"),
            ("dixon", "dicksonx"),
            ("", ""),
            ("a", ""),
            ("cheeseburger", "cheese fries"),
            ("jon", "john"),
            ("robert", "rupert"),
        ] {
            assert_eq!(jw(a, b), strsim::jaro_winkler(a, b), "{a} {b}");
            assert_eq!(jw(b, a), strsim::jaro_winkler(b, a), "{b} {a}");
        }
        let long_a = "a".repeat(70) + "bc";
        let long_b = "a".repeat(69) + "cb";
        assert_eq!(jw(&long_a, &long_b), strsim::jaro_winkler(&long_a, &long_b));
    }

    #[test]
    fn one_edit() {
        assert!(within_one_edit(b"3125550147", b"3125550147"));
        assert!(within_one_edit(b"3125550147", b"3125550174"));
        assert!(within_one_edit(b"3125550147", b"312550147"));
        assert!(within_one_edit(b"3125550147", b"3125550148"));
        assert!(!within_one_edit(b"3125550147", b"3125551148"));
        assert!(!within_one_edit(b"abc", b"cba"));
        assert!(within_one_edit(b"", b"a"));
    }

    #[test]
    fn tokens() {
        assert_eq!(token_set("123 main st", "main st 123"), 1.0);
        assert_eq!(token_set("a b", "c d"), 0.0);
        assert!((token_set("a b c", "a b d") - 0.5).abs() < 1e-12);
    }
}
