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
    // A common prefix and suffix change no distance (rapidfuzz strips them too), and what is
    // left of two near-equal identifiers is a byte or two: most tables are tiny.
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    (a, b) = (&a[prefix..], &b[prefix..]);
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    (a, b) = (&a[..a.len() - suffix], &b[..b.len() - suffix]);
    if a.is_empty() || b.is_empty() {
        return a.len().max(b.len());
    }
    // The table is zeroed on every call: one sized to short strings costs a sixteenth of the
    // large one's.
    if a.len() <= 14 && b.len() <= 14 {
        lowrance_wagner::<16>(a, b)
    } else {
        lowrance_wagner::<{ MAX + 2 }>(a, b)
    }
}

/// The unrestricted Damerau-Levenshtein distance of two non-empty ASCII strings of at most
/// `S - 2` bytes each (Lowrance-Wagner, as strsim computes it, with the row of each byte's
/// last position in a fixed array instead of a hash map).
fn lowrance_wagner<const S: usize>(a: &[u8], b: &[u8]) -> usize {
    let (n, m) = (a.len(), b.len());
    // d[i + 1][j + 1] is the distance of a[..i], b[..j].
    let inf = (n + m) as u8;
    let mut d = [[0u8; S]; S];
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
    // Up to 16 words a side (any address line) on the stack: this runs for every pair of
    // texts that are not close by Jaro-Winkler, most of the random pairs that estimate u.
    const ON_STACK: usize = 16;
    let (mut x, mut y) = ([""; ON_STACK], [""; ON_STACK]);
    match (words_into(a, &mut x), words_into(b, &mut y)) {
        (Some(nx), Some(ny)) => jaccard_of_words(&mut x[..nx], &mut y[..ny]),
        _ => {
            let mut x: Vec<&str> = a.split_whitespace().collect();
            let mut y: Vec<&str> = b.split_whitespace().collect();
            jaccard_of_words(&mut x, &mut y)
        }
    }
}

/// The words of `text` into `out`; `None` when there are more than `out` holds.
fn words_into<'a>(text: &'a str, out: &mut [&'a str]) -> Option<usize> {
    let mut n = 0;
    if text.is_ascii() {
        // The same words as `split_whitespace` (whose ASCII whitespace includes the vertical
        // tab), without its Unicode table lookups.
        let separator = |c: char| c.is_ascii_whitespace() || c == '\x0B';
        for word in text.split(separator).filter(|w| !w.is_empty()) {
            *out.get_mut(n)? = word;
            n += 1;
        }
    } else {
        for word in text.split_whitespace() {
            *out.get_mut(n)? = word;
            n += 1;
        }
    }
    Some(n)
}

/// A lower bound of the edit distance (Levenshtein or Damerau-Levenshtein) of two ASCII
/// strings: the larger count of bytes one has that the other lacks, as multisets. Each
/// insertion, deletion or substitution changes it by at most one and a transposition not at
/// all. Two identifiers that share few digits are told apart without the table.
///
/// ```
/// use mergetag_dedup::similarity::bag_distance;
///
/// assert_eq!(bag_distance(b"7364009", b"7346009"), 0);
/// assert_eq!(bag_distance(b"1234", b"5678"), 4);
/// ```
pub fn bag_distance(a: &[u8], b: &[u8]) -> usize {
    let mut count = [0i16; 256];
    for &x in a {
        count[x as usize] += 1;
    }
    for &y in b {
        count[y as usize] -= 1;
    }
    let (mut extra_a, mut extra_b) = (0usize, 0usize);
    for c in count {
        if c > 0 {
            extra_a += c as usize;
        } else {
            extra_b += c.unsigned_abs() as usize;
        }
    }
    extra_a.max(extra_b)
}

/// The Jaccard index of two lists of words as sets (1 when both are empty); sorts them.
fn jaccard_of_words(x: &mut [&str], y: &mut [&str]) -> f64 {
    fn distinct(v: &mut [&str]) -> usize {
        v.sort_unstable();
        let mut kept = 0;
        for r in 0..v.len() {
            if kept == 0 || v[r] != v[kept - 1] {
                v[kept] = v[r];
                kept += 1;
            }
        }
        kept
    }
    let (nx, ny) = (distinct(x), distinct(y));
    if nx == 0 && ny == 0 {
        return 1.0;
    }
    let (mut i, mut j, mut common) = (0, 0, 0);
    while i < nx && j < ny {
        match x[i].cmp(y[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    common as f64 / (nx + ny - common) as f64
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
