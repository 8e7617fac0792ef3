//! Dates and times: one parser ([`DateParser`]) for the spellings found in customer data, and
//! normalizers to ISO 8601 dates ([`DateNormalizer`]) and RFC 3339 UTC instants.

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat,
    TimeZone, Utc,
};
use mergetag_model::Value;
use serde::{Deserialize, Serialize};

use crate::normalizer::{Context, Normalizer, Outcome, keep};

/// The order of day, month and year in numeric dates such as `03/04/2021`, a per-source
/// setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DateOrder {
    /// Month, day, year (US): `03/04/2021` is 4 March.
    Mdy,
    /// Day, month, year (most of the world): `03/04/2021` is 3 April.
    Dmy,
    /// Year, month, day: `21/03/04` is 4 March 2021.
    Ymd,
}

/// What the parser read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// A calendar date.
    Date(NaiveDate),
    /// An instant.
    DateTime(DateTime<Utc>),
}

/// Why a date could not be read. The message is for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateError {
    /// The text is not a date.
    Invalid(String),
    /// The text has two valid readings and the date order is not set.
    Ambiguous(String),
}

/// Parses dates and times: ISO 8601 / RFC 3339, compact `YYYYMMDD`, numeric dates with `/`,
/// `.`, `-` or space separators, English month names and abbreviations, ordinals
/// (`3rd May 2001`), weekday names (ignored), 12- and 24-hour times with an optional offset,
/// Excel serial dates (`44197`, `44197.5`), and Unix epoch seconds (9–10 digits) and
/// milliseconds (12–13 digits).
///
/// ```
/// use chrono::NaiveDate;
/// use mergetag_normalize::{DateError, DateOrder, DateParser, Parsed};
///
/// let p = DateParser::new();
/// let d = |y, m, d| Parsed::Date(NaiveDate::from_ymd_opt(y, m, d).unwrap());
/// assert_eq!(p.parse("3rd May 2001"), Ok(d(2001, 5, 3)));
/// assert_eq!(p.parse("20010503"), Ok(d(2001, 5, 3)));
/// assert_eq!(p.parse("25/12/2020"), Ok(d(2020, 12, 25)));
/// assert!(matches!(p.parse("03/04/2021"), Err(DateError::Ambiguous(_))));
/// assert_eq!(p.clone().order(Some(DateOrder::Mdy)).parse("03/04/2021"), Ok(d(2021, 3, 4)));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DateParser {
    order: Option<DateOrder>,
    strict_order: bool,
    pivot: u8,
    zone: SourceZone,
}

/// The time zone of a source's local times (times written without an offset).
///
/// ```
/// use mergetag_normalize::{DateError, DateParser, Parsed, SourceZone};
///
/// let berlin = DateParser::new().time_zone(SourceZone::parse("Europe/Berlin").unwrap());
/// let utc = |s: &str| match berlin.parse(s) {
///     Ok(Parsed::DateTime(dt)) => dt.to_rfc3339(),
///     other => panic!("{other:?}"),
/// };
/// assert_eq!(utc("2024-01-15 12:00"), "2024-01-15T11:00:00+00:00"); // CET, UTC+1
/// assert_eq!(utc("2024-07-15 12:00"), "2024-07-15T10:00:00+00:00"); // CEST, UTC+2
/// // 02:30 on the night the clocks go back happens twice: not a guess.
/// assert!(matches!(berlin.parse("2024-10-27 02:30"), Err(DateError::Ambiguous(_))));
/// // 02:30 on the night they go forward never happens.
/// assert!(matches!(berlin.parse("2024-03-31 02:30"), Err(DateError::Invalid(_))));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceZone {
    /// A fixed offset from UTC, the same all year.
    Offset(FixedOffset),
    /// An IANA time zone (`America/Chicago`), with its daylight-saving rules (cargo feature
    /// `tz`, on by default).
    #[cfg(feature = "tz")]
    Named(chrono_tz::Tz),
}

impl SourceZone {
    /// UTC.
    #[cfg(feature = "tz")]
    pub const UTC: SourceZone = SourceZone::Named(chrono_tz::UTC);
    /// UTC.
    #[cfg(not(feature = "tz"))]
    pub const UTC: SourceZone = match FixedOffset::east_opt(0) {
        Some(utc) => SourceZone::Offset(utc),
        None => unreachable!(),
    };

    /// Reads `UTC`/`Z`, an offset (`+02:00`, `-0500`, `UTC+2`) or an IANA zone name
    /// (`Europe/Berlin`, any letter case; with the cargo feature `tz`, on by default).
    pub fn parse(s: &str) -> Option<SourceZone> {
        let t = s.trim();
        if matches!(t.to_ascii_lowercase().as_str(), "utc" | "z" | "gmt") {
            return Some(SourceZone::UTC);
        }
        if let Some(o) = parse_offset(t) {
            return Some(SourceZone::Offset(o));
        }
        Self::named(t)
    }

    #[cfg(not(feature = "tz"))]
    fn named(_: &str) -> Option<SourceZone> {
        None
    }

    #[cfg(feature = "tz")]
    fn named(t: &str) -> Option<SourceZone> {
        t.parse::<chrono_tz::Tz>()
            .ok()
            .or_else(|| {
                chrono_tz::TZ_VARIANTS
                    .iter()
                    .find(|z| z.name().eq_ignore_ascii_case(t))
                    .copied()
            })
            .map(SourceZone::Named)
    }

    /// The instant of a local time in this zone. A time that happens twice (the clocks go
    /// back) is ambiguous and one that never happens (they go forward) invalid: both say so.
    pub fn instant(&self, local: NaiveDateTime) -> Result<DateTime<Utc>, DateError> {
        use chrono::LocalResult;
        let result = match self {
            SourceZone::Offset(o) => o.from_local_datetime(&local).map(|d| d.with_timezone(&Utc)),
            #[cfg(feature = "tz")]
            SourceZone::Named(z) => z.from_local_datetime(&local).map(|d| d.with_timezone(&Utc)),
        };
        match result {
            LocalResult::Single(dt) => Ok(dt),
            LocalResult::Ambiguous(a, b) => Err(DateError::Ambiguous(format!(
                "{local} happens twice in {self} (the clocks go back): {} or {}; write the time \
                 with an offset",
                a.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                b.to_rfc3339_opts(SecondsFormat::AutoSi, true)
            ))),
            LocalResult::None => Err(DateError::Invalid(format!(
                "{local} does not exist in {self} (the clocks go forward past it)"
            ))),
        }
    }

    /// The local date of an instant in this zone.
    pub fn local_date(&self, dt: DateTime<Utc>) -> NaiveDate {
        match self {
            SourceZone::Offset(o) => dt.with_timezone(o).date_naive(),
            #[cfg(feature = "tz")]
            SourceZone::Named(z) => dt.with_timezone(z).date_naive(),
        }
    }
}

impl std::fmt::Display for SourceZone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceZone::Offset(o) => write!(f, "UTC{o}"),
            #[cfg(feature = "tz")]
            SourceZone::Named(z) => f.write_str(z.name()),
        }
    }
}

impl Default for DateParser {
    fn default() -> Self {
        DateParser::new()
    }
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn month_name(tok: &str) -> Option<u32> {
    let t = tok.trim_end_matches('.');
    if t.len() < 3 {
        return None;
    }
    if t == "sept" {
        return Some(9);
    }
    MONTHS
        .iter()
        .position(|m| m.starts_with(t))
        .map(|i| i as u32 + 1)
}

fn is_weekday(tok: &str) -> bool {
    const DAYS: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let t = tok.trim_end_matches('.');
    t.len() >= 3
        && DAYS
            .iter()
            .any(|d| d.starts_with(t) || (t == "tues" || t == "thur" || t == "thurs"))
}

#[derive(Debug, Clone, Copy)]
enum Tok {
    Num(u32, usize),
    Month(u32),
}

impl DateParser {
    /// A parser with the date order unknown, a two-digit-year pivot of 50 (`00`–`49` are
    /// 2000–2049, `50`–`99` are 1950–1999) and times without an offset read in UTC.
    pub fn new() -> DateParser {
        DateParser {
            order: None,
            strict_order: false,
            pivot: 50,
            zone: SourceZone::UTC,
        }
    }

    /// Sets the order of numeric dates; `None` (the default) reports both readings as
    /// ambiguous when both are valid.
    pub fn order(mut self, order: Option<DateOrder>) -> DateParser {
        self.order = order;
        self
    }

    /// Refuses (as invalid) a numeric date that is impossible in the configured order but
    /// valid in the other (`25-09-2003` under month-day-year). By default such a date is read
    /// in the other order, and the normalizer reports it changed with a reason saying so.
    pub fn strict_order(mut self, strict: bool) -> DateParser {
        self.strict_order = strict;
        self
    }

    /// Sets the two-digit-year pivot (at most 100): `yy < pivot` is `20yy`, else `19yy`.
    pub fn pivot(mut self, pivot: u8) -> DateParser {
        self.pivot = pivot.min(100);
        self
    }

    /// Sets a fixed offset for the source's local times (times written without an offset).
    pub fn offset(mut self, offset: FixedOffset) -> DateParser {
        self.zone = SourceZone::Offset(offset);
        self
    }

    /// Sets the time zone of the source's local times, with its daylight-saving rules when it
    /// is an IANA zone.
    pub fn time_zone(mut self, zone: SourceZone) -> DateParser {
        self.zone = zone;
        self
    }

    fn year(&self, n: u32, len: usize) -> Option<i32> {
        match len {
            1 | 2 => Some(if n < u32::from(self.pivot) {
                2000 + n as i32
            } else {
                1900 + n as i32
            }),
            4 if (1000..=9999).contains(&n) => Some(n as i32),
            _ => None,
        }
    }

    /// Reads `input`.
    ///
    /// # Errors
    ///
    /// [`DateError::Ambiguous`] when the date order is unknown and both readings are valid;
    /// [`DateError::Invalid`] when the text is not a date.
    pub fn parse(&self, input: &str) -> Result<Parsed, DateError> {
        self.parse_noting(input).map(|(p, _)| p)
    }

    /// [`DateParser::parse`], with a note when the day and month were read in the other
    /// order than the configured one (see [`DateParser::strict_order`]).
    ///
    /// # Errors
    ///
    /// As [`DateParser::parse`].
    pub fn parse_noting(&self, input: &str) -> Result<(Parsed, Option<String>), DateError> {
        let s = input.trim();
        let invalid = || DateError::Invalid(format!("cannot read {s:?} as a date"));
        if s.is_empty() {
            return Err(DateError::Invalid("date is empty".into()));
        }
        if s.len() > 64 {
            return Err(DateError::Invalid("date is too long".into()));
        }
        if let Some(p) = self.numeric(s) {
            return p.map(|p| (p, None));
        }
        if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
            return Ok((Parsed::DateTime(dt.with_timezone(&Utc)), None));
        }
        let lower = s.to_ascii_lowercase();
        let (date_part, time_part) = split_time(&lower);
        let (date, note) = self.date(date_part, s)?;
        match time_part {
            None => Ok((Parsed::Date(date), note)),
            Some(t) => {
                let (time, offset) = parse_time(t).ok_or_else(invalid)?;
                let local = NaiveDateTime::new(date, time);
                let zone = offset.map_or(self.zone, SourceZone::Offset);
                Ok((Parsed::DateTime(zone.instant(local)?), note))
            }
        }
    }

    /// Digits only (or an Excel serial with a fraction): compact dates, serials, epochs.
    fn numeric(&self, s: &str) -> Option<Result<Parsed, DateError>> {
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => (i, Some(f)),
            _ => (s, None),
        };
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let invalid = || Err(DateError::Invalid(format!("cannot read {s:?} as a date")));
        let n: u64 = int.parse().ok()?;
        Some(match (int.len(), frac) {
            (8, None) => {
                let (y, m, d) = ((n / 10000) as i32, (n / 100 % 100) as u32, (n % 100) as u32);
                match NaiveDate::from_ymd_opt(y, m, d) {
                    Some(d) if y >= 1000 => Ok(Parsed::Date(d)),
                    _ => invalid(),
                }
            }
            (4, None) if (1800..=2200).contains(&n) => Err(DateError::Invalid(format!(
                "{s:?} looks like a year alone, not a date"
            ))),
            (1..=5, _) => {
                // Excel's 1900 date system, with its fictitious 29 February 1900 (serial 60).
                if n == 0 || n == 60 {
                    return Some(invalid());
                }
                let base =
                    NaiveDate::from_ymd_opt(1899, 12, if n < 60 { 31 } else { 30 }).expect("valid");
                let date = base + Duration::days(n as i64);
                match frac {
                    None => Ok(Parsed::Date(date)),
                    Some(f) => {
                        let frac: f64 = format!("0.{f}").parse().unwrap_or(0.0);
                        let secs = (frac * 86_400.0).round() as i64;
                        let local = date.and_time(NaiveTime::MIN) + Duration::seconds(secs);
                        self.zone.instant(local).map(Parsed::DateTime)
                    }
                }
            }
            (9 | 10, None) => DateTime::from_timestamp(n as i64, 0)
                .map(Parsed::DateTime)
                .map_or_else(invalid, Ok),
            (12 | 13, None) => DateTime::from_timestamp_millis(n as i64)
                .map(Parsed::DateTime)
                .map_or_else(invalid, Ok),
            _ => invalid(),
        })
    }

    fn date(&self, part: &str, original: &str) -> Result<(NaiveDate, Option<String>), DateError> {
        let invalid = || DateError::Invalid(format!("cannot read {original:?} as a date"));
        let mut toks: Vec<Tok> = Vec::with_capacity(3);
        for raw in part
            .split(|c: char| c.is_whitespace() || matches!(c, '/' | '.' | '-' | ',' | '\''))
            .flat_map(compact_runs)
        {
            if raw.is_empty() || raw == "of" || raw == "the" || is_weekday(raw) {
                continue;
            }
            let digits = raw.trim_end_matches(|c: char| c.is_ascii_alphabetic());
            let suffix = &raw[digits.len()..];
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                if !(suffix.is_empty() || matches!(suffix, "st" | "nd" | "rd" | "th"))
                    || digits.len() > 4
                {
                    return Err(invalid());
                }
                toks.push(Tok::Num(
                    digits.parse().map_err(|_| invalid())?,
                    digits.len(),
                ));
            } else if let Some(m) = month_name(raw) {
                toks.push(Tok::Month(m));
            } else {
                return Err(invalid());
            }
            if toks.len() > 3 {
                return Err(invalid());
            }
        }
        let ymd = |y: Option<i32>, m: u32, d: u32| y.and_then(|y| NaiveDate::from_ymd_opt(y, m, d));
        let plain = |d: Option<NaiveDate>| d.map(|d| (d, None)).ok_or_else(invalid);
        match toks.as_slice() {
            // A month name: the numbers are the day and the year.
            [Tok::Month(m), Tok::Num(a, la), Tok::Num(b, lb)]
            | [Tok::Num(a, la), Tok::Month(m), Tok::Num(b, lb)] => {
                plain(ymd(self.year(*b, *lb), *m, *a).or_else(|| {
                    if *la == 4 {
                        ymd(self.year(*a, *la), *m, *b)
                    } else {
                        None
                    }
                }))
            }
            [Tok::Num(a, la), Tok::Num(b, lb), Tok::Num(c, lc)] => {
                if *la == 4 {
                    return plain(ymd(self.year(*a, *la), *b, *c));
                }
                if *lb > 2 {
                    return Err(invalid());
                }
                if self.order == Some(DateOrder::Ymd) {
                    return plain(ymd(self.year(*a, *la), *b, *c));
                }
                let year = self.year(*c, *lc);
                let mdy = ymd(year, *a, *b);
                let dmy = ymd(year, *b, *a);
                // Impossible in the configured order but valid in the other: read swapped
                // (and say so), unless the order is strict.
                let swapped = |other: Option<NaiveDate>, said: &str, read: &str| match other
                    .filter(|_| !self.strict_order)
                {
                    Some(d) => Ok((
                        d,
                        Some(format!(
                            "the day and month were swapped: {} is not a valid {said} date, so it was read as {read}",
                            original.trim()
                        )),
                    )),
                    None => Err(invalid()),
                };
                match self.order {
                    Some(DateOrder::Mdy) => match mdy {
                        Some(d) => Ok((d, None)),
                        None => swapped(dmy, "month-day-year", "day-month-year"),
                    },
                    Some(DateOrder::Dmy) => match dmy {
                        Some(d) => Ok((d, None)),
                        None => swapped(mdy, "day-month-year", "month-day-year"),
                    },
                    _ => match (mdy, dmy) {
                        (Some(x), Some(y)) if x == y => Ok((x, None)),
                        (Some(x), None) | (None, Some(x)) => Ok((x, None)),
                        (Some(x), Some(y)) => Err(DateError::Ambiguous(format!(
                            "ambiguous date: {} could be {} {} or {} {}; set the source's date order",
                            original.trim(),
                            y.day(),
                            MONTH_TITLES[y.month0() as usize],
                            x.day(),
                            MONTH_TITLES[x.month0() as usize]
                        ))),
                        (None, None) => Err(invalid()),
                    },
                }
            }
            _ => Err(invalid()),
        }
    }
}

/// Splits a compact date token at its digit-letter boundaries (`13nov2017` -> `13`, `nov`,
/// `2017`) when it has digits on both sides of letters or letters between digits; other
/// tokens (`13th`, `nov`) are kept whole.
fn compact_runs(raw: &str) -> Vec<&str> {
    let mut runs = Vec::new();
    let mut start = 0;
    let b = raw.as_bytes();
    for i in 1..b.len() {
        if b[i].is_ascii_digit() != b[i - 1].is_ascii_digit() {
            runs.push(&raw[start..i]);
            start = i;
        }
    }
    runs.push(&raw[start..]);
    let compact = runs.len() >= 3
        && runs
            .iter()
            .all(|r| r.bytes().all(|c| c.is_ascii_alphanumeric()))
        && runs.iter().any(|r| month_name(r).is_some());
    if compact { runs } else { vec![raw] }
}

const MONTH_TITLES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Splits `s` (lower-cased) at the start of a time (`hh:mm`), after a `t`, space or comma.
fn split_time(s: &str) -> (&str, Option<&str>) {
    let Some(colon) = s.find(':') else {
        return (s, None);
    };
    let b = s.as_bytes();
    let mut start = colon;
    while start > 0 && b[start - 1].is_ascii_digit() {
        start -= 1;
    }
    if start == 0 || colon - start > 2 || colon == start {
        return (s, None);
    }
    let date = s[..start].trim_end_matches(['t', ' ', ',']);
    (date, Some(&s[start..]))
}

/// `hh:mm[:ss[.fff]] [am|pm] [z|utc|gmt|±hh[:mm]]`.
fn parse_time(s: &str) -> Option<(NaiveTime, Option<FixedOffset>)> {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.'))
        .unwrap_or(s.len());
    let (clock, mut rest) = (&s[..end], s[end..].trim_start());
    let mut parts = clock.split(':');
    let mut h: u32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let (sec, nano) = match parts.next() {
        Some(sf) => {
            let (sec, frac) = sf.split_once('.').unwrap_or((sf, ""));
            let mut nano = 0u32;
            if !frac.is_empty() {
                let f = &frac[..frac.len().min(9)];
                nano = f.parse::<u32>().ok()? * 10u32.pow(9 - f.len() as u32);
            }
            (sec.parse::<u32>().ok()?, nano)
        }
        None => (0, 0),
    };
    if parts.next().is_some() {
        return None;
    }
    for (suffix, pm) in [("am", false), ("a.m.", false), ("pm", true), ("p.m.", true)] {
        if let Some(r) = rest.strip_prefix(suffix) {
            if !(1..=12).contains(&h) {
                return None;
            }
            h = h % 12 + if pm { 12 } else { 0 };
            rest = r.trim_start();
            break;
        }
    }
    let time = NaiveTime::from_hms_nano_opt(h, m, sec, nano)?;
    let offset = match rest {
        "" => None,
        "z" | "utc" | "gmt" => Some(FixedOffset::east_opt(0)?),
        r => Some(parse_offset(
            r.strip_prefix("utc").or(r.strip_prefix("gmt")).unwrap_or(r),
        )?),
    };
    Some((time, offset))
}

/// `+hh`, `+hhmm`, `+hh:mm` (or `-`).
pub(crate) fn parse_offset(s: &str) -> Option<FixedOffset> {
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = s[1..].chars().filter(|&c| c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (i32, i32) = match digits.len() {
        1 | 2 => (digits.parse().ok()?, 0),
        4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
        _ => return None,
    };
    if h > 14 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// What a [`DateNormalizer`] produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateKind {
    /// `YYYY-MM-DD` ([`Value::Date`]); a time is dropped (the date as written is kept).
    #[default]
    Date,
    /// RFC 3339 in UTC ([`Value::DateTime`]); a date alone is midnight in the source's time zone.
    DateTime,
}

/// Dates to `YYYY-MM-DD` or instants to RFC 3339 in UTC, through a [`DateParser`].
///
/// ```
/// use mergetag_normalize::{normalize_to_string, DateKind, DateNormalizer, DateParser};
/// let n = DateNormalizer::new(DateParser::new(), DateKind::DateTime);
/// assert_eq!(normalize_to_string(&n, "1700000000000").0, "2023-11-14T22:13:20Z");
/// assert_eq!(normalize_to_string(&n, "2024-01-02 03:04 PM -05:00").0, "2024-01-02T20:04:00Z");
/// ```
#[derive(Debug, Clone, Default)]
pub struct DateNormalizer {
    parser: DateParser,
    kind: DateKind,
}

impl DateNormalizer {
    /// A normalizer producing `kind` through `parser`.
    pub fn new(parser: DateParser, kind: DateKind) -> DateNormalizer {
        DateNormalizer { parser, kind }
    }

    /// The typed value of `input`, or why there is none.
    ///
    /// # Errors
    ///
    /// As [`DateParser::parse`].
    pub fn value(&self, input: &str) -> Result<Value, DateError> {
        self.value_noting(input).map(|(v, _)| v)
    }

    /// [`DateNormalizer::value`], with the note of [`DateParser::parse_noting`].
    fn value_noting(&self, input: &str) -> Result<(Value, Option<String>), DateError> {
        let (p, note) = self.parser.parse_noting(input)?;
        let year = match p {
            Parsed::Date(d) => d.year(),
            Parsed::DateTime(dt) => dt.year(),
        };
        if !(1000..=9999).contains(&year) {
            return Err(DateError::Invalid(format!(
                "year {year} is out of range (1000 to 9999)"
            )));
        }
        let value = match (self.kind, p) {
            (DateKind::Date, Parsed::Date(d)) => Value::Date(d),
            (DateKind::Date, Parsed::DateTime(dt)) => {
                // The date as written: keep the local date when the text had a time.
                Value::Date(self.parser.zone.local_date(dt))
            }
            (DateKind::DateTime, Parsed::DateTime(dt)) => Value::DateTime(dt),
            (DateKind::DateTime, Parsed::Date(d)) => {
                Value::DateTime(self.parser.zone.instant(d.and_time(NaiveTime::MIN))?)
            }
        };
        Ok((value, note))
    }
}

fn format_value(v: &Value, out: &mut String) {
    use std::fmt::Write;
    out.clear();
    match v {
        Value::Date(d) => {
            let _ = write!(out, "{}", d.format("%Y-%m-%d"));
        }
        Value::DateTime(dt) => out.push_str(&dt.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        _ => {}
    }
}

impl Normalizer for DateNormalizer {
    fn normalize(&self, input: &str, out: &mut String) -> Outcome {
        match self.value_noting(input) {
            Ok((v, note)) => {
                format_value(&v, out);
                match note {
                    Some(note) => Outcome::Corrected(note),
                    None => Outcome::compare(input, out),
                }
            }
            Err(DateError::Invalid(r)) => keep(input, out, Outcome::Invalid(r)),
            Err(DateError::Ambiguous(r)) => keep(input, out, Outcome::Ambiguous(r)),
        }
    }

    fn normalize_value(&self, value: &Value, _cx: Context<'_>) -> Option<(Value, Outcome)> {
        let text = match value {
            Value::Text(t) => t.clone(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Date(d) => match self.kind {
                DateKind::Date => return Some((value.clone(), Outcome::Unchanged)),
                DateKind::DateTime => d.format("%Y-%m-%d").to_string(),
            },
            Value::DateTime(dt) => match self.kind {
                DateKind::DateTime => return Some((value.clone(), Outcome::Unchanged)),
                DateKind::Date => dt.to_rfc3339(),
            },
            _ => return None,
        };
        Some(match self.value_noting(&text) {
            Ok((v, Some(note))) => (v, Outcome::Corrected(note)),
            Ok((v, None)) => (v, Outcome::Changed),
            Err(DateError::Invalid(r)) => (value.clone(), Outcome::Invalid(r)),
            Err(DateError::Ambiguous(r)) => (value.clone(), Outcome::Ambiguous(r)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> String {
        let n = DateNormalizer::default();
        let mut out = String::new();
        let o = n.normalize(s, &mut out);
        if o.is_flagged() { format!("{o}") } else { out }
    }

    #[test]
    fn a_date_impossible_in_the_configured_order_is_read_swapped_and_says_so() {
        let n = DateNormalizer::new(
            DateParser::new().order(Some(DateOrder::Mdy)),
            DateKind::Date,
        );
        let mut out = String::new();
        let o = n.normalize("25-09-2003", &mut out);
        assert_eq!(out, "2003-09-25");
        assert_eq!(o.kind(), "changed");
        assert!(o.reason().is_some_and(|r| r.contains("swapped")), "{o:?}");
        let strict = DateNormalizer::new(
            DateParser::new()
                .order(Some(DateOrder::Mdy))
                .strict_order(true),
            DateKind::Date,
        );
        assert_eq!(strict.normalize("25-09-2003", &mut out).kind(), "invalid");
        // Valid in the configured order: no note.
        assert_eq!(n.normalize("09-25-2003", &mut out), Outcome::Changed);
    }

    #[test]
    fn formats() {
        assert_eq!(d("2021-04-03"), "2021-04-03");
        assert_eq!(d("April 3, 2021"), "2021-04-03");
        assert_eq!(d("Sat, 3 Apr 2021"), "2021-04-03");
        assert_eq!(
            d("3.4.21"),
            "ambiguous: ambiguous date: 3.4.21 could be 3 April or 4 March; set the source's date order"
        );
        assert_eq!(d("44197"), "2021-01-01");
        assert_eq!(d("1"), "1900-01-01");
        assert_eq!(d("61"), "1900-03-01");
        assert_eq!(d("31/12/99"), "1999-12-31");
        assert_eq!(d("2021-04-03T23:30:00-05:00"), "2021-04-04");
    }
}
