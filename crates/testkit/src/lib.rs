//! Deterministic synthetic customer records with ground truth, at any size.
//!
//! For tests, benchmarks, and users who want to try a dedup configuration on data whose answer
//! is known. People are drawn with realistic name frequencies (a few very common names and a
//! long tail), then each person gets one or more records carrying the noise real CRM data has:
//! nicknames, typos (insertions, deletions, substitutions, transpositions), swapped first and
//! last names, swapped day and month, year typos, missing fields, people who moved house or
//! changed email or phone, and formatting and case noise.
//!
//! The same seed and configuration give the same records on every platform and version of this
//! crate's dependencies: randomness comes from a fixed SplitMix64 generator written here.
//!
//! ```
//! use mergetag_model::fields;
//! use mergetag_testkit::{Generator, Noise};
//!
//! let data = Generator::new(42).noise(Noise::default()).generate(100);
//! assert!(data.records.len() > 100); // some people have several records
//! assert_eq!(data.records.len(), data.entities.len());
//! let again = Generator::new(42).noise(Noise::default()).generate(100);
//! assert_eq!(data.records, again.records); // deterministic
//! assert!(data.records.iter().any(|r| r.text(fields::FIRST_NAME).is_some()));
//! ```

pub mod http;
mod names;
pub mod postgres;
mod replay;
mod rng;

use chrono::{Datelike, NaiveDate};
use std::collections::HashSet;

use mergetag_model::{Record, RecordId, fields};

pub use replay::replay_fuzz_inputs;
pub use rng::Rng;

/// How much noise the duplicates carry. Rates are probabilities per duplicate record (the first
/// record of each person is clean apart from formatting noise).
///
/// The defaults follow rates reported for real CRM data: about a third of people have more than
/// one record; names are misspelt in a few percent of records and nicknamed in about one in
/// ten; a few percent have first and last name swapped or day and month of birth swapped; fields
/// are missing in about one record in eight; about one in ten people moved or changed email.
#[derive(Debug, Clone, PartialEq)]
pub struct Noise {
    /// Probability that a person has duplicates at all.
    pub duplicated: f64,
    /// Mean number of extra records of a duplicated person (geometric, at least one).
    pub extra_records: f64,
    /// A one-edit typo in a name.
    pub name_typo: f64,
    /// A nickname instead of the given name (or the reverse).
    pub nickname: f64,
    /// First and last name swapped.
    pub swap_names: f64,
    /// Day and month of the birth date swapped (when both are at most 12).
    pub swap_day_month: f64,
    /// One digit of the birth year changed.
    pub year_typo: f64,
    /// Each field independently missing.
    pub missing: f64,
    /// A different address.
    pub moved: f64,
    /// A different email address.
    pub new_email: f64,
    /// A different phone number.
    pub new_phone: f64,
    /// A typo in the email's local part.
    pub email_typo: f64,
    /// Case and whitespace noise on text fields and a different phone format.
    pub formatting: f64,
}

impl Default for Noise {
    fn default() -> Self {
        Noise {
            duplicated: 0.35,
            extra_records: 1.4,
            name_typo: 0.08,
            nickname: 0.10,
            swap_names: 0.02,
            swap_day_month: 0.03,
            year_typo: 0.02,
            missing: 0.12,
            moved: 0.10,
            new_email: 0.10,
            new_phone: 0.08,
            email_typo: 0.03,
            formatting: 0.30,
        }
    }
}

impl Noise {
    /// No noise at all: duplicates are exact copies (for testing exact dedup).
    pub fn none() -> Noise {
        Noise {
            duplicated: 0.35,
            extra_records: 1.4,
            name_typo: 0.0,
            nickname: 0.0,
            swap_names: 0.0,
            swap_day_month: 0.0,
            year_typo: 0.0,
            missing: 0.0,
            moved: 0.0,
            new_email: 0.0,
            new_phone: 0.0,
            email_typo: 0.0,
            formatting: 0.0,
        }
    }
}

/// Generated records with their ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The records, shuffled (a person's records are not adjacent).
    pub records: Vec<Record>,
    /// The true person of each record: `entities[i]` is the person of `records[i]`.
    pub entities: Vec<u64>,
}

impl Dataset {
    /// The number of true matching pairs (pairs of records of one person).
    pub fn true_pairs(&self) -> u64 {
        let mut counts = std::collections::HashMap::<u64, u64>::new();
        for e in &self.entities {
            *counts.entry(*e).or_default() += 1;
        }
        counts.values().map(|n| n * (n - 1) / 2).sum()
    }
}

/// Generates people and their records.
#[derive(Debug, Clone)]
pub struct Generator {
    seed: u64,
    noise: Noise,
    source: String,
}

/// The process's peak resident memory in MiB (`VmHWM` of `/proc/self/status`), for tests,
/// benches and examples that report memory; 0 where there is no `/proc` (not Linux).
pub fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// The chunks of [`Generator::chunks`], generated as they are asked for.
#[derive(Debug)]
pub struct Chunks<'a> {
    generator: &'a Generator,
    rng: Rng,
    /// Mailboxes already taken (hashes of their folded addresses): a mailbox belongs to one
    /// person, so a second Mark Davis at a provider gets `markdavis7` there, as providers make
    /// people choose. Hashes rather than text keep 10M people's set small.
    used: HashSet<u64>,
    next_person: u64,
    people: u64,
    per_chunk: u64,
    /// Records generated in earlier chunks.
    records: usize,
}

impl Iterator for Chunks<'_> {
    type Item = Dataset;

    fn next(&mut self) -> Option<Dataset> {
        if self.next_person >= self.people {
            return None;
        }
        let end = self.people.min(self.next_person + self.per_chunk);
        let (g, rng, used) = (self.generator, &mut self.rng, &mut self.used);
        let mut rows: Vec<(u64, Record)> =
            Vec::with_capacity((end - self.next_person) as usize * 3 / 2);
        for p in self.next_person..end {
            let person = g.person(rng, p, used);
            let mut n = 1;
            if rng.chance(g.noise.duplicated) {
                n += 1 + rng.geometric(g.noise.extra_records - 1.0);
            }
            for k in 0..n {
                let record = g.record(rng, &person, k > 0, used);
                rows.push((p, record));
            }
        }
        rng.shuffle(&mut rows);
        let mut records = Vec::with_capacity(rows.len());
        let mut entities = Vec::with_capacity(rows.len());
        for (p, mut r) in rows {
            self.records += 1;
            r.id = RecordId::id(g.source.as_str(), format!("r{:08}", self.records));
            records.push(r);
            entities.push(p);
        }
        self.next_person = end;
        Some(Dataset { records, entities })
    }
}

/// One person's true details.
#[derive(Debug, Clone)]
struct Person {
    first: String,
    last: String,
    birth: NaiveDate,
    email: String,
    phone: String,
    street: String,
    city: &'static str,
    postal_code: String,
}

impl Generator {
    /// A generator with this seed, the default noise, records from source `"testkit"`.
    pub fn new(seed: u64) -> Generator {
        Generator {
            seed,
            noise: Noise::default(),
            source: "testkit".to_owned(),
        }
    }

    /// Sets the noise.
    pub fn noise(mut self, noise: Noise) -> Generator {
        self.noise = noise;
        self
    }

    /// Sets the source name of the records.
    pub fn source(mut self, name: &str) -> Generator {
        self.source = name.to_owned();
        self
    }

    /// Generates `people` people and their records.
    pub fn generate(&self, people: usize) -> Dataset {
        self.chunks(people, people.max(1))
            .next()
            .unwrap_or(Dataset {
                records: Vec::new(),
                entities: Vec::new(),
            })
    }

    /// Generates `people` people and their records in chunks of `per_chunk` people (at least
    /// one), for data sets larger than memory: each chunk's records are shuffled among
    /// themselves, ids (`r00000001`...) and people (`entities`) count across chunks, and a
    /// mailbox is still one person's in every chunk. With one chunk, the records are
    /// [`Generator::generate`]'s.
    ///
    /// ```
    /// use mergetag_testkit::Generator;
    ///
    /// let chunks: Vec<_> = Generator::new(1).chunks(1_000, 400).collect();
    /// assert_eq!(chunks.len(), 3);
    /// assert_eq!(chunks[2].entities.iter().min(), Some(&800));
    /// ```
    pub fn chunks(&self, people: usize, per_chunk: usize) -> Chunks<'_> {
        Chunks {
            generator: self,
            rng: Rng::new(self.seed),
            used: HashSet::with_capacity(people.min(per_chunk.saturating_mul(4))),
            next_person: 0,
            people: people as u64,
            per_chunk: per_chunk.max(1) as u64,
            records: 0,
        }
    }

    fn person(&self, rng: &mut Rng, id: u64, used: &mut HashSet<u64>) -> Person {
        let first = rng.skewed(names::FIRST).to_owned();
        let last = rng.skewed(names::LAST).to_owned();
        let birth = NaiveDate::from_ymd_opt(
            1940 + rng.below(65) as i32,
            1 + rng.below(12) as u32,
            1 + rng.below(28) as u32,
        )
        .unwrap_or_default();
        let (city, zip_prefix) = names::CITIES[rng.below(names::CITIES.len() as u64) as usize];
        let domain = names::EMAIL_DOMAINS[rng.below(names::EMAIL_DOMAINS.len() as u64) as usize];
        let local = email_local(rng, &first, &last, birth, id);
        let email = unique_address(rng, used, &local, domain);
        Person {
            first,
            last,
            birth,
            email,
            phone: format!("+1{}555{:04}", 200 + rng.below(800), rng.below(10_000)),
            street: street(rng),
            city,
            postal_code: format!("{zip_prefix}{:02}", rng.below(100)),
        }
    }

    fn record(
        &self,
        rng: &mut Rng,
        p: &Person,
        duplicate: bool,
        used: &mut HashSet<u64>,
    ) -> Record {
        let noise = if duplicate {
            self.noise.clone()
        } else {
            Noise {
                formatting: self.noise.formatting,
                ..Noise::none()
            }
        };
        let mut first = p.first.clone();
        let mut last = p.last.clone();
        if rng.chance(noise.nickname)
            && let Some(nick) = names::nickname(rng, &first)
        {
            first = nick;
        }
        if rng.chance(noise.name_typo) {
            if rng.chance(0.5) {
                first = typo(rng, &first);
            } else {
                last = typo(rng, &last);
            }
        }
        if rng.chance(noise.swap_names) {
            std::mem::swap(&mut first, &mut last);
        }
        let mut birth = p.birth;
        if rng.chance(noise.swap_day_month) && birth.day() <= 12 {
            birth =
                NaiveDate::from_ymd_opt(birth.year(), birth.day(), birth.month()).unwrap_or(birth);
        }
        if rng.chance(noise.year_typo) {
            let y = birth.year() + if rng.chance(0.5) { 1 } else { 10 };
            birth = birth.with_year(y).unwrap_or(birth);
        }
        let (mut street_v, mut city, mut zip) = (p.street.clone(), p.city, p.postal_code.clone());
        if rng.chance(noise.moved) {
            street_v = street(rng);
            let (c, z) = names::CITIES[rng.below(names::CITIES.len() as u64) as usize];
            city = c;
            zip = format!("{z}{:02}", rng.below(100));
        }
        let mut email = p.email.clone();
        if rng.chance(noise.new_email) {
            let domain =
                names::EMAIL_DOMAINS[rng.below(names::EMAIL_DOMAINS.len() as u64) as usize];
            let (local, old_domain) = p.email.split_once('@').unwrap_or((&p.email, ""));
            let local = if rng.chance(0.5) && domain != old_domain {
                // The same local part at another provider: people keep their name-built
                // handle when they open a second mailbox (unless someone holds it there).
                local.to_owned()
            } else {
                format!("{}{}", p.first.to_lowercase(), rng.below(10_000))
            };
            email = unique_address(rng, used, &local, domain);
        } else if rng.chance(noise.email_typo) {
            let (local, domain) = email.split_once('@').unwrap_or((&email, ""));
            email = format!("{}@{domain}", typo(rng, local));
        }
        let mut phone = p.phone.clone();
        if rng.chance(noise.new_phone) {
            phone = format!("+1{}555{:04}", 200 + rng.below(800), rng.below(10_000));
        }
        if rng.chance(noise.formatting) {
            phone = format!("({}) {}-{}", &phone[2..5], &phone[5..8], &phone[8..]);
            match rng.below(3) {
                0 => first = first.to_uppercase(),
                1 => last = last.to_lowercase(),
                _ => email = email.to_uppercase(),
            }
        }
        let mut r = Record::new(RecordId::default());
        let values: [(&str, String); 8] = [
            (fields::FIRST_NAME, first),
            (fields::LAST_NAME, last),
            (fields::EMAIL, email),
            (fields::PHONE, phone),
            (fields::BIRTH_DATE, birth.format("%Y-%m-%d").to_string()),
            (fields::STREET, street_v),
            (fields::CITY, city.to_owned()),
            (fields::POSTAL_CODE, zip),
        ];
        for (name, value) in values {
            if rng.chance(noise.missing) {
                r.set(name, mergetag_model::Value::Null);
            } else {
                r.set(name, value);
            }
        }
        r
    }
}

/// The local part of a person's address, built from the name as people build them: about
/// half are the bare name (`mark.davis`, `markdavis`, `mdavis`, `mark_davis`, `davism`), a
/// fifth the name with the two-digit birth year (`mark.davis85`, `davism85`), the rest the
/// name with a longer number or a first name with digits. So several people with a common
/// name hold the same local part at different providers, as in real customer bases.
fn email_local(rng: &mut Rng, first: &str, last: &str, birth: NaiveDate, id: u64) -> String {
    let (f, l) = (first.to_lowercase(), last.to_lowercase());
    let (fi, li) = (&f[..1], &l[..1]);
    let yy = birth.year() % 100;
    match rng.below(20) {
        0..=3 => format!("{f}.{l}"),
        4..=6 => format!("{f}{l}"),
        7..=8 => format!("{fi}{l}"),
        9 => format!("{f}_{l}"),
        10 => format!("{l}{fi}"),
        11..=12 => format!("{f}.{l}{yy:02}"),
        13 => format!("{f}{l}{yy:02}"),
        14 => format!("{l}{fi}{yy:02}"),
        15 => format!("{f}.{l}{}", id % 100),
        16 => format!("{fi}{l}{}", id % 1000),
        17 => format!("{f}_{li}{id}"),
        18 => format!("{f}{}", 10 + id % 10_000),
        _ => format!("{l}{id}"),
    }
}

/// `local@domain`, or with digits added to the local part until no one holds it yet.
fn unique_address(rng: &mut Rng, used: &mut HashSet<u64>, local: &str, domain: &str) -> String {
    // Taken is by mailbox, not spelling: `mark.davis` and `markdavis` are one Gmail mailbox.
    // Kept as a 64-bit FNV-1a hash, written here so that it is the same on every platform and
    // Rust release (std's hasher is not promised to be); two mailboxes sharing a hash (odds
    // about 1 in 400,000 at 10M people) only give the second a numbered address.
    let key = |a: &str| {
        let mut k = String::new();
        mergetag_model::mailbox::fold_into(a, &mut k);
        k.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    let mut address = format!("{local}@{domain}");
    while used.contains(&key(&address)) {
        address = format!("{local}{}@{domain}", 1 + rng.below(999));
    }
    used.insert(key(&address));
    address
}

fn street(rng: &mut Rng) -> String {
    let name = names::STREETS[rng.below(names::STREETS.len() as u64) as usize];
    let suffix = ["St", "Ave", "Rd", "Blvd", "Ln", "Dr"][rng.below(6) as usize];
    format!("{} {name} {suffix}", 1 + rng.below(9999))
}

/// One random edit: insert, delete, substitute or transpose a letter.
fn typo(rng: &mut Rng, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    if chars.len() < 3 {
        return s.to_owned();
    }
    let i = 1 + rng.below(chars.len() as u64 - 2) as usize;
    let letter = (b'a' + rng.below(26) as u8) as char;
    match rng.below(4) {
        0 => chars.insert(i, letter),
        1 => {
            chars.remove(i);
        }
        2 => chars[i] = letter,
        _ => chars.swap(i, i + 1),
    }
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_count_ids_and_people_across_chunks() {
        let g = Generator::new(11);
        let whole = g.generate(900);
        let one: Vec<Dataset> = g.chunks(900, 900).collect();
        assert_eq!(one, [whole]);
        let chunks: Vec<Dataset> = g.chunks(900, 250).collect();
        assert_eq!(chunks.len(), 4);
        let mut next_id = 1;
        for (k, c) in chunks.iter().enumerate() {
            assert_eq!(c.records.len(), c.entities.len());
            // Each chunk holds its own range of people.
            let people = (k as u64 * 250)..((k as u64 + 1) * 250).min(900);
            assert!(c.entities.iter().all(|e| people.contains(e)));
            assert_eq!(
                c.entities.iter().collect::<HashSet<_>>().len(),
                people.clone().count()
            );
            for r in &c.records {
                assert_eq!(r.id.to_string(), format!("testkit:r{next_id:08}"));
                next_id += 1;
            }
        }
        assert_eq!(chunks, g.chunks(900, 250).collect::<Vec<_>>());
        assert_eq!(g.chunks(0, 10).count(), 0);
        assert!(g.generate(0).records.is_empty());
    }

    #[test]
    fn peak_memory_is_read() {
        if cfg!(target_os = "linux") {
            assert!(peak_rss_mib() > 0);
        }
    }

    #[test]
    fn sizes_and_truth_line_up() {
        let d = Generator::new(7).generate(1000);
        assert_eq!(d.records.len(), d.entities.len());
        assert!(
            d.records.len() > 1200 && d.records.len() < 2000,
            "{}",
            d.records.len()
        );
        assert!(d.true_pairs() > 200);
        let mut ids: Vec<_> = d.records.iter().map(|r| r.id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), d.records.len());
    }

    #[test]
    fn no_noise_gives_exact_copies() {
        let d = Generator::new(7).noise(Noise::none()).generate(300);
        let mut by_entity: std::collections::HashMap<u64, Vec<&Record>> = Default::default();
        for (r, e) in d.records.iter().zip(&d.entities) {
            by_entity.entry(*e).or_default().push(r);
        }
        for rs in by_entity.values() {
            for r in rs {
                assert_eq!(
                    r.fields(),
                    rs[0].fields(),
                    "records of one person are identical without noise"
                );
            }
        }
    }

    #[test]
    fn typos_are_one_edit() {
        let mut rng = Rng::new(1);
        for _ in 0..100 {
            let t = typo(&mut rng, "Jennifer");
            assert!(t != "Jennifer" || t.len() == 8);
            assert!((t.chars().count() as i64 - 8).abs() <= 1);
        }
    }
}
