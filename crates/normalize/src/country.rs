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

/// Country lookup key -> alpha-2.
static COUNTRIES: LazyLock<HashMap<String, &'static str>> = LazyLock::new(|| {
    let mut map: HashMap<String, &'static str> = HashMap::new();
    let mut clash: Vec<String> = Vec::new();
    let mut k = String::new();
    for c in rust_iso3166::ALL {
        map.insert(c.alpha2.to_ascii_lowercase(), c.alpha2);
        map.insert(c.alpha3.to_ascii_lowercase(), c.alpha2);
        for name in [c.name, c.name.split(" (").next().unwrap_or(c.name)] {
            lookup_key(name, &mut k);
            if let Some(prev) = map.insert(k.clone(), c.alpha2)
                && prev != c.alpha2
            {
                clash.push(k.clone());
            }
        }
    }
    // A shortened name shared by two countries ("Korea") is no name of either.
    for k in clash {
        map.remove(&k);
    }
    for line in include_str!("../data/country_aliases.tsv")
        .lines()
        .skip_while(|l| l.starts_with('#'))
        .skip(1)
    {
        if let Some((alias, code)) = line.split_once('\t') {
            lookup_key(alias, &mut k);
            let code = rust_iso3166::from_alpha2(code.trim())
                .map(|c| c.alpha2)
                .expect("alias table holds a known code");
            map.insert(k.clone(), code);
        }
    }
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
    let mut k = String::with_capacity(t.len());
    lookup_key(t, &mut k);
    COUNTRIES.get(&k).copied()
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
        assert!(COUNTRIES.len() > 700);
        assert_eq!(country_code("England"), Some("GB"));
        assert_eq!(country_code("the Netherlands"), Some("NL"));
        assert_eq!(country_code("Korea"), Some("KR"));
        assert_eq!(region_code("US", "Calif"), Some("CA"));
    }
}
