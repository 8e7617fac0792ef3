//! The data-quality audit of a run: per field, how complete, how valid, how varied, and what
//! is most often wrong.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use mergetag_model::{FieldName, Record, Value};
use serde::{Deserialize, Serialize};

use crate::{Report, Severity};

/// How many violations per field an audit lists.
pub const TOP_VIOLATIONS: usize = 5;

/// Distinct values are counted exactly up to this many per field, then estimated.
const EXACT_DISTINCT: usize = 16_384;

/// The data-quality audit of the records a [`Validator`](crate::Validator) checked.
///
/// For each field that a record had or a rule reads: how many records have a value
/// (completeness), how many of those values have no error (validity), how many distinct
/// values there are, and the most frequent findings. Serializable, and printable as a table:
///
/// ```text
/// records: 4
///
/// field        present  complete  valid  validity  distinct  top violations
/// age                3     75.0%      2     66.7%         3  out_of_range 1
/// email              3     75.0%      2     66.7%         3  required 1, invalid_email.leading_dot 1
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Audit {
    /// The records audited (source rejects, which have no fields, are not).
    pub records: u64,
    /// The fields, by name.
    pub fields: BTreeMap<FieldName, FieldAudit>,
}

/// The audit of one field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FieldAudit {
    /// Records with a value (not absent, null or blank).
    pub present: u64,
    /// `present / records`; `0` when there is no record.
    pub completeness: f64,
    /// Records whose value has no error finding.
    pub valid: u64,
    /// `valid / present`, or `None` when no record has a value.
    pub validity: Option<f64>,
    /// Distinct values among those present.
    pub distinct: u64,
    /// Whether `distinct` is exact; above 16,384 distinct values it is a HyperLogLog
    /// estimate (about 1% off).
    pub distinct_exact: bool,
    /// The most frequent findings on this field (any severity), most frequent first, ties by
    /// code.
    pub top_violations: Vec<Violation>,
}

/// How often a finding code occurred on a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Violation {
    /// The finding's code.
    pub code: String,
    /// How many findings had it.
    pub count: u64,
}

impl fmt::Display for Audit {
    /// A table, one field a row, in field-name order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "records: {}", self.records)?;
        if self.fields.is_empty() {
            return Ok(());
        }
        let header = [
            "field",
            "present",
            "complete",
            "valid",
            "validity",
            "distinct",
            "top violations",
        ];
        let rows: Vec<[String; 7]> = self
            .fields
            .iter()
            .map(|(name, a)| {
                [
                    name.to_string(),
                    a.present.to_string(),
                    format!("{:.1}%", a.completeness * 100.0),
                    a.valid.to_string(),
                    a.validity
                        .map_or_else(|| "-".to_owned(), |v| format!("{:.1}%", v * 100.0)),
                    if a.distinct_exact {
                        a.distinct.to_string()
                    } else {
                        format!("~{}", a.distinct)
                    },
                    a.top_violations
                        .iter()
                        .map(|v| format!("{} {}", v.code, v.count))
                        .collect::<Vec<_>>()
                        .join(", "),
                ]
            })
            .collect();
        let mut width = header.map(|h| h.chars().count());
        for row in &rows {
            for (w, cell) in width.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        writeln!(f)?;
        let line = |f: &mut fmt::Formatter<'_>, cells: [&str; 7]| -> fmt::Result {
            let mut out = String::new();
            for (i, cell) in cells.iter().enumerate() {
                let pad = width[i] - cell.chars().count();
                match i {
                    0 => {
                        out.push_str(cell);
                        out.extend(std::iter::repeat_n(' ', pad));
                    }
                    6 => out.push_str(cell),
                    _ => {
                        out.extend(std::iter::repeat_n(' ', pad));
                        out.push_str(cell);
                    }
                }
                if i < 6 {
                    out.push_str("  ");
                }
            }
            writeln!(f, "{}", out.trim_end())
        };
        line(f, header)?;
        for row in &rows {
            line(f, row.each_ref().map(String::as_str))?;
        }
        Ok(())
    }
}

/// Collects the audit record by record.
#[derive(Debug, Default)]
pub(crate) struct AuditBuilder {
    records: u64,
    states: Vec<FieldState>,
    index: HashMap<FieldName, usize>,
    /// The slot of each field position of the previous record, to skip the map lookup when
    /// records of one source repeat their field order.
    last: Vec<(FieldName, usize)>,
    /// Fields with an error in the current record.
    errored: Vec<usize>,
}

#[derive(Debug)]
struct FieldState {
    name: FieldName,
    present: u64,
    invalid: u64,
    distinct: Distinct,
    violations: HashMap<String, u64>,
}

impl AuditBuilder {
    /// Makes sure `fields` are listed even if no record has them.
    pub(crate) fn declare(&mut self, fields: &[FieldName]) {
        for f in fields {
            self.slot(f);
        }
    }

    fn slot(&mut self, name: &FieldName) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.states.len();
        self.states.push(FieldState {
            name: name.clone(),
            present: 0,
            invalid: 0,
            distinct: Distinct::default(),
            violations: HashMap::new(),
        });
        self.index.insert(name.clone(), i);
        i
    }

    pub(crate) fn add(&mut self, record: &Record, report: &Report) {
        self.records += 1;
        for (pos, field) in record.iter().enumerate() {
            let slot = match self.last.get(pos) {
                Some((name, slot)) if *name == field.name => *slot,
                _ => {
                    let slot = self.slot(&field.name);
                    if pos < self.last.len() {
                        self.last[pos] = (field.name.clone(), slot);
                    } else if pos == self.last.len() {
                        self.last.push((field.name.clone(), slot));
                    }
                    slot
                }
            };
            if !field.value.is_missing() {
                let state = &mut self.states[slot];
                state.present += 1;
                state.distinct.insert(hash_value(&field.value));
            }
        }
        if report.is_empty() {
            return;
        }
        self.errored.clear();
        for finding in report {
            let Some(name) = &finding.field else { continue };
            let slot = self.slot(name);
            let state = &mut self.states[slot];
            match state.violations.get_mut(&*finding.code) {
                Some(n) => *n += 1,
                None => {
                    state.violations.insert(finding.code.to_string(), 1);
                }
            }
            if finding.severity == Severity::Error
                && !self.errored.contains(&slot)
                && record.get(name.as_str()).is_some_and(|v| !v.is_missing())
            {
                self.errored.push(slot);
            }
        }
        for &slot in &self.errored {
            self.states[slot].invalid += 1;
        }
    }

    pub(crate) fn build(&self) -> Audit {
        let records = self.records;
        let fields = self
            .states
            .iter()
            .map(|s| {
                let mut top: Vec<Violation> = s
                    .violations
                    .iter()
                    .map(|(code, &count)| Violation {
                        code: code.clone(),
                        count,
                    })
                    .collect();
                top.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.code.cmp(&b.code)));
                top.truncate(TOP_VIOLATIONS);
                let valid = s.present - s.invalid.min(s.present);
                let audit = FieldAudit {
                    present: s.present,
                    completeness: if records == 0 {
                        0.0
                    } else {
                        s.present as f64 / records as f64
                    },
                    valid,
                    validity: (s.present > 0).then(|| valid as f64 / s.present as f64),
                    distinct: s.distinct.count(),
                    distinct_exact: s.distinct.is_exact(),
                    top_violations: top,
                };
                (s.name.clone(), audit)
            })
            .collect();
        Audit { records, fields }
    }
}

/// A hasher for keys that are already hashes.
#[derive(Default)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8)) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Distinct 64-bit hashes: a set up to [`EXACT_DISTINCT`], then a HyperLogLog.
#[derive(Debug)]
enum Distinct {
    Exact(HashSet<u64, BuildHasherDefault<PreHashed>>),
    Estimate(Box<HyperLogLog>),
}

impl Default for Distinct {
    fn default() -> Self {
        Distinct::Exact(HashSet::default())
    }
}

impl Distinct {
    fn insert(&mut self, h: u64) {
        match self {
            Distinct::Exact(set) => {
                set.insert(h);
                if set.len() > EXACT_DISTINCT {
                    let mut hll = Box::new(HyperLogLog::new());
                    for &h in set.iter() {
                        hll.insert(h);
                    }
                    *self = Distinct::Estimate(hll);
                }
            }
            Distinct::Estimate(hll) => hll.insert(h),
        }
    }

    fn count(&self) -> u64 {
        match self {
            Distinct::Exact(set) => set.len() as u64,
            Distinct::Estimate(hll) => hll.estimate(),
        }
    }

    fn is_exact(&self) -> bool {
        matches!(self, Distinct::Exact(_))
    }
}

/// HyperLogLog with 2^14 registers (16 KiB, standard error about 0.8%).
#[derive(Debug)]
struct HyperLogLog {
    registers: Vec<u8>,
}

impl HyperLogLog {
    const P: u32 = 14;

    fn new() -> HyperLogLog {
        HyperLogLog {
            registers: vec![0; 1 << Self::P],
        }
    }

    fn insert(&mut self, h: u64) {
        let index = (h >> (64 - Self::P)) as usize;
        let rest = (h << Self::P) | (1 << (Self::P - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        if self.registers[index] < rank {
            self.registers[index] = rank;
        }
    }

    fn estimate(&self) -> u64 {
        let m = self.registers.len() as f64;
        let sum: f64 = self
            .registers
            .iter()
            .map(|&r| 2f64.powi(-i32::from(r)))
            .sum();
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let raw = alpha * m * m / sum;
        let zeros = self.registers.iter().filter(|&&r| r == 0).count();
        let e = if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        e.round() as u64
    }
}

/// A 64-bit hash of a value's content, the same on every run and platform.
fn hash_value(v: &Value) -> u64 {
    let mut h = Fx(0);
    feed(v, &mut h);
    // Finalize (murmur3 fmix64), so that the top bits HyperLogLog uses are well mixed.
    let mut x = h.0;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// A fast multiply-rotate hasher (as in rustc's FxHasher).
struct Fx(u64);

impl Fx {
    fn word(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn bytes(&mut self, b: &[u8]) {
        let mut chunks = b.chunks_exact(8);
        for c in &mut chunks {
            self.word(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.word(u64::from_le_bytes(tail));
        self.word(b.len() as u64);
    }
}

fn feed(v: &Value, h: &mut Fx) {
    match v {
        Value::Null => h.word(0),
        Value::Bool(b) => h.word(1 + u64::from(*b)),
        Value::Int(i) => {
            h.word(3);
            h.word(*i as u64);
        }
        Value::Float(f) => {
            h.word(4);
            h.word(f.to_bits());
        }
        Value::Text(s) => {
            h.word(5);
            h.bytes(s.as_bytes());
        }
        Value::Date(d) => {
            h.word(6);
            h.word(chrono::Datelike::num_days_from_ce(d) as u64);
        }
        Value::DateTime(d) => {
            h.word(7);
            h.word(d.timestamp() as u64);
            h.word(u64::from(d.timestamp_subsec_nanos()));
        }
        Value::List(l) => {
            h.word(8);
            for item in l {
                feed(item, h);
            }
            h.word(l.len() as u64);
        }
        Value::Object(o) => {
            h.word(9);
            for (k, item) in o {
                h.bytes(k.as_bytes());
                feed(item, h);
            }
            h.word(o.len() as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyperloglog_is_close() {
        let mut d = Distinct::default();
        for i in 0..300_000u64 {
            d.insert(hash_value(&Value::Int(i as i64)));
            d.insert(hash_value(&Value::Int(i as i64)));
        }
        assert!(!d.is_exact());
        let n = d.count() as f64;
        assert!((n - 300_000.0).abs() / 300_000.0 < 0.03, "{n}");
        // Just past the switch, and exact just before it.
        let mut d = Distinct::default();
        for i in 0..EXACT_DISTINCT as i64 {
            d.insert(hash_value(&Value::Int(i)));
        }
        assert!(d.is_exact());
        assert_eq!(d.count(), EXACT_DISTINCT as u64);
        for i in 0..4_000i64 {
            d.insert(hash_value(&Value::from(format!("x{i}"))));
        }
        let n = d.count() as f64;
        let want = (EXACT_DISTINCT + 4_000) as f64;
        assert!(!d.is_exact() && (n - want).abs() / want < 0.02, "{n}");
    }

    #[test]
    fn hashes_tell_types_apart() {
        assert_ne!(hash_value(&Value::Int(1)), hash_value(&Value::from("1")));
        assert_ne!(
            hash_value(&Value::from("ab")),
            hash_value(&Value::from("ab\0"))
        );
        assert_eq!(
            hash_value(&Value::from("ab")),
            hash_value(&Value::from("ab"))
        );
    }
}
