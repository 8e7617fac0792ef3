//! "Did you mean" suggestions for mistyped domains (`gmial.com` → `gmail.com`, `acme.cmo` →
//! `acme.com`).
//!
//! The rule is deliberately conservative, because a suggestion for a real domain would push a
//! marketer to "fix" a correct address:
//!
//! 1. a domain that is itself popular, or a known real domain near a popular one (`mail.com` is
//!    one edit from `gmail.com`), never gets a suggestion;
//! 2. a dot in the wrong place in a popular domain (`gmailc.om`) is put back;
//! 3. a top-level domain that is not a delegated one ([`KNOWN_TLDS`], every ISO 3166-1
//!    country code) and is close to `com`, `net`, `org`, `edu`, `gov`, `info` or `biz` is
//!    corrected, on any domain (`.con`, `.cmo`, `.ogr`, `.nry`): at most one edit, where a
//!    substitution by a key next to the intended one on a QWERTY keyboard counts half (so
//!    `nry` → `net`, two neighbouring keys, is one edit);
//! 4. a popular provider with a suffix one edit from its own (`gmail.co`, `hotmail.cm`) gets
//!    that suffix;
//! 5. the first label is compared with the popular domains that have the same (corrected)
//!    suffix: one edit (insertion, deletion, substitution or transposition of neighbours;
//!    doubled letters are one insertion) for names of four to six letters, two for longer
//!    names, against popular names of five letters or more; four-letter popular names
//!    (`live`, `mail`) only by one neighbouring-key substitution, and shorter ones (`aol`,
//!    `msn`) only when nothing but their suffix was mistyped;
//! 6. domains of more than one label before the suffix (`mail.gmial.com`) keep their labels;
//!    only their top-level domain is corrected.
//!
//! Ties go to the more popular domain, in the order of [`POPULAR`].

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// Popular mailbox domains, most used first (the order breaks ties).
const POPULAR: &[&str] = &[
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "icloud.com",
    "aol.com",
    "live.com",
    "msn.com",
    "comcast.net",
    "me.com",
    "mac.com",
    "googlemail.com",
    "ymail.com",
    "rocketmail.com",
    "protonmail.com",
    "proton.me",
    "att.net",
    "sbcglobal.net",
    "verizon.net",
    "bellsouth.net",
    "charter.net",
    "cox.net",
    "earthlink.net",
    "juno.com",
    "mail.com",
    "gmx.com",
    "gmx.net",
    "gmx.de",
    "web.de",
    "t-online.de",
    "yahoo.co.uk",
    "yahoo.co.in",
    "yahoo.ca",
    "yahoo.fr",
    "yahoo.de",
    "yahoo.es",
    "yahoo.it",
    "yahoo.com.br",
    "hotmail.co.uk",
    "hotmail.fr",
    "hotmail.de",
    "hotmail.es",
    "hotmail.it",
    "live.co.uk",
    "live.ca",
    "outlook.fr",
    "outlook.de",
    "btinternet.com",
    "virginmedia.com",
    "sky.com",
    "shaw.ca",
    "rogers.com",
    "sympatico.ca",
    "orange.fr",
    "free.fr",
    "laposte.net",
    "wanadoo.fr",
    "libero.it",
    "yandex.ru",
    "mail.ru",
    "qq.com",
    "163.com",
    "naver.com",
    "bigpond.com",
    "optusnet.com.au",
    "zoho.com",
    "fastmail.com",
    "hey.com",
];

/// Real domains one or two edits from a popular one, which must never be "corrected".
const KNOWN_REAL: &[&str] = &[
    "email.com",
    "mail.de",
    "mail.co.uk",
    "gmx.at",
    "gmx.ch",
    "gmx.fr",
    "gmx.us",
    "hotmail.ca",
    "hotmail.be",
    "hotmail.nl",
    "hotmail.se",
    "hotmail.co.jp",
    "live.fr",
    "live.de",
    "live.nl",
    "live.it",
    "live.be",
    "live.se",
    "live.dk",
    "live.no",
    "live.com.au",
    "outlook.es",
    "outlook.it",
    "outlook.be",
    "outlook.jp",
    "outlook.com.au",
    "outlook.co.uk",
    "yahoo.co.jp",
    "yahoo.com.au",
    "yahoo.com.mx",
    "yahoo.com.ar",
    "yahoo.com.sg",
    "yahoo.gr",
    "yahoo.ie",
    "yahoo.se",
    "yahoo.dk",
    "yahoo.no",
    "yahoo.pl",
    "yahoo.in",
    "icloud.net",
    "aim.com",
    "love.com",
    "lycos.com",
    "inbox.com",
    "hushmail.com",
    "tutanota.com",
    "tuta.io",
    "pm.me",
    "msn.co.uk",
    "att.com",
    "cox.com",
    "cs.com",
    "nc.rr.com",
    "mindspring.com",
    "netzero.net",
    "frontier.com",
    "windstream.net",
    "optonline.net",
    "centurylink.net",
    "q.com",
    "ntlworld.com",
    "talktalk.net",
    "tiscali.co.uk",
    "blueyonder.co.uk",
    "o2.pl",
    "wp.pl",
    "seznam.cz",
    "yandex.com",
    "ya.ru",
    "bk.ru",
    "list.ru",
    "inbox.ru",
    "126.com",
    "sina.com",
    "daum.net",
    "hanmail.net",
    "rediffmail.com",
    "uol.com.br",
    "bol.com.br",
    "terra.com.br",
    "telus.net",
    "videotron.ca",
    "xtra.co.nz",
    "iinet.net.au",
];

/// Delegated generic top-level domains, beside the ISO 3166-1 country codes: the legacy
/// ones and the newer ones that are one or two edits from `com`, `net` or `org` or common
/// in mail (a mistyped TLD is only corrected when it is none of these).
const KNOWN_TLDS: &[&str] = &[
    "com",
    "net",
    "org",
    "edu",
    "gov",
    "mil",
    "int",
    "info",
    "biz",
    "name",
    "pro",
    "aero",
    "coop",
    "museum",
    "mobi",
    "asia",
    "tel",
    "travel",
    "jobs",
    "cat",
    "post",
    "xxx",
    "arpa",
    "uk",
    "eu",
    "ac",
    "su",
    "app",
    "dev",
    "xyz",
    "online",
    "site",
    "shop",
    "store",
    "tech",
    "club",
    "top",
    "vip",
    "live",
    "blog",
    "cloud",
    "email",
    "news",
    "space",
    "website",
    "art",
    "life",
    "world",
    "today",
    "design",
    "agency",
    "media",
    "studio",
    "group",
    "global",
    "digital",
    "solutions",
    "services",
    "company",
    "team",
    "network",
    "ltd",
    "llc",
    "inc",
    "cam",
    "moe",
    "mom",
    "new",
    "nrw",
    "bet",
    "ngo",
    "ong",
    "one",
    "ooo",
    "ovh",
    "onl",
    "ink",
    "win",
    "fun",
    "link",
    "click",
    "page",
    "zone",
    "mail",
    "icu",
    "cool",
    "cab",
    "car",
    "cars",
    "nyc",
    "ceo",
    "cfd",
    "ski",
    "web",
    "bio",
    "eco",
    "gay",
    "gmbh",
];

/// The top-level domains a mistyped one is corrected to, most used first.
const COMMON_TLDS: &[&str] = &["com", "net", "org", "edu", "gov", "info", "biz"];

/// Domains that never get a suggestion.
static NEVER: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| POPULAR.iter().chain(KNOWN_REAL).copied().collect());

/// The popular domains whose first label has five letters or more, by suffix, in popularity
/// order: the candidates of fuzzy matching.
static BY_SUFFIX: LazyLock<HashMap<&'static str, Vec<Candidate>>> = LazyLock::new(|| {
    let mut map: HashMap<&str, Vec<Candidate>> = HashMap::new();
    for &domain in POPULAR {
        if let Some((name, suffix)) = domain.split_once('.')
            && name.len() >= 5
        {
            map.entry(suffix).or_default().push(Candidate {
                name,
                domain,
                letters: Letters::of(name),
            });
        }
    }
    map
});

/// A popular domain as a fuzzy-matching candidate.
struct Candidate {
    name: &'static str,
    domain: &'static str,
    letters: Letters,
}

/// How many times each byte class occurs in a name: a lower bound on the edit distance
/// between two names that costs far less than the distance itself.
#[derive(Clone, Copy)]
struct Letters([u8; 38]);

impl Letters {
    fn of(name: &str) -> Letters {
        let mut counts = [0u8; 38];
        for b in name.bytes() {
            let i = match b {
                b'a'..=b'z' => usize::from(b - b'a'),
                b'0'..=b'9' => 26 + usize::from(b - b'0'),
                b'-' => 36,
                _ => 37,
            };
            counts[i] = counts[i].saturating_add(1);
        }
        Letters(counts)
    }

    /// Each substitution changes two counts by one, an insertion or deletion one count, a
    /// transposition none: half the summed difference, rounded up, is at most the distance.
    fn lower_bound(&self, other: &Letters) -> usize {
        let diff: usize = self
            .0
            .iter()
            .zip(&other.0)
            .map(|(a, b)| usize::from(a.abs_diff(*b)))
            .sum();
        diff.div_ceil(2)
    }
}

/// The domain that `domain` (lower-case ASCII, already valid) looks like a mistyping of, if
/// any.
pub(crate) fn suggest(domain: &str) -> Option<Cow<'static, str>> {
    if NEVER.contains(domain) {
        return None;
    }
    // A dot in the wrong place: `gmailc.om`, `gmai.lcom`.
    if let Some(hit) = POPULAR.iter().find(|p| {
        p.len() == domain.len()
            && p.bytes()
                .filter(|&b| b != b'.')
                .eq(domain.bytes().filter(|&b| b != b'.'))
    }) {
        return Some(Cow::Borrowed(hit));
    }
    let (name, suffix) = domain.split_once('.')?;
    let fixed_suffix = fix_suffix(suffix);
    let suffix_fixed = fixed_suffix.as_deref().unwrap_or(suffix);

    // Only the suffix was mistyped: `aol.con` → `aol.com`.
    if let Some(hit) = POPULAR
        .iter()
        .find(|p| p.split_once('.') == Some((name, suffix_fixed)))
        .filter(|_| fixed_suffix.is_some())
    {
        return Some(Cow::Borrowed(hit));
    }
    // A popular provider with a suffix one edit from its own: `gmail.co` → `gmail.com`.
    if let Some(hit) = POPULAR.iter().find(|p| {
        p.split_once('.').is_some_and(|(n, s)| {
            n == name && s != suffix_fixed && strsim::osa_distance(s, suffix_fixed) <= 1
        })
    }) {
        return Some(Cow::Borrowed(hit));
    }
    let fuzzy = fuzzy_name(name, suffix_fixed);
    if let Some(hit) = fuzzy {
        return Some(Cow::Borrowed(hit));
    }
    // Any other domain with a mistyped top-level domain: `acme.cmo` → `acme.com`.
    fixed_suffix.map(|s| Cow::Owned(format!("{name}.{s}")))
}

/// The popular domain with suffix `suffix` whose name `name` looks like a mistyping of.
fn fuzzy_name(name: &str, suffix: &str) -> Option<&'static str> {
    let name_len = name.chars().count();
    if name_len < 4 {
        return None;
    }
    // Four-letter popular names (`live`, `mail`): one neighbouring-key substitution only.
    if name_len == 4
        && let Some(hit) = POPULAR.iter().find(|p| {
            p.split_once('.').is_some_and(|(n, s)| {
                s == suffix && n.len() == 4 && n != name && keyboard_distance(name, n) <= 0.5
            })
        })
    {
        return Some(hit);
    }
    let max = if name_len >= 7 { 2 } else { 1 };
    let letters = Letters::of(name);
    let mut best: Option<(usize, &'static str)> = None;
    for c in BY_SUFFIX.get(suffix)? {
        // Cheap filters before the edit distance.
        if c.name == name
            || c.name.len().abs_diff(name.len()) > max
            || c.letters.lower_bound(&letters) > max
        {
            continue;
        }
        let d = strsim::osa_distance(name, c.name);
        if d <= max && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, c.domain));
        }
    }
    best.map(|(_, p)| p)
}

/// The corrected suffix when the last label of `suffix` is not a delegated top-level domain
/// and is close to a common one (see the module docs).
fn fix_suffix(suffix: &str) -> Option<String> {
    let (head, tld) = match suffix.rsplit_once('.') {
        Some((h, t)) => (Some(h), t),
        None => (None, suffix),
    };
    if tld.len() < 2 || KNOWN_TLDS.contains(&tld) || is_country_code(tld) {
        return None;
    }
    let mut best: Option<(f32, &str)> = None;
    for &common in COMMON_TLDS {
        let d = keyboard_distance(tld, common);
        if d <= 1.0 && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, common));
        }
    }
    let fixed = best?.1;
    Some(match head {
        Some(h) => format!("{h}.{fixed}"),
        None => fixed.to_owned(),
    })
}

/// Whether a two-letter label is an ISO 3166-1 country code (and so a country-code TLD).
fn is_country_code(tld: &str) -> bool {
    tld.len() == 2 && rust_iso3166::from_alpha2(&tld.to_ascii_uppercase()).is_some()
}

/// The rows of a QWERTY keyboard, for [`keyboard_distance`].
const KEY_ROWS: [&[u8]; 4] = [b"1234567890", b"qwertyuiop", b"asdfghjkl", b"zxcvbnm"];

/// Whether two keys touch on a QWERTY keyboard (same row, next to each other, or the rows
/// above or below at the same or next position).
fn adjacent_keys(a: u8, b: u8) -> bool {
    let pos = |c: u8| {
        KEY_ROWS
            .iter()
            .enumerate()
            .find_map(|(r, row)| row.iter().position(|&k| k == c).map(|i| (r, i)))
    };
    match (pos(a), pos(b)) {
        (Some((ra, ia)), Some((rb, ib))) => {
            let (ia, ib) = (ia as isize, ib as isize);
            if ra == rb {
                ia.abs_diff(ib) == 1
            } else if ra.abs_diff(rb) == 1 {
                // Lower rows are shifted right by about half a key.
                let shift = if rb > ra { ib - ia } else { ia - ib };
                shift == 0 || shift == -1
            } else {
                false
            }
        }
        _ => false,
    }
}

/// Optimal string alignment distance where substituting a neighbouring key costs half.
fn keyboard_distance(a: &str, b: &str) -> f32 {
    let a = a.as_bytes();
    let b = b.as_bytes();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0f32; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i as f32;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j as f32;
    }
    for i in 1..=n {
        for j in 1..=m {
            let sub = if a[i - 1] == b[j - 1] {
                0.0
            } else if adjacent_keys(a[i - 1], b[j - 1]) {
                0.5
            } else {
                1.0
            };
            let mut v = (d[i - 1][j] + 1.0)
                .min(d[i][j - 1] + 1.0)
                .min(d[i - 1][j - 1] + sub);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1.0);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_examples() {
        let s = |d: &str| suggest(d).map(Cow::into_owned);
        assert_eq!(s("gmial.com").as_deref(), Some("gmail.com"));
        assert_eq!(s("hotmial.con").as_deref(), Some("hotmail.com"));
        assert_eq!(s("yaho.com").as_deref(), Some("yahoo.com"));
        assert_eq!(s("aol.con").as_deref(), Some("aol.com"));
        assert_eq!(s("yahoo.co.uk"), None);
        assert_eq!(s("yahooo.co.uk").as_deref(), Some("yahoo.co.uk"));
        assert_eq!(s("acme.nry").as_deref(), Some("acme.net"));
        assert_eq!(s("acme.cmo").as_deref(), Some("acme.com"));
        assert_eq!(s("acme.co"), None);
        assert_eq!(s("acme.cam"), None);
        assert_eq!(s("gmail.co").as_deref(), Some("gmail.com"));
        assert_eq!(s("gmailc.om").as_deref(), Some("gmail.com"));
    }

    #[test]
    fn never_for_listed_real_domains() {
        for d in POPULAR.iter().chain(KNOWN_REAL) {
            assert_eq!(suggest(d), None, "{d}");
        }
        for d in POPULAR.iter().chain(KNOWN_REAL) {
            let tld = d.rsplit('.').next().unwrap();
            assert!(fix_suffix(tld).is_none(), "{d}");
        }
    }

    #[test]
    fn lists_are_lower_case_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for d in POPULAR.iter().chain(KNOWN_REAL) {
            assert_eq!(*d, d.to_ascii_lowercase());
            assert!(seen.insert(d), "duplicate {d}");
        }
    }
}
