//! Customer summaries (frequency, recency, age `T` and average repeat spend per customer),
//! read from CSV or made from a transaction log, and their compression into distinct rows.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use rayon::slice::ParallelSliceMut;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One customer's purchase history as the buy-till-you-die models see it, in one time unit
/// (days or weeks) throughout.
///
/// ```
/// use mergetag_predict::Rfm;
///
/// let c = Rfm::new(2.0, 30.43, 38.86);
/// assert!(c.check().is_ok());
/// assert!(Rfm::new(1.5, 3.0, 4.0).check().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rfm {
    /// Repeat purchases: purchase periods after the first (a whole number).
    pub frequency: f64,
    /// Age at the last purchase: time from the first purchase to the last (0 without repeat
    /// purchases).
    pub recency: f64,
    /// Age at the end of the observation: time from the first purchase to its end.
    #[serde(rename = "T")]
    pub t: f64,
    /// The mean value of the repeat purchases (Gamma-Gamma's input); `None` when unknown.
    pub monetary_value: Option<f64>,
}

impl Rfm {
    /// A customer with `frequency` repeat purchases, the last at age `recency`, observed until
    /// age `t`, without a monetary value.
    pub fn new(frequency: f64, recency: f64, t: f64) -> Rfm {
        Rfm {
            frequency,
            recency,
            t,
            monetary_value: None,
        }
    }

    /// Sets the monetary value.
    pub fn with_monetary_value(mut self, value: f64) -> Rfm {
        self.monetary_value = Some(value);
        self
    }

    /// Checks that the models can use the customer: `frequency` a whole number at least 0,
    /// `0 <= recency <= T`, `recency` 0 without repeat purchases, every number finite, and a
    /// monetary value (when present) finite and not negative.
    ///
    /// # Errors
    ///
    /// The column at fault (`frequency`, `recency`, `T`, `monetary_value`) and why.
    pub fn check(&self) -> std::result::Result<(), (&'static str, &'static str)> {
        let Rfm {
            frequency: x,
            recency: tx,
            t,
            monetary_value: m,
        } = *self;
        if !x.is_finite() || x < 0.0 || x.fract() != 0.0 {
            return Err(("frequency", "frequency must be a whole number at least 0"));
        }
        if !t.is_finite() || t < 0.0 {
            return Err(("T", "T must be a finite number at least 0"));
        }
        if !tx.is_finite() || tx < 0.0 {
            return Err(("recency", "recency must be a finite number at least 0"));
        }
        if tx > t * (1.0 + 1e-12) {
            return Err(("recency", "recency exceeds T"));
        }
        if x == 0.0 && tx != 0.0 {
            return Err((
                "recency",
                "recency must be 0 when frequency is 0 (no repeat purchase)",
            ));
        }
        if let Some(m) = m
            && (!m.is_finite() || m < 0.0)
        {
            return Err((
                "monetary_value",
                "monetary_value must be a finite number at least 0",
            ));
        }
        Ok(())
    }
}

/// A table of customers: ids (kept, not used by the models) and their [`Rfm`] rows.
///
/// Read from CSV with a header naming `frequency`, `recency` and `T` (and optionally
/// `monetary_value`) in any order; the first other column, if any, is the id.
///
/// ```
/// use mergetag_predict::Summary;
///
/// let s = Summary::from_reader("ID,frequency,recency,T\n1,2,30.43,38.86\n2,0,0,38.86\n".as_bytes(), "s.csv")?;
/// assert_eq!(s.ids, vec!["1", "2"]);
/// assert_eq!(s.customers[0].recency, 30.43);
/// # Ok::<(), mergetag_predict::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The customers' ids (the row number, from 1, when the table has no id column).
    pub ids: Vec<String>,
    /// The customers, in the order read.
    pub customers: Vec<Rfm>,
}

impl Summary {
    /// Reads the summary at `path`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be opened; [`Summary::from_reader`]'s errors.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Summary> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|source| Error::Io {
            origin: origin.clone(),
            source,
        })?;
        Summary::from_reader(std::io::BufReader::new(file), &origin)
    }

    /// Reads a summary from CSV; `origin` names it in errors.
    ///
    /// # Errors
    ///
    /// [`Error::Row`] naming the line and column for a header without `frequency`,
    /// `recency` or `T`, a row with another number of cells, a cell that is not a number,
    /// or a customer [`Rfm::check`] rejects; [`Error::Io`] when reading fails.
    pub fn from_reader(reader: impl Read, origin: &str) -> Result<Summary> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(reader);
        let row_err = |line: u64, column: &str, message: String| Error::Row {
            origin: origin.to_owned(),
            line,
            column: column.to_owned(),
            message,
        };
        let csv_err = |e: csv::Error| {
            let line = e.position().map_or(0, |p| p.line());
            match e.into_kind() {
                csv::ErrorKind::Io(source) => Error::Io {
                    origin: origin.to_owned(),
                    source,
                },
                csv::ErrorKind::Utf8 { .. } => {
                    row_err(line, "", "the row is not valid UTF-8".to_owned())
                }
                _ => row_err(line, "", "the row cannot be read as CSV".to_owned()),
            }
        };
        let mut record = csv::StringRecord::new();
        if !rdr.read_record(&mut record).map_err(csv_err)? {
            return Err(row_err(
                1,
                "",
                "no header; the first line names the columns frequency, recency and T".to_owned(),
            ));
        }
        let header: Vec<String> = record
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let h = if i == 0 {
                    h.trim_start_matches('\u{feff}')
                } else {
                    h
                };
                h.trim().to_owned()
            })
            .collect();
        let find = |name: &str| header.iter().position(|h| h == name);
        let need = |name: &str| {
            find(name).ok_or_else(|| {
                row_err(
                    1,
                    name,
                    format!("the header has no `{name}` column; it needs frequency, recency and T"),
                )
            })
        };
        let (fi, ri, ti) = (need("frequency")?, need("recency")?, need("T")?);
        let mi = find("monetary_value");
        let id = (0..header.len()).find(|&i| i != fi && i != ri && i != ti && Some(i) != mi);
        let width = header.len();
        let mut summary = Summary::default();
        while rdr.read_record(&mut record).map_err(csv_err)? {
            let line = record.position().map_or(0, |p| p.line());
            if record.len() == 1 && record.get(0).is_some_and(|c| c.trim().is_empty()) {
                continue;
            }
            if record.len() != width {
                return Err(row_err(
                    line,
                    "",
                    format!("{} cells; the header has {width}", record.len()),
                ));
            }
            let number = |i: usize| -> Result<f64> {
                let cell = record.get(i).unwrap_or("").trim();
                match cell.parse::<f64>() {
                    Ok(v) if v.is_finite() => Ok(v),
                    _ => Err(row_err(
                        line,
                        &header[i],
                        format!("`{}` must be a finite number", header[i]),
                    )),
                }
            };
            let mut c = Rfm::new(number(fi)?, number(ri)?, number(ti)?);
            if let Some(mi) = mi {
                c.monetary_value = Some(number(mi)?);
            }
            c.check()
                .map_err(|(column, message)| row_err(line, column, message.to_owned()))?;
            let id = match id {
                Some(i) => record.get(i).unwrap_or("").to_owned(),
                None => (summary.customers.len() + 1).to_string(),
            };
            summary.ids.push(id);
            summary.customers.push(c);
        }
        Ok(summary)
    }

    /// Writes the summary as CSV: `id,frequency,recency,T` and `monetary_value` when every
    /// customer has one.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when writing fails.
    pub fn write_csv(&self, writer: impl Write) -> Result<()> {
        let io = |e: csv::Error| Error::Io {
            origin: "<writer>".to_owned(),
            source: std::io::Error::other(e.to_string()),
        };
        let money =
            !self.customers.is_empty() && self.customers.iter().all(|c| c.monetary_value.is_some());
        let mut w = csv::Writer::from_writer(writer);
        let mut header = vec!["id", "frequency", "recency", "T"];
        if money {
            header.push("monetary_value");
        }
        w.write_record(&header).map_err(io)?;
        for (id, c) in self.ids.iter().zip(&self.customers) {
            let mut row = vec![
                id.clone(),
                c.frequency.to_string(),
                c.recency.to_string(),
                c.t.to_string(),
            ];
            if money {
                row.push(c.monetary_value.unwrap_or(0.0).to_string());
            }
            w.write_record(&row).map_err(io)?;
        }
        w.flush().map_err(|source| Error::Io {
            origin: "<writer>".to_owned(),
            source,
        })
    }
}

/// The period transactions are counted in: several purchases in one period count once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// Calendar days.
    #[default]
    Day,
    /// Weeks from Monday to Sunday (pandas' `W`, the Python reference's `freq="W"`).
    Week,
}

impl Period {
    /// The period index of `date` (days or weeks since 0001-01-01, a Monday).
    pub fn index(self, date: NaiveDate) -> i64 {
        let days = i64::from(date.num_days_from_ce()) - 1;
        match self {
            Period::Day => days,
            Period::Week => days.div_euclid(7),
        }
    }

    /// The length of the period in days.
    pub fn days(self) -> f64 {
        match self {
            Period::Day => 1.0,
            Period::Week => 7.0,
        }
    }
}

/// One purchase in a transaction log.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    /// Who bought.
    pub customer: String,
    /// When.
    pub date: NaiveDate,
    /// The amount, when known.
    pub value: Option<f64>,
}

impl Summary {
    /// Summarizes a transaction log as the Python reference's
    /// `summary_data_from_transaction_data` does: purchases after `calibration_end` are left
    /// out, purchases in the same [`Period`] are one (their values summed); `frequency` is the
    /// number of periods with a purchase after the first, `recency` the last period minus the
    /// first, `T` the period of `calibration_end` minus the first, and `monetary_value` the
    /// mean of the repeat periods' values (0 without repeat purchases; only when every
    /// transaction has a value). Customers come out in order of id.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use mergetag_predict::{Period, Summary, Transaction};
    ///
    /// let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    /// let t = |c: &str, s: &str, v: f64| Transaction { customer: c.into(), date: d(s), value: Some(v) };
    /// let log = [t("a", "2024-01-01", 10.0), t("a", "2024-01-01", 5.0), t("a", "2024-01-11", 20.0),
    ///            t("b", "2024-01-05", 7.0), t("a", "2024-03-01", 99.0)];
    /// let s = Summary::from_transactions(&log, d("2024-01-31"), Period::Day);
    /// assert_eq!(s.ids, vec!["a", "b"]);
    /// let a = s.customers[0];
    /// assert_eq!((a.frequency, a.recency, a.t, a.monetary_value), (1.0, 10.0, 30.0, Some(20.0)));
    /// assert_eq!(s.customers[1].monetary_value, Some(0.0));
    /// ```
    pub fn from_transactions(
        transactions: &[Transaction],
        calibration_end: NaiveDate,
        period: Period,
    ) -> Summary {
        let end = period.index(calibration_end);
        let with_values = transactions.iter().all(|t| t.value.is_some());
        // Per customer, per period: the summed value.
        let mut per: BTreeMap<&str, BTreeMap<i64, f64>> = BTreeMap::new();
        for t in transactions.iter().filter(|t| t.date <= calibration_end) {
            *per.entry(&t.customer)
                .or_default()
                .entry(period.index(t.date))
                .or_insert(0.0) += t.value.unwrap_or(0.0);
        }
        let mut summary = Summary::default();
        for (id, periods) in per {
            let (Some((&first, _)), Some((&last, _))) =
                (periods.first_key_value(), periods.last_key_value())
            else {
                continue;
            };
            let x = periods.len() - 1;
            let mut c = Rfm::new(x as f64, (last - first) as f64, (end - first) as f64);
            if with_values {
                let repeat: f64 = periods.values().skip(1).sum();
                c.monetary_value = Some(if x == 0 { 0.0 } else { repeat / x as f64 });
            }
            summary.ids.push(id.to_owned());
            summary.customers.push(c);
        }
        summary
    }
}

/// Customers with identical rows, counted once with a weight: a summary in days or weeks
/// repeats the same few thousand rows however many customers it has.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Distinct {
    pub x: Vec<f64>,
    pub tx: Vec<f64>,
    pub t: Vec<f64>,
    pub m: Vec<f64>,
    pub w: Vec<f64>,
    /// The sum of the weights (the number of customers).
    pub total: f64,
    /// The largest frequency.
    pub max_x: usize,
    /// The distinct (frequency, age) pairs, made on first use.
    ages: std::sync::OnceLock<Ages>,
}

/// The distinct (frequency, age) pairs of a [`Distinct`]'s rows, an age being a row's recency
/// or its T: what the Pareto/NBD likelihood's hypergeometric series depend on (besides the
/// parameters), so that each is summed once per pair, not twice per row. In days or weeks a
/// million customers have a few thousand pairs.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Ages {
    /// Each pair's frequency.
    pub x: Vec<f64>,
    /// Each pair's age.
    pub age: Vec<f64>,
    /// Per row, the index of its (frequency, recency) pair.
    pub of_tx: Vec<u32>,
    /// Per row, the index of its (frequency, T) pair.
    pub of_t: Vec<u32>,
}

impl Ages {
    fn new(d: &Distinct) -> Ages {
        let key = |x: f64, age: f64| [x.to_bits(), age.to_bits()];
        let mut keys: Vec<[u64; 2]> = Vec::with_capacity(2 * d.len());
        for i in 0..d.len() {
            keys.push(key(d.x[i], d.tx[i]));
            keys.push(key(d.x[i], d.t[i]));
        }
        keys.par_sort_unstable();
        keys.dedup();
        let index = |k: [u64; 2]| keys.binary_search(&k).unwrap_or(0) as u32;
        let of_tx = (0..d.len()).map(|i| index(key(d.x[i], d.tx[i]))).collect();
        let of_t = (0..d.len()).map(|i| index(key(d.x[i], d.t[i]))).collect();
        Ages {
            x: keys.iter().map(|k| f64::from_bits(k[0])).collect(),
            age: keys.iter().map(|k| f64::from_bits(k[1])).collect(),
            of_tx,
            of_t,
        }
    }

    /// The number of pairs.
    pub fn len(&self) -> usize {
        self.x.len()
    }
}

impl Distinct {
    /// Every `step`-th row (from the first), weighted up so that the total is unchanged: a
    /// systematic sample across the sorted rows, so across frequencies.
    pub fn sample(&self, step: usize) -> Distinct {
        let step = step.max(1);
        let mut d = Distinct::default();
        for i in (0..self.len()).step_by(step) {
            d.x.push(self.x[i]);
            d.tx.push(self.tx[i]);
            d.t.push(self.t[i]);
            d.m.push(self.m[i]);
            d.w.push(self.w[i]);
            d.total += self.w[i];
            d.max_x = d.max_x.max(self.x[i] as usize);
        }
        let scale = if d.total > 0.0 {
            self.total / d.total
        } else {
            1.0
        };
        d.w.iter_mut().for_each(|w| *w *= scale);
        d.total = self.total;
        d
    }

    /// Groups `customers` by (frequency, recency, T, monetary value), in a deterministic
    /// order (sorted by the row's bits).
    pub fn new<'a>(customers: impl IntoIterator<Item = &'a Rfm>) -> Distinct {
        // Sorted keys grouped in runs: the order of the rows' bits, without a hash map.
        let mut keys: Vec<[u64; 4]> = customers
            .into_iter()
            .map(|c| {
                [
                    c.frequency.to_bits(),
                    c.recency.to_bits(),
                    c.t.to_bits(),
                    c.monetary_value.unwrap_or(0.0).to_bits(),
                ]
            })
            .collect();
        // Equal keys are identical, so an unstable (parallel) sort gives one order.
        keys.par_sort_unstable();
        let mut rows: Vec<([u64; 4], f64)> = Vec::new();
        for k in keys {
            match rows.last_mut() {
                Some(last) if last.0 == k => last.1 += 1.0,
                _ => rows.push((k, 1.0)),
            }
        }
        let mut d = Distinct::default();
        for (k, w) in rows {
            let x = f64::from_bits(k[0]);
            d.x.push(x);
            d.tx.push(f64::from_bits(k[1]));
            d.t.push(f64::from_bits(k[2]));
            d.m.push(f64::from_bits(k[3]));
            d.w.push(w);
            d.total += w;
            d.max_x = d.max_x.max(x as usize);
        }
        d
    }

    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// The distinct (frequency, age) pairs of the rows.
    pub fn ages(&self) -> &Ages {
        self.ages.get_or_init(|| Ages::new(self))
    }
}

/// Checks every customer; the first one the models cannot use is an [`Error::Fit`] naming its
/// position.
pub(crate) fn check_all(model: &'static str, customers: &[Rfm]) -> Result<()> {
    if customers.is_empty() {
        return Err(Error::fit(model, "no customers to fit"));
    }
    for (i, c) in customers.iter().enumerate() {
        c.check()
            .map_err(|(col, msg)| Error::fit(model, format!("customer {i}, {col}: {msg}")))?;
    }
    Ok(())
}
