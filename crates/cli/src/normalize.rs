//! `mergetag normalize`: one value per input line in, one JSON object per line out.
//!
//! ```
//! use mergetag_cli::normalize::{Kind, LineNormalizer};
//!
//! let n = LineNormalizer::new(Kind::Country, None, None)?;
//! let mut out = Vec::new();
//! n.run("U.S.A.\nNarnia\n".as_bytes(), &mut out)?;
//! assert_eq!(
//!     String::from_utf8(out).unwrap(),
//!     "{\"input\":\"U.S.A.\",\"output\":\"US\",\"status\":\"changed\"}\n\
//!      {\"input\":\"Narnia\",\"output\":null,\"status\":\"invalid\",\
//!      \"reason\":\"unknown country; use a name or an ISO 3166-1 code\"}\n"
//! );
//! # Ok::<(), mergetag_cli::Error>(())
//! ```

use std::io::{BufRead, Write};

use mergetag_normalize::{
    Country, DateKind, DateNormalizer, DateOrder, DateParser, Email, NameCasing, NamePart,
    Normalizer, Outcome, ParticleCase, PersonName, Phone, PostalCode, Text, UsAddress, UsStreet,
    country_code, region_code,
};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::lines::{Line, for_each_line};

/// What the values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Kind {
    /// Unicode cleanup: NFC, invisible characters removed, whitespace collapsed.
    Text,
    /// The normalized sendable address (display name, `mailto:` and brackets removed, domain
    /// lower-cased and IDNA-encoded).
    Email,
    /// E.164 (`+13125550147`); national numbers need `--region` (any region libphonenumber
    /// knows, `XK` and `AC` included).
    Phone,
    /// `YYYY-MM-DD`; numeric dates with both readings valid are ambiguous without
    /// `--date-order`.
    Date,
    /// RFC 3339 in UTC (`2024-01-02T20:04:00Z`); a date alone is midnight UTC.
    Datetime,
    /// ISO 3166-1 alpha-2 (`US`).
    Country,
    /// ISO 3166-2 (`US-IL`) in the country named by `--region` (required).
    Region,
    /// The postcode format of `--region`'s country; without it, whitespace and case only.
    PostalCode,
    /// A street line in USPS Publication 28 form (`123 N MAIN ST APT 4B`); with `--region`
    /// naming another country, whitespace cleanup only.
    Address,
    /// One part of a personal name, cased (`McDonald`, `Mary-Kate`, `Van der Berg`).
    Name,
    /// A full personal name, cased and split into its parts: the output is the cased name,
    /// and `parts` holds `salutation`, `first`, `middle`, `last` and `suffix`.
    FullName,
}

/// How particles are cased, for `--particles`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum ParticlesArg {
    /// Capital when the particle starts the value, lower-case inside: `De Graaf`, `Jan van
    /// der Berg` (the default).
    Initial,
    /// Always lower-case: `de Graaf`.
    Lower,
    /// Always capitalized: `Van Der Berg`.
    Capital,
}

impl From<ParticlesArg> for ParticleCase {
    fn from(p: ParticlesArg) -> ParticleCase {
        match p {
            ParticlesArg::Initial => ParticleCase::Initial,
            ParticlesArg::Lower => ParticleCase::Lower,
            ParticlesArg::Capital => ParticleCase::Capital,
        }
    }
}

/// The options of [`LineNormalizer::with_options`] beyond the kind, region and date order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LineOptions {
    /// Names: re-case the obviously wrong words of mixed-case names (`juan garcia III`).
    pub fix_mixed_case: bool,
    /// Names: how particles are cased (default initial).
    pub particles: Option<ParticlesArg>,
    /// Dates: refuse a date impossible in `--date-order` but valid in the other order
    /// (default: read it swapped, status `changed`, with a reason).
    pub strict_date_order: bool,
}

impl LineOptions {
    /// The default options.
    pub fn new() -> LineOptions {
        LineOptions::default()
    }

    /// Sets [`LineOptions::fix_mixed_case`].
    pub fn fix_mixed_case(mut self, yes: bool) -> LineOptions {
        self.fix_mixed_case = yes;
        self
    }

    /// Sets [`LineOptions::particles`].
    pub fn particles(mut self, particles: Option<ParticlesArg>) -> LineOptions {
        self.particles = particles;
        self
    }

    /// Sets [`LineOptions::strict_date_order`].
    pub fn strict_date_order(mut self, yes: bool) -> LineOptions {
        self.strict_date_order = yes;
        self
    }

    fn casing(&self) -> NameCasing {
        NameCasing::new()
            .fix_mixed_case(self.fix_mixed_case)
            .particles(
                self.particles
                    .map_or(ParticleCase::Initial, ParticleCase::from),
            )
    }
}

/// The parts of a full name (`--kind full-name`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NameParts {
    /// Honorific (`Dr`).
    pub salutation: Option<String>,
    /// Given name.
    pub first: Option<String>,
    /// Middle names or initials.
    pub middle: Option<String>,
    /// Family name.
    pub last: Option<String>,
    /// Suffixes (`Jr`, `III`, `PhD`).
    pub suffix: Option<String>,
}

/// The date order of `--date-order`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum DateOrderArg {
    /// Month, day, year (US): `03/04/2021` is 4 March.
    Mdy,
    /// Day, month, year: `03/04/2021` is 3 April.
    Dmy,
    /// Year, month, day.
    Ymd,
}

impl From<DateOrderArg> for DateOrder {
    fn from(o: DateOrderArg) -> DateOrder {
        match o {
            DateOrderArg::Mdy => DateOrder::Mdy,
            DateOrderArg::Dmy => DateOrder::Dmy,
            DateOrderArg::Ymd => DateOrder::Ymd,
        }
    }
}

/// One output line: `{"input":...,"output":...,"status":...,"reason":...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NormalizedLine {
    /// The input line (without its line break; lossily decoded when it is not UTF-8).
    pub input: String,
    /// The normalized value, or `None` when the status is `invalid` or `ambiguous`.
    pub output: Option<String>,
    /// `unchanged`, `changed`, `invalid` or `ambiguous`.
    pub status: &'static str,
    /// Why the value is invalid or ambiguous, or why it was changed when the change needs
    /// saying (a date read with day and month swapped); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The parts of a full name (`--kind full-name` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts: Option<NameParts>,
}

#[derive(Debug)]
enum Engine {
    Normalizer(Box<dyn Normalizer>),
    /// ISO 3166-2 with the country prefix, in this country.
    Region(&'static str),
    /// US addresses: a whole one-line address when it ends in a state or ZIP code, else a
    /// street line, by the same street normalizer.
    UsAddress(UsStreet),
    /// Full names, split.
    FullName(NameCasing),
}

/// Normalizes values of one [`Kind`], line by line.
#[derive(Debug)]
pub struct LineNormalizer {
    engine: Engine,
}

/// Whether `region` is a phone region (`US`, `XK`) the phone normalizer takes as it is.
fn mergetag_phone_region(region: &str) -> bool {
    Phone::new().default_region(region).is_ok()
}

/// The alpha-2 code of `--region`.
fn region_arg(region: &str) -> Result<&'static str> {
    country_code(region).ok_or_else(|| {
        Error::Usage(format!(
            "unknown --region {region:?}; use an ISO 3166-1 alpha-2 code such as US or GB"
        ))
    })
}

impl LineNormalizer {
    /// A normalizer of `kind`. `region` is the country (ISO 3166-1 code or name) of `phone`,
    /// `region`, `postal-code` and `address` values; the other kinds ignore it. `date_order` is
    /// for `date` and `datetime` only.
    ///
    /// # Errors
    ///
    /// [`Error::Usage`] for an unknown region, `region` without a region, or a date order with
    /// a kind that is not a date.
    pub fn new(
        kind: Kind,
        region: Option<&str>,
        date_order: Option<DateOrderArg>,
    ) -> Result<LineNormalizer> {
        LineNormalizer::with_options(kind, region, date_order, LineOptions::default())
    }

    /// [`LineNormalizer::new`] with the options of names and dates.
    ///
    /// # Errors
    ///
    /// As [`LineNormalizer::new`], and [`Error::Usage`] for an option that does not apply to
    /// `kind`.
    pub fn with_options(
        kind: Kind,
        region: Option<&str>,
        date_order: Option<DateOrderArg>,
        options: LineOptions,
    ) -> Result<LineNormalizer> {
        // Phones take any region libphonenumber knows (`AC`, `TA`, `XK` are no ISO 3166-1
        // countries); the other kinds take countries.
        let phone_region = match (kind, region) {
            (Kind::Phone, Some(r)) if mergetag_phone_region(r) => {
                Some(r.trim().to_ascii_uppercase())
            }
            _ => None,
        };
        let region = match phone_region {
            Some(_) => None,
            None => region.map(region_arg).transpose()?,
        };
        if (options.fix_mixed_case || options.particles.is_some())
            && !matches!(kind, Kind::Name | Kind::FullName)
        {
            return Err(Error::Usage(
                "--fix-mixed-case and --particles apply only to --kind name and --kind full-name"
                    .into(),
            ));
        }
        if options.strict_date_order && date_order.is_none() {
            return Err(Error::Usage(
                "--strict-date-order needs --date-order (and --kind date or datetime)".into(),
            ));
        }
        if date_order.is_some() && !matches!(kind, Kind::Date | Kind::Datetime) {
            return Err(Error::Usage(
                "--date-order applies only to --kind date and --kind datetime".into(),
            ));
        }
        let usage = |e: mergetag_normalize::Error| Error::Usage(format!("--region: {e}"));
        let dates = |k| {
            DateNormalizer::new(
                DateParser::new()
                    .order(date_order.map(DateOrder::from))
                    .strict_order(options.strict_date_order),
                k,
            )
        };
        let n: Box<dyn Normalizer> = match kind {
            Kind::Text => Box::new(Text::new()),
            Kind::Email => Box::new(Email::new()),
            Kind::Phone => match phone_region.as_deref().or(region) {
                Some(r) => Box::new(Phone::new().default_region(r).map_err(usage)?),
                None => Box::new(Phone::new()),
            },
            Kind::Date => Box::new(dates(DateKind::Date)),
            Kind::Datetime => Box::new(dates(DateKind::DateTime)),
            Kind::Country => Box::new(Country::new()),
            Kind::Region => {
                let Some(r) = region else {
                    return Err(Error::Usage(
                        "--kind region needs --region naming the country, such as --region US"
                            .into(),
                    ));
                };
                return Ok(LineNormalizer {
                    engine: Engine::Region(r),
                });
            }
            Kind::PostalCode => match region {
                Some(r) => Box::new(PostalCode::new().default_country(r).map_err(usage)?),
                None => Box::new(PostalCode::new()),
            },
            Kind::Address => {
                let street = UsStreet::new()
                    .default_country(region.unwrap_or("US"))
                    .map_err(usage)?;
                if region.unwrap_or("US") == "US" {
                    return Ok(LineNormalizer {
                        engine: Engine::UsAddress(street),
                    });
                }
                Box::new(street)
            }
            Kind::Name => Box::new(NamePart::new().casing(options.casing())),
            Kind::FullName => {
                return Ok(LineNormalizer {
                    engine: Engine::FullName(options.casing()),
                });
            }
        };
        Ok(LineNormalizer {
            engine: Engine::Normalizer(n),
        })
    }

    /// Normalizes one value.
    pub fn normalize(&self, input: &str) -> NormalizedLine {
        let mut parts = None;
        let (output, outcome) = match &self.engine {
            Engine::FullName(casing) => {
                let n = PersonName::parse_with(input, *casing);
                let out: Vec<&str> = [&n.salutation, &n.given, &n.middle, &n.family, &n.suffix]
                    .into_iter()
                    .flatten()
                    .map(String::as_str)
                    .collect();
                let out = out.join(" ");
                if out.is_empty() {
                    (out, Outcome::Invalid("the name is empty".into()))
                } else {
                    let outcome = Outcome::compare(input, &out);
                    parts = Some(NameParts {
                        salutation: n.salutation,
                        first: n.given,
                        middle: n.middle,
                        last: n.family,
                        suffix: n.suffix,
                    });
                    (out, outcome)
                }
            }
            Engine::Normalizer(n) => {
                let mut out = String::with_capacity(input.len());
                let outcome = n.normalize(input, &mut out);
                (out, outcome)
            }
            Engine::UsAddress(street) => match UsAddress::read(input) {
                // `STREET, CITY, ST ZIP`, the form USPS prints on one line.
                Ok(a) => {
                    let mut out = a.street;
                    let last: Vec<&str> = [a.region.as_deref(), a.postal_code.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect();
                    for part in [a.city.unwrap_or_default(), last.join(" ")] {
                        if !part.is_empty() {
                            out.push_str(", ");
                            out.push_str(&part);
                        }
                    }
                    let outcome = Outcome::compare(input, &out);
                    (out, outcome)
                }
                Err(ambiguous @ Outcome::Ambiguous(_)) => (String::new(), ambiguous),
                // Not a whole address (no state or ZIP at the end): a street line.
                Err(_) => {
                    let mut out = String::with_capacity(input.len());
                    let outcome = street.normalize(input, &mut out);
                    (out, outcome)
                }
            },
            Engine::Region(country) => match region_code(country, input) {
                Some(code) => {
                    let out = format!("{country}-{code}");
                    let outcome = Outcome::compare(input, &out);
                    (out, outcome)
                }
                None if input.trim().is_empty() => {
                    (String::new(), Outcome::Invalid("region is empty".into()))
                }
                None => (
                    String::new(),
                    Outcome::Invalid(format!("unknown region of {country}")),
                ),
            },
        };
        NormalizedLine {
            input: input.to_owned(),
            output: outcome.is_ok().then_some(output),
            status: outcome.kind(),
            reason: outcome.reason().map(str::to_owned),
            parts,
        }
    }

    /// Reads `input` line by line and writes one JSON object per line to `out`, in order. A
    /// line that is not UTF-8 gets an `invalid` object and the lines after it are processed.
    /// A `\r` before the line break is not part of the value.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when reading or writing fails.
    pub fn run(&self, input: impl BufRead, mut out: impl Write) -> Result<Counts> {
        let mut counts = Counts::default();
        for_each_line(input, |line| {
            let result = match line {
                Line::Text(text) => self.normalize(text),
                Line::NotUtf8(lossy) => NormalizedLine {
                    input: lossy.to_owned(),
                    output: None,
                    status: "invalid",
                    reason: Some(crate::lines::NOT_UTF8.into()),
                    parts: None,
                },
            };
            counts.add(result.status);
            serde_json::to_writer(&mut out, &result)
                .map_err(|e| Error::io("<stdout>", e.into()))?;
            out.write_all(b"\n").map_err(|e| Error::io("<stdout>", e))
        })?;
        out.flush().map_err(|e| Error::io("<stdout>", e))?;
        Ok(counts)
    }
}

/// How many lines had each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// `unchanged` lines.
    pub unchanged: u64,
    /// `changed` lines.
    pub changed: u64,
    /// `invalid` lines.
    pub invalid: u64,
    /// `ambiguous` lines.
    pub ambiguous: u64,
}

impl Counts {
    fn add(&mut self, status: &str) {
        match status {
            "unchanged" => self.unchanged += 1,
            "changed" => self.changed += 1,
            "ambiguous" => self.ambiguous += 1,
            _ => self.invalid += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(
        kind: Kind,
        region: Option<&str>,
        order: Option<DateOrderArg>,
        s: &str,
    ) -> NormalizedLine {
        LineNormalizer::new(kind, region, order)
            .unwrap()
            .normalize(s)
    }

    #[test]
    fn kinds() {
        assert_eq!(
            one(Kind::Phone, Some("US"), None, "(312) 555-0147")
                .output
                .as_deref(),
            Some("+13125550147")
        );
        assert_eq!(
            one(Kind::Region, Some("CA"), None, "Québec")
                .output
                .as_deref(),
            Some("CA-QC")
        );
        assert_eq!(
            one(Kind::Region, Some("US"), None, "US-IL")
                .output
                .as_deref(),
            Some("US-IL")
        );
        assert_eq!(
            one(Kind::Region, Some("US"), None, "US-IL").status,
            "unchanged"
        );
        assert_eq!(
            one(Kind::Region, Some("US"), None, "Narnia").status,
            "invalid"
        );
        assert_eq!(
            one(Kind::Date, None, None, "03/04/2021").status,
            "ambiguous"
        );
        assert_eq!(
            one(Kind::Date, None, Some(DateOrderArg::Dmy), "03/04/2021")
                .output
                .as_deref(),
            Some("2021-04-03")
        );
        assert_eq!(
            one(Kind::Address, None, None, "123 north main street")
                .output
                .as_deref(),
            Some("123 N MAIN ST")
        );
        assert_eq!(
            one(
                Kind::Address,
                None,
                None,
                "123 north main street apartment 4b springfield illinois 62704"
            )
            .output
            .as_deref(),
            Some("123 N MAIN ST APT 4B, SPRINGFIELD, IL 62704")
        );
        assert_eq!(
            one(
                Kind::Address,
                None,
                None,
                "12 forest park lake forest il 60045"
            )
            .status,
            "ambiguous"
        );
    }

    #[test]
    fn full_names_names_and_swapped_dates() {
        let n = one(Kind::FullName, None, None, "DR. JANE Q. PUBLIC III");
        let parts = n.parts.unwrap();
        assert_eq!(parts.salutation.as_deref(), Some("Dr"));
        assert_eq!(parts.first.as_deref(), Some("Jane"));
        assert_eq!(parts.middle.as_deref(), Some("Q."));
        assert_eq!(parts.last.as_deref(), Some("Public"));
        assert_eq!(parts.suffix.as_deref(), Some("III"));
        assert_eq!(n.output.as_deref(), Some("Dr Jane Q. Public III"));
        let fix = LineNormalizer::with_options(
            Kind::Name,
            None,
            None,
            LineOptions::new().fix_mixed_case(true),
        )
        .unwrap();
        assert_eq!(
            fix.normalize("juan garcia III").output.as_deref(),
            Some("Juan Garcia III")
        );
        let d = one(Kind::Date, None, Some(DateOrderArg::Mdy), "25-09-2003");
        assert_eq!(d.output.as_deref(), Some("2003-09-25"));
        assert_eq!(d.status, "changed");
        assert!(d.reason.is_some_and(|r| r.contains("swapped")));
        let strict = LineNormalizer::with_options(
            Kind::Date,
            None,
            Some(DateOrderArg::Mdy),
            LineOptions::new().strict_date_order(true),
        )
        .unwrap();
        assert_eq!(strict.normalize("25-09-2003").status, "invalid");
    }

    #[test]
    fn usage_errors() {
        assert!(LineNormalizer::new(Kind::Region, None, None).is_err());
        assert!(LineNormalizer::new(Kind::Phone, Some("Narnia"), None).is_err());
        assert!(LineNormalizer::new(Kind::Text, None, Some(DateOrderArg::Mdy)).is_err());
        let fix = LineOptions::new().fix_mixed_case(true);
        assert!(LineNormalizer::with_options(Kind::Date, None, None, fix).is_err());
        let strict = LineOptions::new().strict_date_order(true);
        assert!(LineNormalizer::with_options(Kind::Date, None, None, strict).is_err());
    }
}
