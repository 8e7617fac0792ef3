//! Countries to ISO 3166-1 alpha-2 ([`Country`]) and regions to ISO 3166-2 subdivision codes
//! ([`Region`]), from the `rust_iso3166` tables plus our own alias tables.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::normalizer::{Context, Normalizer, Outcome, keep};
use crate::text::{clean_text, text_key};

/// The lookup key of a country or region name: the text key without spaces and a leading
/// "the".
fn lookup_key(s: &str, out: &mut String) {
    let mut k = String::with_capacity(s.len());
    text_key(s, &mut k);
    let k = k.strip_prefix("the ").unwrap_or(&k);
    out.clear();
    out.extend(k.chars().filter(|&c| c != ' '));
}

/// The lookup key of a country name: the text key with the words that names write in more
/// than one way made one (`St`/`Saint`, `Rep`/`Republic`, `Is`/`Islands`), the words that
/// come and go between forms (`the`, `of`, `and`) dropped, and no spaces.
fn country_key(s: &str, out: &mut String) {
    let mut k = String::with_capacity(s.len());
    text_key(s, &mut k);
    out.clear();
    for word in k.split(' ') {
        let word = match word {
            "the" | "of" | "and" | "" => continue,
            "saint" | "st" | "sankt" | "san" => "st",
            "sainte" | "ste" => "ste",
            "rep" | "repub" | "republic" => "republic",
            "dem" | "democratic" => "democratic",
            "is" | "isl" | "isls" | "island" | "islands" => "islands",
            "peoples" | "people" | "pdr" => "peoples",
            "fed" | "federated" => "federated",
            w => w,
        };
        out.push_str(word);
    }
}

/// The other ways a country name can be read: `X, Y` as `Y X` (the inverted ISO form
/// `Congo, The Democratic Republic of the`), `X (Y)` as `X`, `Y X`, `X Y` and `Y` (`Holy
/// See (Vatican City State)`), each passed to `f`.
fn name_variants(name: &str, f: impl FnMut(&str)) {
    name_variants_with(name, false, f);
}

/// [`name_variants`], and with `parts`, each part of a name of several places (`Saint Kitts
/// and Nevis`, `Saint Helena, Ascension and Tristan da Cunha`).
fn name_variants_with(name: &str, parts: bool, mut f: impl FnMut(&str)) {
    if parts && name.contains(" and ") && !name.contains('(') {
        for part in name.split(" and ").flat_map(|p| p.split(", ")) {
            f(part);
        }
    }
    if let Some((head, rest)) = name.split_once(" (") {
        let inner = rest.split_once(')').map_or(rest, |(inner, _)| inner);
        f(head);
        f(inner);
        f(&format!("{inner} {head}"));
        f(&format!("{head} {inner}"));
    }
    if let Some((head, tail)) = name.rsplit_once(',') {
        let tail = tail.trim();
        if !tail.is_empty() {
            f(&format!("{tail} {}", head.trim()));
        }
    }
}

/// How a key got into [`COUNTRIES`]: a code or a name as written wins over a derived form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    /// An alpha code, a name as ISO or our alias table writes it.
    Name,
    /// A form derived from a name by [`name_variants`].
    Variant,
}

/// Country lookup key -> alpha-2, from the codes, Debian iso-codes' ISO 3166-1 short,
/// official and common names, `rust_iso3166`'s names, our alias table and the variants of
/// all of them ([`name_variants`]).
static COUNTRIES: LazyLock<HashMap<String, &'static str>> = LazyLock::new(|| {
    let mut map: HashMap<String, (&'static str, Rank)> = HashMap::new();
    let mut clash: Vec<String> = Vec::new();
    let mut k = String::new();
    let mut add = |map: &mut HashMap<String, (&'static str, Rank)>,
                   name: &str,
                   code: &'static str,
                   rank: Rank,
                   k: &mut String| {
        country_key(name, k);
        if k.is_empty() {
            return;
        }
        match map.get(k.as_str()) {
            Some(&(_, prev_rank)) if prev_rank < rank => {}
            Some(&(prev, prev_rank)) if prev_rank == rank && prev != code => {
                clash.push(k.clone());
            }
            _ => {
                map.insert(k.clone(), (code, rank));
            }
        }
    };
    let iso: Vec<(&'static str, Vec<&'static str>)> = include_str!("../data/iso_3166-1.tsv")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.split('\t');
            let code = rust_iso3166::from_alpha2(cols.next()?.trim())?.alpha2;
            Some((code, cols.filter(|c| !c.is_empty()).collect()))
        })
        .collect();
    let aliases: Vec<(&'static str, &'static str)> = include_str!("../data/country_aliases.tsv")
        .lines()
        .skip_while(|l| l.starts_with('#'))
        .skip(1)
        .filter_map(|line| {
            let (alias, code) = line.split_once('\t')?;
            let code = rust_iso3166::from_alpha2(code.trim())
                .map(|c| c.alpha2)
                .expect("alias table holds a known code");
            Some((alias, code))
        })
        .collect();
    for (code, names) in &iso {
        for name in names {
            add(&mut map, name, code, Rank::Name, &mut k);
        }
    }
    for c in rust_iso3166::ALL {
        add(&mut map, c.name, c.alpha2, Rank::Name, &mut k);
    }
    for (code, names) in &iso {
        for name in names {
            name_variants_with(name, true, |v| {
                add(&mut map, v, code, Rank::Variant, &mut k);
            });
        }
    }
    for c in rust_iso3166::ALL {
        name_variants(c.name, |v| {
            add(&mut map, v, c.alpha2, Rank::Variant, &mut k)
        });
    }
    // A derived form shared by two countries ("Virgin Islands") is no name of either.
    for k in clash {
        if map.get(&k).is_some_and(|&(_, rank)| rank == Rank::Variant) {
            map.remove(&k);
        }
    }
    let mut map: HashMap<String, &'static str> =
        map.into_iter().map(|(k, (code, _))| (k, code)).collect();
    for (alias, code) in aliases {
        country_key(alias, &mut k);
        map.insert(k.clone(), code);
    }
    // Codes are looked up first, by `country_code`.
    map
});

/// The alpha-2 code of a country name, alias, alpha-2, alpha-3 or numeric code, or `None`.
///
/// ```
/// use mergetag_normalize::country_code;
/// assert_eq!(country_code("U.S.A."), Some("US"));
/// assert_eq!(country_code("Deutschland"), Some("DE"));
/// assert_eq!(country_code("826"), Some("GB"));
/// assert_eq!(country_code("fra"), Some("FR"));
/// assert_eq!(country_code("Narnia"), None);
/// ```
pub fn country_code(input: &str) -> Option<&'static str> {
    let mut cleaned = String::new();
    clean_text(input, &mut cleaned);
    let t = cleaned.as_str();
    if !t.is_empty() && t.len() <= 3 && t.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse::<u16>()
            .ok()
            .and_then(rust_iso3166::from_numeric)
            .map(|c| c.alpha2);
    }
    // "n/a" is not Namibia.
    if t.len() > 80 || t.contains('/') {
        return None;
    }
    if (2..=3).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphabetic()) {
        let upper = t.to_ascii_uppercase();
        let code = match upper.len() {
            2 => rust_iso3166::from_alpha2(&upper),
            _ => rust_iso3166::from_alpha3(&upper),
        };
        if let Some(c) = code {
            return Some(c.alpha2);
        }
    }
    let mut k = String::with_capacity(t.len());
    country_key(t, &mut k);
    if let Some(&code) = COUNTRIES.get(&k) {
        return Some(code);
    }
    let mut found = None;
    name_variants(t, |v| {
        if found.is_none() {
            country_key(v, &mut k);
            found = COUNTRIES.get(&k).copied();
        }
    });
    found
}

/// Countries as ISO 3166-1 alpha-2 codes (`US`, `GB`), from names in everyday variants,
/// alpha-3 and numeric codes.
///
/// ```
/// use mergetag_normalize::{normalize_to_string, Country};
/// assert_eq!(normalize_to_string(&Country::new(), "United States of America").0, "US");
/// assert_eq!(normalize_to_string(&Country::new(), "Ivory Coast").0, "CI");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Country {
    _private: (),
}

impl Country {
    /// The country normalizer.
    pub fn new() -> Country {
        Country { _private: () }
    }
}

impl Normalizer for Country {
    fn normalize(&self, input: &str, out: &mut String) -> Outcome {
        match country_code(input) {
            Some(code) => {
                out.clear();
                out.push_str(code);
                Outcome::compare(input, out)
            }
            None => keep(
                input,
                out,
                Outcome::Invalid("unknown country; use a name or an ISO 3166-1 code".into()),
            ),
        }
    }
}

/// Our own region aliases: (country, alias, code) for abbreviations the ISO tables lack.
const REGION_ALIASES: &[(&str, &str, &str)] = &[
    ("CA", "Que", "QC"),
    ("CA", "PQ", "QC"),
    ("CA", "Quebec", "QC"),
    ("CA", "Ont", "ON"),
    ("CA", "BC", "BC"),
    ("CA", "B.C.", "BC"),
    ("CA", "Alta", "AB"),
    ("CA", "Sask", "SK"),
    ("CA", "Man", "MB"),
    ("CA", "Nfld", "NL"),
    ("CA", "Newfoundland", "NL"),
    ("CA", "NF", "NL"),
    ("CA", "PEI", "PE"),
    ("CA", "P.E.I.", "PE"),
    ("CA", "NS", "NS"),
    ("CA", "N.S.", "NS"),
    ("CA", "NB", "NB"),
    ("CA", "N.B.", "NB"),
    ("CA", "Yukon Territory", "YT"),
    ("CA", "NWT", "NT"),
    ("AU", "Vic", "VIC"),
    ("AU", "Tas", "TAS"),
    ("AU", "Qld", "QLD"),
    ("AU", "Queensland", "QLD"),
    ("AU", "NSW", "NSW"),
    ("AU", "ACT", "ACT"),
    ("AU", "Canberra", "ACT"),
    ("AU", "WA", "WA"),
    ("AU", "SA", "SA"),
    ("AU", "NT", "NT"),
    ("GB", "England", "ENG"),
    ("GB", "Scotland", "SCT"),
    ("GB", "Wales", "WLS"),
    ("GB", "Cymru", "WLS"),
    ("GB", "Northern Ireland", "NIR"),
    ("GB", "NI", "NIR"),
];

/// (country, region lookup key) -> region code without the country prefix.
static REGIONS: LazyLock<HashMap<(&'static str, String), &'static str>> = LazyLock::new(|| {
    let mut map = HashMap::new();
    let mut k = String::new();
    for c in rust_iso3166::ALL {
        for s in c.subdivisions().unwrap_or(&[]) {
            let code = s.code.split_once('-').map_or(s.code, |(_, r)| r);
            map.insert((c.alpha2, code.to_ascii_lowercase()), code);
            lookup_key(s.name, &mut k);
            map.entry((c.alpha2, k.clone())).or_insert(code);
        }
    }
    for line in include_str!("../data/states.tsv").lines().skip(1) {
        if let Some((name, code)) = line.split_once('\t') {
            lookup_key(name, &mut k);
            let code = code.trim();
            if let Some(s) = rust_iso3166::iso3166_2::from_code(&format!("US-{code}")) {
                map.insert(("US", k.clone()), s.region_code);
            }
        }
    }
    for &(country, alias, code) in REGION_ALIASES {
        lookup_key(alias, &mut k);
        map.insert((country, k.clone()), code);
    }
    map
});

/// The ISO 3166-2 region code (without the country prefix) of a region name or abbreviation in
/// `country` (alpha-2), or `None`.
///
/// ```
/// use mergetag_normalize::region_code;
/// assert_eq!(region_code("US", "Illinois"), Some("IL"));
/// assert_eq!(region_code("US", "US-IL"), Some("IL"));
/// assert_eq!(region_code("CA", "Québec"), Some("QC"));
/// assert_eq!(region_code("AU", "Victoria"), Some("VIC"));
/// assert_eq!(region_code("GB", "Scotland"), Some("SCT"));
/// ```
pub fn region_code(country: &str, input: &str) -> Option<&'static str> {
    let country = country_code(country)?;
    let mut cleaned = String::new();
    clean_text(input, &mut cleaned);
    let t = cleaned.as_str();
    if t.len() > 80 {
        return None;
    }
    let mut k = String::with_capacity(t.len());
    lookup_key(t, &mut k);
    let lc = country.to_ascii_lowercase();
    let k = k
        .strip_prefix(&lc)
        .filter(|r| input.contains('-') && !r.is_empty())
        .map(str::to_owned)
        .unwrap_or(k);
    REGIONS.get(&(country, k)).copied()
}

/// Regions, states and provinces as ISO 3166-2 codes without the country prefix (`IL`, `ON`),
/// in the record's country ([`Context::country`]) or a default country (the region
/// normalizer's own, else [`Context::default_country`]). Without a country, or
/// in a country whose regions are not known, the value gets the safe text cleanup only.
///
/// ```
/// use mergetag_normalize::{Context, Normalizer, Region};
/// let mut out = String::new();
/// Region::new().normalize_in("ontario", Context::with_country(Some("CA")), &mut out);
/// assert_eq!(out, "ON");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Region {
    default_country: Option<&'static str>,
}

impl Region {
    /// A region normalizer without a default country.
    pub fn new() -> Region {
        Region::default()
    }

    /// Sets the country of records that have none.
    ///
    /// # Errors
    ///
    /// When `country` is not a known country.
    pub fn default_country(mut self, country: &str) -> crate::Result<Region> {
        self.default_country =
            Some(country_code(country).ok_or_else(|| crate::Error::Invalid {
                path: "default_country".into(),
                message: format!(
                    "unknown country {country:?}; use an ISO 3166-1 code such as \"US\""
                ),
            })?);
        Ok(self)
    }
}

impl Normalizer for Region {
    fn normalize(&self, input: &str, out: &mut String) -> Outcome {
        self.normalize_in(input, Context::default(), out)
    }

    fn normalize_in(&self, input: &str, cx: Context<'_>, out: &mut String) -> Outcome {
        let country = cx
            .country
            .and_then(country_code)
            .or(self.default_country)
            .or_else(|| cx.default_country.and_then(country_code));
        let Some(country) = country else {
            clean_text(input, out);
            return Outcome::compare(input, out);
        };
        if let Some(code) = region_code(country, input) {
            out.clear();
            out.push_str(code);
            return Outcome::compare(input, out);
        }
        // Regions are checked strictly where our tables cover them well.
        if matches!(country, "US" | "CA" | "AU" | "GB") {
            keep(
                input,
                out,
                Outcome::Invalid(format!("unknown region of {country}")),
            )
        } else {
            clean_text(input, out);
            Outcome::compare(input, out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_hold_known_codes() {
        assert!(COUNTRIES.len() > 600);
        assert_eq!(country_code("England"), Some("GB"));
        assert_eq!(country_code("the Netherlands"), Some("NL"));
        assert_eq!(country_code("Korea"), Some("KR"));
        assert_eq!(region_code("US", "Calif"), Some("CA"));
    }
}
