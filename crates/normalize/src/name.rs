//! Personal names: casing ([`NamePart`]), splitting a full name ([`PersonName`]), and the
//! nickname-aware given-name match key ([`given_name_keys`]).

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::normalizer::{Normalizer, Outcome};
use crate::text::{clean_text, text_key};

/// Honorifics in their stored form, looked up by their lower-cased form without dots.
const HONORIFICS: &[(&str, &str)] = &[
    ("mr", "Mr"),
    ("mister", "Mr"),
    ("mrs", "Mrs"),
    ("missus", "Mrs"),
    ("ms", "Ms"),
    ("miss", "Miss"),
    ("mx", "Mx"),
    ("dr", "Dr"),
    ("doctor", "Dr"),
    ("prof", "Prof"),
    ("professor", "Prof"),
    ("rev", "Rev"),
    ("reverend", "Rev"),
    ("fr", "Fr"),
    ("father", "Fr"),
    ("sir", "Sir"),
    ("dame", "Dame"),
    ("lord", "Lord"),
    ("lady", "Lady"),
    ("hon", "Hon"),
    ("capt", "Capt"),
    ("captain", "Capt"),
    ("sr.", "Sr"),
    ("herr", "Herr"),
    ("frau", "Frau"),
    ("mme", "Mme"),
    ("mlle", "Mlle"),
    ("m", "M"),
];

/// Suffixes in their stored form, looked up by their lower-cased form without dots.
const SUFFIXES: &[(&str, &str)] = &[
    ("jr", "Jr"),
    ("junior", "Jr"),
    ("sr", "Sr"),
    ("senior", "Sr"),
    ("ii", "II"),
    ("iii", "III"),
    ("iv", "IV"),
    ("v", "V"),
    ("phd", "PhD"),
    ("md", "MD"),
    ("dds", "DDS"),
    ("esq", "Esq"),
    ("cpa", "CPA"),
    ("mba", "MBA"),
    ("rn", "RN"),
    ("obe", "OBE"),
    ("mbe", "MBE"),
    ("jd", "JD"),
];

/// Family-name particles, kept lower-case inside a name (`van der Berg`).
const PARTICLES: &[&str] = &[
    "van", "von", "der", "den", "de", "del", "della", "di", "da", "das", "dos", "du", "la", "le",
    "ter", "ten", "bin", "binti", "ibn", "zu", "af", "y", "los", "las",
];

/// `Mac` names that are surnames (the prefix is not capitalized in general: Mack, Macy).
const MAC_NAMES: &[&str] = &[
    "macdonald",
    "mackenzie",
    "macleod",
    "macmillan",
    "macintosh",
    "mackay",
    "macgregor",
    "macarthur",
    "macdougall",
    "maclean",
    "macneil",
    "macpherson",
    "macaulay",
    "macbeth",
    "macdowell",
    "macfarlane",
    "mackinnon",
    "maclachlan",
    "macnamara",
    "macrae",
    "maclaine",
    "maclaren",
    "macallister",
    "macbride",
    "maccallum",
    "maccormack",
    "macdonnell",
    "macewan",
    "macfadyen",
    "macinnes",
    "macintyre",
    "mackintosh",
    "maclennan",
    "macmahon",
    "macmanus",
    "macmurray",
    "macnaughton",
    "macneill",
    "macquarrie",
    "macqueen",
    "mactavish",
    "macaskill",
    "macalister",
    "maccoll",
    "macdermott",
    "macgillivray",
    "mackinlay",
    "maclaughlin",
    "macmullen",
];

/// Credentials and post-nominal letters in their stored form, by their lower-cased form
/// without dots: kept in capitals after the first word (`John Smith MD`).
const CREDENTIALS: &[(&str, &str)] = &[
    ("md", "MD"),
    ("phd", "PhD"),
    ("dds", "DDS"),
    ("dmd", "DMD"),
    ("dvm", "DVM"),
    ("cpa", "CPA"),
    ("cfp", "CFP"),
    ("clu", "CLU"),
    ("chfc", "ChFC"),
    ("cfa", "CFA"),
    ("mba", "MBA"),
    ("jd", "JD"),
    ("llm", "LLM"),
    ("rn", "RN"),
    ("lpn", "LPN"),
    ("dnp", "DNP"),
    ("mph", "MPH"),
    ("msw", "MSW"),
    ("lcsw", "LCSW"),
    ("edd", "EdD"),
    ("psyd", "PsyD"),
    ("pharmd", "PharmD"),
    ("esq", "Esq"),
    ("obe", "OBE"),
    ("mbe", "MBE"),
    ("cbe", "CBE"),
    ("kbe", "KBE"),
    ("frcs", "FRCS"),
    ("facs", "FACS"),
    ("facp", "FACP"),
    ("cissp", "CISSP"),
    ("pmp", "PMP"),
    ("ricp", "RICP"),
    ("crpc", "CRPC"),
    ("aif", "AIF"),
];

/// Roman numerals of generations (`III`), kept in capitals.
fn is_roman(lower: &str, first: bool) -> bool {
    matches!(lower, "ii" | "iii" | "iv" | "vii" | "viii") || (!first && lower == "vi")
}

/// Italian elisions before a capital after the apostrophe (`Dell'Acqua`), besides the
/// one-letter ones (`O'Brien`, `D'Angelo`).
const ELISIONS: &[&str] = &["dell", "dall", "nell", "sull", "all"];

/// How family-name particles (`van`, `de`, `von`, `da`) are cased in names whose case is
/// lost (ALL CAPS or all lower-case).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ParticleCase {
    /// Capital when the particle starts the value, lower-case inside it: `DE GRAAF` -> `De
    /// Graaf`, `VAN DER BERG` -> `Van der Berg`, `JAN VAN DER BERG` -> `Jan van der Berg` (the
    /// Dutch rule for a family name written alone, and the usual American form). The default.
    #[default]
    Initial,
    /// Always lower-case, even first: `van der Berg`, `de Graaf`.
    Lower,
    /// Always capitalized: `Van Der Berg`, `De Graaf`.
    Capital,
}

/// The options of name casing ([`case_name_with`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct NameCasing {
    /// How particles are cased (default [`ParticleCase::Initial`]).
    pub particles: ParticleCase,
    /// Re-case the words of a mixed-case name that are obviously wrong (all lower-case or ALL
    /// CAPS, like `juan garcia III` -> `Juan Garcia III`); words in mixed case (`McDonald`,
    /// `DeWitt`) are kept. Off by default: a mixed-case name is kept as given.
    pub fix_mixed_case: bool,
}

impl NameCasing {
    /// The default casing.
    pub fn new() -> NameCasing {
        NameCasing::default()
    }

    /// Sets how particles are cased.
    pub fn particles(mut self, particles: ParticleCase) -> NameCasing {
        self.particles = particles;
        self
    }

    /// Sets whether obviously wrong words of mixed-case names are re-cased.
    pub fn fix_mixed_case(mut self, yes: bool) -> NameCasing {
        self.fix_mixed_case = yes;
        self
    }
}

fn lookup(table: &'static [(&str, &str)], word: &str) -> Option<&'static str> {
    let w: String = word
        .chars()
        .filter(|&c| c != '.')
        .flat_map(char::to_lowercase)
        .collect();
    table.iter().find(|(k, _)| *k == w).map(|(_, v)| *v)
}

/// Whether the letters of `s` are all upper-case or all lower-case (so casing is lost).
fn is_single_case(s: &str) -> bool {
    let mut upper = false;
    let mut lower = false;
    for c in s.chars() {
        upper |= c.is_uppercase();
        lower |= c.is_lowercase();
    }
    !(upper && lower)
}

fn capitalize_into(word: &str, out: &mut String) {
    let mut chars = word.chars();
    if let Some(f) = chars.next() {
        // Title case, not upper case: a first letter whose capital is several letters (the
        // ligature `ﬂ` -> `FL`) keeps only the first one capital (`Fl`), so that casing the
        // result again changes nothing.
        let mut upper = f.to_uppercase();
        out.extend(upper.next());
        out.extend(upper.flat_map(char::to_lowercase));
        out.extend(chars.flat_map(char::to_lowercase));
    }
}

/// Cases one word (no spaces): roman numerals and credentials, dotted initials, `Mc`/`Mac`
/// names, apostrophes and hyphens. `first`: the first word of the value; `particle`: cased as
/// a particle (lower-case).
fn case_word(word: &str, first: bool, particle: bool, out: &mut String) {
    // `str::to_lowercase`, not per character: a Greek capital sigma at the end of a word
    // becomes the final `ς`.
    let lower = word.to_lowercase();
    if particle && PARTICLES.contains(&lower.as_str()) {
        out.push_str(&lower);
        return;
    }
    let bare: String = lower.chars().filter(|&c| c != '.').collect();
    if is_roman(&bare, first) && !lower.contains('.') {
        out.push_str(&word.to_uppercase());
        return;
    }
    if !first
        && !lower.contains('.')
        && let Some((_, stored)) = CREDENTIALS.iter().find(|(k, _)| *k == bare)
    {
        out.push_str(stored);
        return;
    }
    if lower.contains('.') {
        // Initials and abbreviations: every piece between dots capitalized (`B.J.`, `M.D.`,
        // `Ph.D.`, `Jr.`).
        let mut pieces = lower.split('.').peekable();
        while let Some(p) = pieces.next() {
            case_piece(p, out);
            if pieces.peek().is_some() {
                out.push('.');
            }
        }
        return;
    }
    case_piece(&lower, out);
}

/// Cases a lower-case piece of a word: hyphenated parts, apostrophes (`O'Brien` but
/// `Ng'ang'a`), `Mc`/`Mac` names.
fn case_piece(lower: &str, out: &mut String) {
    let mut parts = lower.split('-').peekable();
    while let Some(part) = parts.next() {
        let mut pieces = part.split(['\'', '’']).peekable();
        let seps: Vec<char> = part.chars().filter(|&c| c == '\'' || c == '’').collect();
        let mut i = 0;
        let mut capital = true;
        while let Some(p) = pieces.next() {
            if !capital {
                out.push_str(p);
            } else if p.len() > 2 && p.starts_with("mc") {
                out.push_str("Mc");
                capitalize_into(&p[2..], out);
            } else if MAC_NAMES.contains(&p) {
                out.push_str("Mac");
                capitalize_into(&p[3..], out);
            } else {
                capitalize_into(p, out);
            }
            // After an apostrophe, a capital only follows a one-letter prefix or an
            // elision (O'Brien, D'Angelo, Dell'Acqua); otherwise the word goes on
            // (Ng'ang'a, N'Dour is written as given).
            capital = p.chars().count() == 1 || ELISIONS.contains(&p);
            if pieces.peek().is_some() {
                out.push(seps[i]);
                i += 1;
            }
        }
        if parts.peek().is_some() {
            out.push('-');
        }
    }
}

/// Writes `name` sensibly cased into `out` (cleared first) when its casing carries no
/// information (ALL CAPS or all lower-case); mixed-case names are kept as given. Roman
/// numerals and credentials keep their capitals (`III`, `MD`, `PhD`), initials their dots
/// (`B.J.`), and particles follow [`ParticleCase::Initial`]; see [`case_name_with`] for the
/// options.
///
/// ```
/// use mergetag_normalize::case_name;
/// let mut s = String::new();
/// for (input, want) in [("MCDONALD", "McDonald"), ("o'brien", "O'Brien"), ("VAN DER BERG", "Van der Berg"),
///                       ("jean-luc", "Jean-Luc"), ("D'ANGELO", "D'Angelo"), ("deWitt", "deWitt"),
///                       ("JOHN SMITH III MD", "John Smith III MD"), ("NG'ANG'A", "Ng'ang'a"),
///                       ("MACLAINE", "MacLaine"), ("B.J.", "B.J.")] {
///     case_name(input, &mut s);
///     assert_eq!(s, want);
/// }
/// ```
pub fn case_name(name: &str, out: &mut String) {
    case_name_with(name, NameCasing::default(), out);
}

/// [`case_name`] with options: how particles are cased, and whether the obviously wrong words
/// of a mixed-case name are re-cased.
///
/// ```
/// use mergetag_normalize::{NameCasing, ParticleCase, case_name_with};
/// let mut s = String::new();
/// case_name_with("DE GRAAF", NameCasing::new(), &mut s);
/// assert_eq!(s, "De Graaf");
/// case_name_with("DE GRAAF", NameCasing::new().particles(ParticleCase::Lower), &mut s);
/// assert_eq!(s, "de Graaf");
/// case_name_with("juan garcia III", NameCasing::new(), &mut s);
/// assert_eq!(s, "juan garcia III");
/// case_name_with("juan garcia III", NameCasing::new().fix_mixed_case(true), &mut s);
/// assert_eq!(s, "Juan Garcia III");
/// ```
pub fn case_name_with(name: &str, casing: NameCasing, out: &mut String) {
    clean_text(name, out);
    let single = is_single_case(out);
    if !single && !casing.fix_mixed_case {
        return;
    }
    let cleaned = std::mem::take(out);
    let words: Vec<&str> = cleaned.split(' ').collect();
    // A name made only of particles and words ("VAN DER BERG"): the particles are particles
    // when a non-particle follows.
    let last_real = words
        .iter()
        .rposition(|w| !PARTICLES.contains(&w.to_lowercase().as_str()));
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if !single && !is_single_case(w) {
            // A mixed-case word (`McDonald`) is kept, but for an inner particle.
            out.push_str(w);
            continue;
        }
        let before_real = last_real.is_some_and(|l| i < l);
        let particle = before_real
            && match casing.particles {
                ParticleCase::Initial => i > 0,
                ParticleCase::Lower => true,
                ParticleCase::Capital => false,
            };
        case_word(w, i == 0, particle, out);
    }
    crate::text::nfc_in_place(out);
}

/// One part of a name (given, middle or family name): cleaned and [cased](case_name_with).
///
/// ```
/// use mergetag_normalize::{normalize_to_string, NameCasing, NamePart};
/// assert_eq!(normalize_to_string(&NamePart::new(), " MARY-KATE ").0, "Mary-Kate");
/// let fix = NamePart::new().casing(NameCasing::new().fix_mixed_case(true));
/// assert_eq!(normalize_to_string(&fix, "mary SMITH").0, "Mary Smith");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct NamePart {
    casing: NameCasing,
}

impl NamePart {
    /// The name-part normalizer with the default casing.
    pub fn new() -> NamePart {
        NamePart::default()
    }

    /// Sets the casing options.
    pub fn casing(mut self, casing: NameCasing) -> NamePart {
        self.casing = casing;
        self
    }
}

impl Normalizer for NamePart {
    fn normalize(&self, input: &str, out: &mut String) -> Outcome {
        case_name_with(input, self.casing, out);
        Outcome::compare(input, out)
    }
}

/// A personal name split into its parts, each cased with [`case_name`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PersonName {
    /// Honorific (`Dr`, `Mrs`).
    pub salutation: Option<String>,
    /// Given name.
    pub given: Option<String>,
    /// Middle names or initials.
    pub middle: Option<String>,
    /// Family name, with its particles (`van der Berg`).
    pub family: Option<String>,
    /// Suffixes (`Jr`, `III`, `PhD`), space-separated.
    pub suffix: Option<String>,
}

impl PersonName {
    /// Splits a full name: honorifics and suffixes separated, `Last, First` handled, particles
    /// kept with the family name.
    ///
    /// ```
    /// use mergetag_normalize::PersonName;
    /// let n = PersonName::parse("DR. JEAN-LUC VAN DER BERG JR., PHD");
    /// assert_eq!(n.salutation.as_deref(), Some("Dr"));
    /// assert_eq!(n.given.as_deref(), Some("Jean-Luc"));
    /// assert_eq!(n.family.as_deref(), Some("Van der Berg"));
    /// assert_eq!(n.suffix.as_deref(), Some("Jr PhD"));
    /// let n = PersonName::parse("O'Brien, Mary Anne");
    /// assert_eq!((n.given.as_deref(), n.middle.as_deref(), n.family.as_deref()), (Some("Mary"), Some("Anne"), Some("O'Brien")));
    /// ```
    pub fn parse(full: &str) -> PersonName {
        PersonName::parse_with(full, NameCasing::default())
    }

    /// [`PersonName::parse`] with the casing options of [`case_name_with`].
    pub fn parse_with(full: &str, casing: NameCasing) -> PersonName {
        let mut cleaned = String::new();
        clean_text(full, &mut cleaned);
        let mut name = PersonName::default();
        let mut suffixes: Vec<&'static str> = Vec::new();
        // Split at commas; trailing comma parts that are suffixes are suffixes; otherwise a
        // comma means "Last, First".
        let mut parts: Vec<&str> = cleaned
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        while parts.len() > 1 {
            let last = parts[parts.len() - 1];
            let all_suffix = last.split(' ').all(|w| lookup(SUFFIXES, w).is_some());
            if all_suffix {
                for w in last.split(' ') {
                    suffixes.push(lookup(SUFFIXES, w).expect("checked"));
                }
                parts.pop();
            } else {
                break;
            }
        }
        let (mut words, family_first): (Vec<&str>, Option<Vec<&str>>) = match parts.as_slice() {
            [] => (Vec::new(), None),
            [one] => (one.split(' ').collect(), None),
            [family, rest @ ..] => (
                rest.iter().flat_map(|p| p.split(' ')).collect(),
                Some(family.split(' ').collect()),
            ),
        };
        // Honorifics lead.
        let mut sal = Vec::new();
        while words.len() > 1 || (family_first.is_some() && !words.is_empty()) {
            match lookup(HONORIFICS, words[0]) {
                Some(h) if h != "M" || words.len() > 2 => {
                    sal.push(h);
                    words.remove(0);
                }
                _ => break,
            }
        }
        // Suffixes trail.
        let mut trail = Vec::new();
        while words.len() > 1 {
            match lookup(SUFFIXES, words[words.len() - 1]) {
                Some(s) if s != "V" || words.len() > 2 => {
                    trail.push(s);
                    words.pop();
                }
                _ => break,
            }
        }
        trail.reverse();
        trail.extend(suffixes);
        let (given, middle, family): (Vec<&str>, Vec<&str>, Vec<&str>) = match family_first {
            Some(f) => {
                let g = words.first().map(|w| vec![*w]).unwrap_or_default();
                (g, words.iter().skip(1).copied().collect(), f)
            }
            None if words.len() <= 1 => (words, Vec::new(), Vec::new()),
            None => {
                // The family name starts at the first particle after the given name, else it
                // is the last word.
                let start = (1..words.len() - 1)
                    .find(|&i| PARTICLES.contains(&words[i].to_lowercase().as_str()))
                    .unwrap_or(words.len() - 1);
                (
                    vec![words[0]],
                    words[1..start].to_vec(),
                    words[start..].to_vec(),
                )
            }
        };
        let join = |ws: &[&str]| -> Option<String> {
            if ws.is_empty() {
                return None;
            }
            let mut s = String::new();
            case_name_with(&ws.join(" "), casing, &mut s);
            Some(s)
        };
        name.salutation = (!sal.is_empty()).then(|| sal.join(" "));
        name.given = join(&given);
        name.middle = join(&middle);
        name.family = join(&family);
        name.suffix = (!trail.is_empty()).then(|| trail.join(" "));
        name
    }
}

/// Nickname table: folded name -> the canonical names it may stand for (sorted).
static NICKNAMES: LazyLock<HashMap<String, Vec<String>>> = LazyLock::new(|| {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for line in include_str!("../data/nicknames.csv").lines().skip(1) {
        let mut parts = line.split(',');
        let (Some(name), Some(_), Some(nick)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let name = crate::text::text_key_string(name);
        let nick = crate::text::text_key_string(nick);
        map.entry(name.clone()).or_default().push(name.clone());
        map.entry(nick).or_default().push(name);
    }
    for v in map.values_mut() {
        v.sort_unstable();
        v.dedup();
    }
    map
});

/// Writes the nickname-aware match keys of a given name into `keys` (cleared first, sorted):
/// the canonical names it may stand for (`Bob`, `Bobby`, `Rob` → `robert`), or its own text
/// key when the table does not know it. A nickname can stand for several names, so two given
/// names match when their key sets intersect ([`given_names_match`]).
///
/// ```
/// use mergetag_normalize::given_name_keys;
/// let mut k = Vec::new();
/// given_name_keys("BOBBY", &mut k);
/// assert!(k.contains(&"robert".to_string()));
/// given_name_keys("Zoltán", &mut k);
/// assert_eq!(k, ["zoltan"]);
/// ```
pub fn given_name_keys(name: &str, keys: &mut Vec<String>) {
    keys.clear();
    let k = crate::text::text_key_string(name);
    let first = k.split(' ').next().unwrap_or("");
    match NICKNAMES.get(first) {
        Some(names) => keys.extend(names.iter().cloned()),
        None if !first.is_empty() => keys.push(first.to_owned()),
        None => {}
    }
}

/// Whether two given names can stand for the same person's name (`Bob` and `Robert`).
///
/// ```
/// use mergetag_normalize::given_names_match;
/// assert!(given_names_match("Bob", "ROBERT"));
/// assert!(given_names_match("Bobby", "Rob"));
/// assert!(!given_names_match("Bob", "Alice"));
/// ```
pub fn given_names_match(a: &str, b: &str) -> bool {
    let (mut ka, mut kb) = (Vec::new(), Vec::new());
    given_name_keys(a, &mut ka);
    given_name_keys(b, &mut kb);
    ka.iter().any(|k| kb.binary_search(k).is_ok())
}

/// The match key of a family name: the [text key](text_key) without spaces, so that
/// `van der Berg`, `Van Der Berg` and `VanDerBerg` agree.
pub fn family_name_key(name: &str, out: &mut String) {
    text_key(name, out);
    out.retain(|c| c != ' ');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_letter_with_a_long_capital_is_title_cased() {
        // Found by the property test: `ﬂ` cased to `FL`, which cased again gave `Fl`.
        let mut once = String::new();
        capitalize_into("\u{FB02}oyd", &mut once);
        assert_eq!(once, "Floyd");
        let mut twice = String::new();
        capitalize_into(&once, &mut twice);
        assert_eq!(twice, once);
    }

    #[test]
    fn splits() {
        let n = PersonName::parse("Mrs Jane Q. Public");
        assert_eq!(n.salutation.as_deref(), Some("Mrs"));
        assert_eq!(n.middle.as_deref(), Some("Q."));
        let n = PersonName::parse("Prince");
        assert_eq!(n.given.as_deref(), Some("Prince"));
        let n = PersonName::parse("JOHN SMITH III");
        assert_eq!(n.suffix.as_deref(), Some("III"));
        assert_eq!(n.family.as_deref(), Some("Smith"));
    }
}
