//! Postal addresses: US street lines in USPS Publication 28 form ([`UsStreet`]), a whole US
//! address from one free-text line ([`UsAddress::parse`]), and postcodes ([`PostalCode`]).
//!
//! The Pub 28 tables (street suffixes, secondary unit designators, directionals, states) are
//! embedded from `data/` (see its README for their source and licence).

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::country::{country_code, region_code};
use crate::normalizer::{Context, Normalizer, Outcome, keep};
use crate::text::clean_text;

fn table(tsv: &'static str) -> HashMap<&'static str, &'static str> {
    tsv.lines()
        .skip(1)
        .filter_map(|l| l.split_once('\t'))
        .map(|(v, s)| (v.trim(), s.trim()))
        .collect()
}

static SUFFIXES: LazyLock<HashMap<&str, &str>> =
    LazyLock::new(|| table(include_str!("../data/street_suffixes.tsv")));
static UNITS: LazyLock<HashMap<&str, &str>> = LazyLock::new(|| {
    let mut t = table(include_str!("../data/unit_designators.tsv"));
    // Common spellings the publication's table lists only in full or abbreviated form.
    for (v, s) in [
        ("APT", "APT"),
        ("STE", "STE"),
        ("BLDG", "BLDG"),
        ("FL", "FL"),
        ("RM", "RM"),
        ("DEPT", "DEPT"),
        ("OFC", "OFC"),
        ("PH", "PH"),
        ("SPC", "SPC"),
        ("TRLR", "TRLR"),
        ("BSMT", "BSMT"),
        ("LBBY", "LBBY"),
        ("LOWR", "LOWR"),
        ("UPPR", "UPPR"),
        ("HNGR", "HNGR"),
        ("FRNT", "FRNT"),
        ("NO", "#"),
    ] {
        t.entry(v).or_insert(s);
    }
    t
});
static DIRECTIONALS: LazyLock<HashMap<&str, &str>> = LazyLock::new(|| {
    let mut t = table(include_str!("../data/directionals.tsv"));
    for d in ["N", "S", "E", "W", "NE", "NW", "SE", "SW"] {
        t.insert(d, d);
    }
    t
});

/// Whether a unit designator needs no number after it (`BSMT`, `FRNT`, `LOBBY`...).
fn unit_needs_no_id(std: &str) -> bool {
    matches!(
        std,
        "BSMT" | "FRNT" | "LBBY" | "LOWR" | "OFC" | "PH" | "REAR" | "SIDE" | "UPPR" | "UPPER"
    )
}

/// Street types that end a street and almost never start a city name (`AVE`, `ST`, `DR`),
/// unlike the place words Publication 28 also lists as suffixes (`LAKE`, `PARK`, `BEACH`).
const STRONG_SUFFIXES: &[&str] = &[
    "ALY", "AVE", "BLVD", "BYP", "CIR", "CIRS", "CRES", "CSWY", "CT", "CTS", "CV", "DR", "DRS",
    "EXPY", "FWY", "HWY", "LN", "LOOP", "PATH", "PIKE", "PKWY", "PL", "PLZ", "RD", "RDS", "ROW",
    "RTE", "SKWY", "ST", "STS", "TER", "TPKE", "TRL", "WALK", "WAY", "WAYS",
];

/// Street types after which a number belongs to the street (`COUNTY ROAD 3668`, `US HWY 1`,
/// `ROUTE 66`).
const ROUTE_SUFFIXES: &[&str] = &["HWY", "RTE", "RD", "FWY", "EXPY", "PIKE", "TPKE", "SKWY"];

/// Whether a token is one of Publication 28's initials written with periods (`P.O.`, `U.S.`,
/// `N.W.`): single letters, each but perhaps the last followed by a period.
fn is_initials(word: &str) -> bool {
    let b = word.as_bytes();
    b.len() >= 3
        && b.chunks(2)
            .all(|c| c[0].is_ascii_alphabetic() && c.get(1).is_none_or(|&p| p == b'.'))
}

/// The tokens of an address line: upper case, initials joined (`P.O.` -> `PO`, `U.S.` ->
/// `US`, `N.W.` -> `NW`), `.`, `;`, `:`, `"`, `(` and `)` word breaks, `#` a token of its own,
/// and with `commas`, each comma a token `,` (else a word break).
fn address_tokens(input: &str, commas: bool) -> Vec<String> {
    let mut cleaned = String::with_capacity(input.len());
    clean_text(input, &mut cleaned);
    let upper: String = cleaned.chars().flat_map(char::to_uppercase).collect();
    let mut toks = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, toks: &mut Vec<String>| {
        if !cur.is_empty() {
            toks.push(std::mem::take(cur));
        }
    };
    for word in upper.split_whitespace() {
        for (i, piece) in word.split(',').enumerate() {
            if i > 0 && commas {
                toks.push(",".to_owned());
            }
            if is_initials(piece) {
                toks.push(piece.replace('.', ""));
                continue;
            }
            for c in piece.chars() {
                match c {
                    // A control character separates words, as a space does: dropped later,
                    // it would join what the next pass splits (`CR\0` read as a unit id).
                    '.' | ';' | ':' | '"' | '(' | ')' => flush(&mut cur, &mut toks),
                    c if c.is_control() => flush(&mut cur, &mut toks),
                    '#' => {
                        flush(&mut cur, &mut toks);
                        // `##`, `# #`, `#,#`: one number sign, as the output writes it.
                        let n = toks.len();
                        let after_sign = toks.last().map(String::as_str) == Some("#")
                            || (n >= 2 && toks[n - 1] == "," && toks[n - 2] == "#");
                        if !after_sign {
                            toks.push("#".to_owned());
                        }
                    }
                    c => cur.push(c),
                }
            }
            flush(&mut cur, &mut toks);
        }
    }
    toks
}

/// Whether a token can be the number of a unit or box (`4B`, `1200`, `C`, `A-1`).
fn is_id(t: &str) -> bool {
    t.bytes().any(|b| b.is_ascii_digit())
        || (t.chars().count() == 1 && t.chars().all(char::is_alphabetic))
}

/// Whether a token is a house number: it starts with a digit (`123`, `123A`, `123-125`), or
/// is a Wisconsin-style grid number (`N84W15787`).
fn is_house_number(t: &str) -> bool {
    let b = t.as_bytes();
    b.first().is_some_and(u8::is_ascii_digit)
        || (b.len() > 2 && b[0].is_ascii_alphabetic() && b[1].is_ascii_digit())
}

/// The digits of an ordinal (`3RD` -> `3`), or `None`.
fn ordinal(t: &str) -> Option<&str> {
    let digits = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &t[digits.len()..];
    // Ordinals count from 1 and are written without leading zeros: `0ST` is not one.
    (!digits.is_empty()
        && !digits.starts_with('0')
        && digits.bytes().all(|b| b.is_ascii_digit())
        && matches!(suffix, "ST" | "ND" | "RD" | "TH"))
    .then_some(digits)
}

fn is_floor(t: &str) -> bool {
    matches!(t, "FL" | "FLOOR" | "FLR")
}

/// A unit designator's standard form, with the spellings the table lacks.
fn unit_std(t: &str) -> Option<&'static str> {
    match t {
        "FLR" => Some("FL"),
        "STE" | "SUIT" => Some("STE"),
        _ => UNITS.get(t).copied(),
    }
}

/// A PO box, rural route or highway contract route at the start of `toks`: its Publication
/// 28 form (`PO BOX 9580`, `RR 1 BOX 54`, `HC 88 BOX 76E`) and how many tokens it takes.
fn box_street(toks: &[&str]) -> Option<(String, usize)> {
    let po = match toks {
        ["PO" | "POST", "BOX", ..] => Some(2),
        ["P", "O", "BOX", ..] | ["POST", "OFFICE", "BOX", ..] => Some(3),
        ["POB" | "POBOX" | "BOX", ..] => Some(1),
        _ => None,
    };
    if let Some(n) = po {
        let (id, m) = box_id(&toks[n..])?;
        return Some((format!("PO BOX {id}"), n + m));
    }
    let (kind, n) = match toks {
        ["RR" | "RFD", ..] => ("RR", 1),
        ["R", "R", ..] | ["RURAL", "ROUTE" | "RTE" | "RT", ..] => ("RR", 2),
        ["HC" | "HCR", ..] => ("HC", 1),
        ["HIGHWAY", "CONTRACT", "ROUTE", ..] => ("HC", 3),
        ["HIGHWAY", "CONTRACT", ..] | ["STAR", "ROUTE", ..] => ("HC", 2),
        _ => return None,
    };
    let (route, m) = box_id(&toks[n..])?;
    let mut line = format!("{kind} {route}");
    let mut used = n + m;
    if toks.get(used) == Some(&"BOX")
        && let Some((id, m)) = box_id(&toks[used + 1..])
    {
        line.push_str(" BOX ");
        line.push_str(id);
        used += 1 + m;
    }
    Some((line, used))
}

/// The number of a box or route, after an optional `#`, and how many tokens it takes.
fn box_id<'a>(toks: &[&'a str]) -> Option<(&'a str, usize)> {
    let skip = usize::from(matches!(toks.first(), Some(&"#" | &"NO")));
    let id = *toks.get(skip)?;
    is_id(id).then_some((id, skip + 1))
}

/// Whether a unit starts at `toks[i]`: `#`, a designator (`APT`, `SUITE`) with its number
/// when it needs one, or an ordinal floor (`3RD FLOOR`).
fn unit_starts(toks: &[&str], i: usize) -> bool {
    let Some(&t) = toks.get(i) else { return false };
    if t == "#" {
        return true;
    }
    if ordinal(t).is_some() && toks.get(i + 1).is_some_and(|f| is_floor(f)) {
        return true;
    }
    let Some(std) = unit_std(t) else { return false };
    let next = toks.get(i + 1).copied();
    match next {
        Some("#") => true,
        Some(n) if is_id(n) => true,
        _ => unit_needs_no_id(std) && (next.is_none() || t.len() <= 4 || t == "REAR"),
    }
}

/// Where the units starting at `toks[i]` end (`i` when there is none). With `commas`, a
/// comma between units is taken too.
fn units_end(toks: &[&str], mut i: usize, commas: bool) -> usize {
    loop {
        let at = if commas && toks.get(i) == Some(&",") {
            i + 1
        } else {
            i
        };
        if !unit_starts(toks, at) {
            return i;
        }
        i = at;
        let t = toks[i];
        if t == "#" {
            i += 1;
            while toks.get(i) == Some(&"#") {
                i += 1;
            }
            if toks.get(i).is_some_and(|n| is_id(n)) {
                i += 1;
            }
        } else if ordinal(t).is_some() {
            i += 2;
        } else {
            i += 1;
            if toks.get(i) == Some(&"#") {
                i += 1;
            }
            if toks.get(i).is_some_and(|n| is_id(n)) {
                i += 1;
            }
        }
    }
}

/// Writes the units of `toks` (as found by [`units_end`]) in Publication 28 form.
fn push_units(toks: &[&str], out: &mut String) {
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        i += 1;
        if t == "," || t == "#" && toks.get(i) == Some(&"#") {
            continue;
        }
        let word = if let Some(n) = ordinal(t).filter(|_| toks.get(i).is_some_and(|f| is_floor(f)))
        {
            i += 1;
            format!("FL {n}")
        } else if is_floor(t)
            && let Some(n) = toks.get(i).and_then(|n| ordinal(n))
        {
            i += 1;
            format!("FL {n}")
        } else if let Some(std) = unit_std(t) {
            // `APT # 4`, `STE ## 4`: the designator says it; the `#`s go.
            while toks.get(i) == Some(&"#") {
                i += 1;
            }
            std.to_owned()
        } else {
            t.to_owned()
        };
        // `# NO 4`: one number sign, however many ways it was written.
        if word == "#" && out.ends_with(" #") {
            continue;
        }
        out.push(' ');
        out.push_str(&word);
    }
}

/// Writes a US street line in Pub 28 form into `out` (cleared first): upper case, no
/// punctuation but `#`, `-` and `/`, suffixes, directionals and unit designators abbreviated,
/// PO boxes, rural routes and highway contract routes in their standard forms (`PO BOX 12`,
/// `RR 1 BOX 54`, `HC 88 BOX 76E`). Returns `false` when the line does not start like a
/// street address (no house number, or a box or route), in which case `out` holds the
/// upper-cased cleanup only (a box or route in its standard form).
///
/// ```
/// use mergetag_normalize::us_street;
/// let mut s = String::new();
/// us_street("123 north main street apartment 4b", &mut s);
/// assert_eq!(s, "123 N MAIN ST APT 4B");
/// us_street("500 W. Madison St., Suite #1200", &mut s);
/// assert_eq!(s, "500 W MADISON ST STE 1200");
/// us_street("42 Elm Ave #3", &mut s);
/// assert_eq!(s, "42 ELM AVE # 3");
/// us_street("100 Gold Street 3rd Floor", &mut s);
/// assert_eq!(s, "100 GOLD ST FL 3");
/// us_street("P.O. Box 9580", &mut s);
/// assert_eq!(s, "PO BOX 9580");
/// us_street("HCR 88 Box 76E", &mut s);
/// assert_eq!(s, "HC 88 BOX 76E");
/// ```
pub fn us_street(input: &str, out: &mut String) -> bool {
    let owned = address_tokens(input, false);
    let toks: Vec<&str> = owned.iter().map(String::as_str).collect();
    format_street(&toks, out)
}

/// [`us_street`] on tokens from [`address_tokens`] (without commas).
fn format_street(toks: &[&str], out: &mut String) -> bool {
    out.clear();
    if let Some((line, used)) = box_street(toks) {
        out.push_str(&line);
        push_units(&toks[used..], out);
        crate::text::nfc_in_place(out);
        return false;
    }
    let numbered = toks.first().is_some_and(|t| is_house_number(t));
    if !numbered || toks.len() < 2 {
        out.push_str(&toks.join(" "));
        crate::text::nfc_in_place(out);
        return false;
    }
    // Secondary unit: the first designator after the street name.
    let unit_at = (2..toks.len()).find(|&i| {
        let t = toks[i];
        t == "#"
            || (ordinal(t).is_some() && toks.get(i + 1).is_some_and(|f| is_floor(f)))
            || (unit_std(t).is_some()
                && (i + 1 < toks.len() || unit_std(t).is_some_and(unit_needs_no_id))
                && !SUFFIXES.contains_key(t))
    });
    let (street, unit) = toks.split_at(unit_at.unwrap_or(toks.len()));
    let mut words: Vec<&str> = street.to_vec();
    let n = words.len();
    // Pre-directional: after the number, when a street name follows.
    if (n >= 4 || (n == 3 && !SUFFIXES.contains_key(words[2])))
        && let Some(d) = DIRECTIONALS.get(words[1])
    {
        words[1] = d;
    }
    // Post-directional: the last word, after a name.
    let mut last = words.len() - 1;
    if last >= 3
        && let Some(d) = DIRECTIONALS.get(words[last])
    {
        words[last] = d;
        last -= 1;
    }
    // Suffix: the last word of the name (not the only word of the name).
    if last >= 2
        && let Some(s) = SUFFIXES.get(words[last])
    {
        words[last] = s;
    }
    out.push_str(&words.join(" "));
    push_units(unit, out);
    crate::text::nfc_in_place(out);
    true
}

/// Street lines: Pub 28 form for US addresses ([`us_street`]), the safe text cleanup for any
/// other country and for records whose country is unknown (a US rule is never applied abroad).
///
/// ```
/// use mergetag_normalize::{Context, Normalizer, UsStreet};
/// let mut out = String::new();
/// UsStreet::new().normalize_in("1600 Pennsylvania Avenue Northwest", Context::with_country(Some("US")), &mut out);
/// assert_eq!(out, "1600 PENNSYLVANIA AVE NW");
/// UsStreet::new().normalize_in("10  Downing Street", Context::with_country(Some("GB")), &mut out);
/// assert_eq!(out, "10 Downing Street");
/// ```
#[derive(Debug, Clone, Default)]
pub struct UsStreet {
    default_country: Option<&'static str>,
}

impl UsStreet {
    /// A street normalizer applying Pub 28 to records whose country is the US.
    pub fn new() -> UsStreet {
        UsStreet::default()
    }

    /// Sets the country of records that have none.
    ///
    /// # Errors
    ///
    /// When `country` is not a known country.
    pub fn default_country(mut self, country: &str) -> crate::Result<UsStreet> {
        self.default_country = Some(known_country(country)?);
        Ok(self)
    }
}

fn known_country(country: &str) -> crate::Result<&'static str> {
    country_code(country).ok_or_else(|| crate::Error::Invalid {
        path: "default_country".into(),
        message: format!("unknown country {country:?}; use an ISO 3166-1 code such as \"US\""),
    })
}

impl Normalizer for UsStreet {
    fn normalize(&self, input: &str, out: &mut String) -> Outcome {
        self.normalize_in(input, Context::default(), out)
    }

    fn normalize_in(&self, input: &str, cx: Context<'_>, out: &mut String) -> Outcome {
        let country = cx
            .country
            .and_then(country_code)
            .or(self.default_country)
            .or_else(|| cx.default_country.and_then(country_code));
        if country == Some("US") {
            us_street(input, out);
        } else {
            clean_text(input, out);
        }
        Outcome::compare(input, out)
    }
}

/// A US address read from one line of text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UsAddress {
    /// The street line in Pub 28 form.
    pub street: String,
    /// The city, upper case.
    pub city: Option<String>,
    /// The state code (`IL`).
    pub region: Option<String>,
    /// ZIP or ZIP+4.
    pub postal_code: Option<String>,
}

impl UsAddress {
    /// Reads a whole US address from one line: `street, city, state zip`. The commas may be
    /// left out (`123 main st springfield il 62704`) when the street ends in a suffix (`ST`,
    /// `AVENUE`...), optionally followed by a directional and a unit. Returns `None` when the
    /// line does not end in a state or a ZIP code, or when it is unclear where the street ends
    /// ([`UsAddress::read`] says why).
    ///
    /// ```
    /// use mergetag_normalize::UsAddress;
    /// let a = UsAddress::parse("123 north main street apartment 4b, springfield, illinois 62704").unwrap();
    /// assert_eq!(a.street, "123 N MAIN ST APT 4B");
    /// assert_eq!(a.city.as_deref(), Some("SPRINGFIELD"));
    /// assert_eq!(a.region.as_deref(), Some("IL"));
    /// assert_eq!(a.postal_code.as_deref(), Some("62704"));
    /// let b = UsAddress::parse("123 north main street apartment 4b springfield illinois 62704").unwrap();
    /// assert_eq!(a, b);
    /// ```
    pub fn parse(line: &str) -> Option<UsAddress> {
        UsAddress::read(line).ok()
    }

    /// As [`UsAddress::parse`], with the reason when the line cannot be read: an
    /// [`Outcome::Invalid`] (not a US address), or an [`Outcome::Ambiguous`] when, without
    /// commas, the street could end at more than one place and nothing tells which (`12
    /// forest park lake forest ...`: is the city `LAKE FOREST` or `FOREST`?). Never a guess.
    ///
    /// The line ends in a state (code or name) and/or a ZIP code, perhaps followed by `USA`
    /// or `United States`; a missing state is read from the ZIP code's first three digits.
    /// The city sits between the street and the state: after a PO box, rural route (`RR 1
    /// BOX 54`) or highway contract route (`HC 88 BOX 76E`), after the first comma (units
    /// after that comma, `2nd Fl.`, stay with the street), or, without commas, after the
    /// street suffix (with a route number, `COUNTY ROAD 3668`, a directional and units).
    /// When several suffixes could end the street, a street type that only streets use
    /// (`AVE`, `ST`, `CT`) wins over place words that cities share (`LAKE`, `PARK`), and a
    /// city never starts with `AVE` or `ST`; a whole-word directional before more words
    /// starts the city (`NORTH PALM BEACH`).
    ///
    /// # Errors
    ///
    /// The outcome, with a reason for a person.
    ///
    /// ```
    /// use mergetag_normalize::{Outcome, UsAddress};
    /// assert!(matches!(UsAddress::read("12 forest park lake forest il 60045"), Err(Outcome::Ambiguous(_))));
    /// assert!(UsAddress::read("12 forest park, lake forest, il 60045").is_ok());
    /// let a = UsAddress::read("232 Oak Ct Salt Lake City UT 84111").unwrap();
    /// assert_eq!(a.city.as_deref(), Some("SALT LAKE CITY"));
    /// let b = UsAddress::read("PO Box 9580 Rancho Santa Fe CA 92067 USA").unwrap();
    /// assert_eq!((b.street.as_str(), b.city.as_deref()), ("PO BOX 9580", Some("RANCHO SANTA FE")));
    /// ```
    pub fn read(line: &str) -> Result<UsAddress, Outcome> {
        let owned = address_tokens(line, true);
        let mut toks: Vec<&str> = owned.iter().map(String::as_str).collect();
        trim_commas(&mut toks);
        strip_country(&mut toks);
        let mut addr = UsAddress::default();
        if let Some(z) = toks.last().and_then(|t| us_zip(t).ok()) {
            addr.postal_code = Some(z);
            toks.pop();
            trim_commas(&mut toks);
            strip_country(&mut toks);
        }
        // The state: the longest run of trailing words that names one, with a word before it.
        for take in (1..=3.min(toks.len().saturating_sub(1))).rev() {
            let words = &toks[toks.len() - take..];
            if words.contains(&",") {
                continue;
            }
            if let Some(code) = region_code("US", &words.join(" ")) {
                addr.region = Some(code.to_owned());
                toks.truncate(toks.len() - take);
                break;
            }
        }
        trim_commas(&mut toks);
        if addr.region.is_none() {
            addr.region = addr
                .postal_code
                .as_deref()
                .and_then(zip_state)
                .map(str::to_owned);
        }
        if addr.region.is_none() && addr.postal_code.is_none() {
            return Err(Outcome::Invalid(
                "cannot read the address line as a US address: it does not end in a state or a ZIP code"
                    .into(),
            ));
        }
        let (street, city) = split_street_city(&toks)?;
        let street: Vec<&str> = street.iter().copied().filter(|&t| t != ",").collect();
        format_street(&street, &mut addr.street);
        let city: Vec<&str> = city.iter().copied().filter(|&t| t != ",").collect();
        if !city.is_empty() {
            addr.city = Some(city.join(" "));
        }
        Ok(addr)
    }
}

/// Drops trailing commas.
fn trim_commas(toks: &mut Vec<&str>) {
    while toks.last() == Some(&",") {
        toks.pop();
    }
}

/// Drops a trailing `USA`, `US`, `United States` or `United States of America` (and the
/// commas before it) when words remain before it.
fn strip_country(toks: &mut Vec<&str>) {
    let n = toks.len();
    let take = match &toks[..] {
        [.., "UNITED", "STATES", "OF", "AMERICA"] => 4,
        [.., "UNITED", "STATES"] => 2,
        [.., "USA" | "US" | "AMERICA"] => 1,
        _ => 0,
    };
    if take > 0 && n > take + 1 {
        toks.truncate(n - take);
        trim_commas(toks);
    }
}

/// The state of a ZIP code by its first three digits, or `None` for prefixes not in use.
fn zip_state(zip: &str) -> Option<&'static str> {
    let p: u16 = zip.get(..3)?.parse().ok()?;
    const RANGES: &[(u16, u16, &str)] = &[
        (5, 5, "NY"),
        (6, 7, "PR"),
        (8, 8, "VI"),
        (9, 9, "PR"),
        (10, 27, "MA"),
        (28, 29, "RI"),
        (30, 38, "NH"),
        (39, 49, "ME"),
        (50, 59, "VT"),
        (60, 69, "CT"),
        (70, 89, "NJ"),
        (90, 99, "AE"),
        (100, 149, "NY"),
        (150, 196, "PA"),
        (197, 199, "DE"),
        (200, 200, "DC"),
        (201, 201, "VA"),
        (202, 205, "DC"),
        (206, 219, "MD"),
        (220, 246, "VA"),
        (247, 268, "WV"),
        (270, 289, "NC"),
        (290, 299, "SC"),
        (300, 319, "GA"),
        (320, 339, "FL"),
        (340, 340, "AA"),
        (341, 349, "FL"),
        (350, 369, "AL"),
        (370, 385, "TN"),
        (386, 397, "MS"),
        (398, 399, "GA"),
        (400, 427, "KY"),
        (430, 459, "OH"),
        (460, 479, "IN"),
        (480, 499, "MI"),
        (500, 528, "IA"),
        (530, 549, "WI"),
        (550, 567, "MN"),
        (569, 569, "DC"),
        (570, 577, "SD"),
        (580, 588, "ND"),
        (590, 599, "MT"),
        (600, 629, "IL"),
        (630, 658, "MO"),
        (660, 679, "KS"),
        (680, 693, "NE"),
        (700, 715, "LA"),
        (716, 729, "AR"),
        (730, 732, "OK"),
        (733, 733, "TX"),
        (734, 749, "OK"),
        (750, 799, "TX"),
        (800, 816, "CO"),
        (820, 831, "WY"),
        (832, 838, "ID"),
        (840, 847, "UT"),
        (850, 865, "AZ"),
        (870, 884, "NM"),
        (885, 885, "TX"),
        (889, 898, "NV"),
        (900, 961, "CA"),
        (962, 966, "AP"),
        (967, 968, "HI"),
        (969, 969, "GU"),
        (970, 979, "OR"),
        (980, 994, "WA"),
        (995, 999, "AK"),
    ];
    RANGES
        .iter()
        .find(|&&(lo, hi, _)| (lo..=hi).contains(&p))
        .map(|&(_, _, st)| st)
}

/// Whether a city can start with this word: not with a number, a `#`, or a street type that
/// only streets use (`AVE`, `ST`, `DR`; not `CRESCENT`, as in Crescent City).
fn can_start_city(t: &str) -> bool {
    !(t == "#"
        || t.as_bytes().first().is_some_and(u8::is_ascii_digit)
        || (!matches!(
            t,
            "CRESCENT" | "TERRACE" | "PLAZA" | "MALL" | "WALK" | "PIKE" | "LOOP"
        ) && SUFFIXES.get(t).is_some_and(|s| STRONG_SUFFIXES.contains(s))))
}

/// Splits the tokens before the state into the street and the city. The city sits between
/// the street (its suffix, route number, directional and units) and the state: after a PO box
/// or route, after the first comma, or, without commas, after the one street suffix that can
/// end the street. `Err` when there is no street, or when it could end at more than one place
/// and nothing tells which.
fn split_street_city<'a, 'b>(
    toks: &'b [&'a str],
) -> Result<(&'b [&'a str], &'b [&'a str]), Outcome> {
    let no_street = || {
        Outcome::Invalid(
            "cannot read the address line as a US address: it does not start with a house number or a PO box"
                .into(),
        )
    };
    // Leading parts without a street (a building or company name) when a later part has one.
    let mut start = 0;
    while box_street(&toks[start..]).is_none()
        && !toks.get(start).is_some_and(|t| is_house_number(t))
    {
        match toks[start..].iter().position(|&t| t == ",") {
            Some(c) if toks[start + c + 1..].contains(&",") => start += c + 1,
            _ => {
                start = 0;
                break;
            }
        }
    }
    let toks = &toks[start..];
    if toks.is_empty() {
        return Err(no_street());
    }
    let cut = |end: usize| {
        let end = units_end(toks, end, true);
        Ok((&toks[..end], &toks[end..]))
    };
    if let Some((_, used)) = box_street(toks) {
        return cut(used);
    }
    if let Some(comma) = toks.iter().position(|&t| t == ",") {
        return cut(comma);
    }
    if !is_house_number(toks[0]) {
        return Err(no_street());
    }
    let n = toks.len();
    // (end of street, whether it ends at a street type that only streets use)
    let mut ends: Vec<(usize, bool)> = Vec::new();
    for i in 1..n {
        let Some(&std) = SUFFIXES.get(toks[i]) else {
            continue;
        };
        let route_number = ROUTE_SUFFIXES.contains(&std)
            && toks
                .get(i + 1)
                .is_some_and(|t| t.bytes().all(|b| b.is_ascii_digit()));
        if i < 2 && !route_number || matches!(toks[i], "FORT" | "FT" | "MOUNT" | "MT" | "PORT") {
            continue;
        }
        let mut end = i + 1 + usize::from(route_number);
        // A post-directional, unless it is a whole word starting the city (North Palm Beach).
        if let Some(&d) = toks.get(end)
            && DIRECTIONALS.contains_key(d)
            && !(matches!(d, "NORTH" | "SOUTH" | "EAST" | "WEST") && end + 1 < n)
        {
            end += 1;
        }
        end = units_end(toks, end, false);
        if end < n {
            ends.push((end, STRONG_SUFFIXES.contains(&std)));
        }
    }
    if ends.is_empty() {
        // No suffix (`123 Broadway Apt 4 New York`): the street ends after its unit.
        if let Some(i) = (2..n).find(|&i| unit_starts(toks, i)) {
            let end = units_end(toks, i, false);
            if end < n {
                ends.push((end, false));
            }
        }
    }
    let plausible: Vec<(usize, bool)> = ends
        .iter()
        .copied()
        .filter(|&(end, _)| can_start_city(toks[end]))
        .collect();
    let ends = if plausible.is_empty() {
        ends
    } else {
        plausible
    };
    let strong: Vec<usize> = ends.iter().filter(|e| e.1).map(|e| e.0).collect();
    let end = match (&ends[..], &strong[..]) {
        ([(end, _)], _) | (_, [end]) => *end,
        ([], _) => {
            return Err(Outcome::Invalid(
                "cannot tell where the street ends and the city begins (no street suffix); put a comma after the street"
                    .into(),
            ));
        }
        _ => {
            return Err(Outcome::Ambiguous(
                "the street could end at more than one word (street names and cities can contain words like PARK or LAKE); put a comma after the street"
                    .into(),
            ));
        }
    };
    Ok((&toks[..end], &toks[end..]))
}

/// A US ZIP or ZIP+4 in standard form.
fn us_zip(s: &str) -> Result<String, String> {
    let digits: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("US ZIP code must be 5 digits or ZIP+4".into());
    }
    match digits.len() {
        5 => Ok(digits),
        9 => Ok(format!("{}-{}", &digits[..5], &digits[5..])),
        3 | 4 => Err(format!(
            "US ZIP code has {} digits; a leading zero may have been lost",
            digits.len()
        )),
        _ => Err("US ZIP code must be 5 digits or ZIP+4".into()),
    }
}

/// Writes the postcode of `country` (alpha-2) in its standard form into `out` (cleared
/// first). Countries with known formats (US, CA, GB, DE, FR, AU, NL) are checked and
/// formatted; others get the safe cleanup only (trimmed, spaces collapsed, upper case).
///
/// # Errors
///
/// When the postcode does not fit the country's format; `out` is then unspecified.
///
/// ```
/// use mergetag_normalize::postal_code;
/// let mut s = String::new();
/// for (c, input, want) in [("US", "627041234", "62704-1234"), ("CA", "k1a0b1", "K1A 0B1"),
///                          ("GB", "sw1a1aa", "SW1A 1AA"), ("NL", "1234ab", "1234 AB"),
///                          ("DE", " 10115 ", "10115"), ("AU", "2000", "2000")] {
///     postal_code(c, input, &mut s).unwrap();
///     assert_eq!(s, want);
/// }
/// assert!(postal_code("US", "2134", &mut s).is_err());
/// ```
pub fn postal_code(country: &str, input: &str, out: &mut String) -> Result<(), String> {
    out.clear();
    let compact: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect();
    let b = compact.as_bytes();
    let digits = |n: usize| b.len() == n && b.iter().all(u8::is_ascii_digit);
    match country {
        "US" => {
            *out = us_zip(input.trim())?;
        }
        "CA" => {
            let ok = b.len() == 6
                && b.iter().enumerate().all(|(i, c)| {
                    if i % 2 == 0 {
                        c.is_ascii_uppercase()
                    } else {
                        c.is_ascii_digit()
                    }
                });
            if !ok {
                return Err("Canadian postal code must look like K1A 0B1".into());
            }
            out.push_str(&compact[..3]);
            out.push(' ');
            out.push_str(&compact[3..]);
        }
        "GB" => {
            let n = b.len();
            let ok = (5..=7).contains(&n)
                && b.iter().all(u8::is_ascii_alphanumeric)
                && b[0].is_ascii_uppercase()
                && b[n - 3].is_ascii_digit()
                && b[n - 2].is_ascii_uppercase()
                && b[n - 1].is_ascii_uppercase();
            if !ok {
                return Err("UK postcode must look like SW1A 1AA".into());
            }
            out.push_str(&compact[..n - 3]);
            out.push(' ');
            out.push_str(&compact[n - 3..]);
        }
        "DE" | "FR" => {
            if !digits(5) {
                return Err(format!("{country} postcode must be 5 digits"));
            }
            out.push_str(&compact);
        }
        "AU" => {
            if !digits(4) {
                return Err("Australian postcode must be 4 digits".into());
            }
            out.push_str(&compact);
        }
        "NL" => {
            let ok = b.len() == 6
                && b[..4].iter().all(u8::is_ascii_digit)
                && b[0] != b'0'
                && b[4..].iter().all(u8::is_ascii_uppercase);
            if !ok {
                return Err("Dutch postcode must look like 1234 AB".into());
            }
            out.push_str(&compact[..4]);
            out.push(' ');
            out.push_str(&compact[4..]);
        }
        _ => {
            clean_text(input, out);
            *out = out.to_uppercase();
            crate::text::nfc_in_place(out);
        }
    }
    Ok(())
}

/// Postcodes in the format of the record's country ([`Context::country`]) or a default
/// country (the normalizer's own, else [`Context::default_country`]); see [`postal_code`]. Without a country, the safe cleanup only.
#[derive(Debug, Clone, Default)]
pub struct PostalCode {
    default_country: Option<&'static str>,
}

impl PostalCode {
    /// A postcode normalizer without a default country.
    pub fn new() -> PostalCode {
        PostalCode::default()
    }

    /// Sets the country of records that have none.
    ///
    /// # Errors
    ///
    /// When `country` is not a known country.
    pub fn default_country(mut self, country: &str) -> crate::Result<PostalCode> {
        self.default_country = Some(known_country(country)?);
        Ok(self)
    }
}

impl Normalizer for PostalCode {
    fn normalize(&self, input: &str, out: &mut String) -> Outcome {
        self.normalize_in(input, Context::default(), out)
    }

    fn normalize_in(&self, input: &str, cx: Context<'_>, out: &mut String) -> Outcome {
        let country = cx
            .country
            .and_then(country_code)
            .or(self.default_country)
            .or_else(|| cx.default_country.and_then(country_code))
            .unwrap_or("");
        match postal_code(country, input, out) {
            Ok(()) => Outcome::compare(input, out),
            Err(r) => keep(input, out, Outcome::Invalid(r)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_designator_drops_every_number_sign_after_it() {
        // Found by the fuzzer: `SUIT # #` gave `STE #`, then `STE`.
        let mut once = String::new();
        us_street("4 # SUIT ## NCRC", &mut once);
        assert_eq!(once, "4 # STE NCRC");
        let mut twice = String::new();
        us_street(&once, &mut twice);
        assert_eq!(twice, once);
        // And `# NO` is one number sign.
        us_street("4 # !NC4 # NO CCAC", &mut once);
        assert_eq!(once, "4 # !NC4 # CCAC");
        us_street(&once, &mut twice);
        assert_eq!(twice, once);
    }

    #[test]
    fn streets() {
        let mut s = String::new();
        us_street("1 North St", &mut s);
        assert_eq!(s, "1 NORTH ST");
        us_street("PO Box 12", &mut s);
        assert_eq!(s, "PO BOX 12");
        us_street("77 Massachusetts Ave Rear", &mut s);
        assert_eq!(s, "77 MASSACHUSETTS AVE REAR");
    }
}
