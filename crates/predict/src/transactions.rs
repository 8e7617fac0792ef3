//! Transaction logs read from CSV: a customer, a date and optionally a value per row.

use std::io::Read;
use std::path::Path;

use chrono::{DateTime, NaiveDate};

use crate::error::{Error, Result};
use crate::summary::Transaction;

/// Which columns of a transaction log hold what, by their names in the header.
///
/// ```
/// use mergetag_predict::TransactionColumns;
///
/// let cols = TransactionColumns::new("customer", "date").value("value");
/// let log = cols.read("customer,date,value\na,2024-01-02,9.5\nb,20240105,1\n".as_bytes(), "t.csv")?;
/// assert_eq!(log.len(), 2);
/// assert_eq!(log[1].date.to_string(), "2024-01-05");
///
/// let err = cols.read("customer,date,value\na,someday,1\n".as_bytes(), "t.csv").unwrap_err();
/// assert_eq!(err.to_string(), "t.csv: line 2, column `date`: not a date (YYYY-MM-DD, YYYYMMDD or an RFC 3339 time)");
/// # Ok::<(), mergetag_predict::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionColumns {
    /// The customer id column.
    pub customer: String,
    /// The date column: `YYYY-MM-DD`, `YYYYMMDD` or an RFC 3339 time (its date in UTC).
    pub date: String,
    /// The value column, if any.
    pub value: Option<String>,
}

impl TransactionColumns {
    /// Customer and date columns, no value.
    pub fn new(customer: impl Into<String>, date: impl Into<String>) -> TransactionColumns {
        TransactionColumns {
            customer: customer.into(),
            date: date.into(),
            value: None,
        }
    }

    /// Sets the value column.
    pub fn value(mut self, column: impl Into<String>) -> TransactionColumns {
        self.value = Some(column.into());
        self
    }

    /// Reads the log at `path`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be opened; [`TransactionColumns::read`]'s errors.
    pub fn read_path(&self, path: impl AsRef<Path>) -> Result<Vec<Transaction>> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|source| Error::Io {
            origin: origin.clone(),
            source,
        })?;
        self.read(std::io::BufReader::new(file), &origin)
    }

    /// Reads a log from CSV with a header; `origin` names it in errors.
    ///
    /// # Errors
    ///
    /// [`Error::Row`] naming the line and column for a header without a named column, a row
    /// with another number of cells, an empty customer id, a date that does not parse or a
    /// value that is not a finite number; [`Error::Io`] when reading fails.
    pub fn read(&self, reader: impl Read, origin: &str) -> Result<Vec<Transaction>> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(reader);
        let row_err = |line: u64, column: &str, message: &str| Error::Row {
            origin: origin.to_owned(),
            line,
            column: column.to_owned(),
            message: message.to_owned(),
        };
        let csv_err = |e: csv::Error| {
            let line = e.position().map_or(0, |p| p.line());
            match e.into_kind() {
                csv::ErrorKind::Io(source) => Error::Io {
                    origin: origin.to_owned(),
                    source,
                },
                csv::ErrorKind::Utf8 { .. } => row_err(line, "", "the row is not valid UTF-8"),
                _ => row_err(line, "", "the row cannot be read as CSV"),
            }
        };
        let mut record = csv::StringRecord::new();
        if !rdr.read_record(&mut record).map_err(csv_err)? {
            return Err(row_err(
                1,
                "",
                "no header; the first line names the columns",
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
        let find = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| row_err(1, name, "the header has no such column"))
        };
        let ci = find(&self.customer)?;
        let di = find(&self.date)?;
        let vi = self.value.as_deref().map(find).transpose()?;
        let mut out = Vec::new();
        while rdr.read_record(&mut record).map_err(csv_err)? {
            let line = record.position().map_or(0, |p| p.line());
            if record.len() == 1 && record.get(0).is_some_and(|c| c.trim().is_empty()) {
                continue;
            }
            if record.len() != header.len() {
                return Err(row_err(
                    line,
                    "",
                    "the row has another number of cells than the header",
                ));
            }
            let cell = |i: usize| record.get(i).unwrap_or("").trim();
            let customer = cell(ci);
            if customer.is_empty() {
                return Err(row_err(line, &self.customer, "empty customer id"));
            }
            let date = parse_date(cell(di)).ok_or_else(|| {
                row_err(
                    line,
                    &self.date,
                    "not a date (YYYY-MM-DD, YYYYMMDD or an RFC 3339 time)",
                )
            })?;
            let value = match vi {
                Some(i) => match cell(i).parse::<f64>() {
                    Ok(v) if v.is_finite() => Some(v),
                    _ => {
                        return Err(row_err(
                            line,
                            self.value.as_deref().unwrap_or(""),
                            "not a finite number",
                        ));
                    }
                },
                None => None,
            };
            out.push(Transaction {
                customer: customer.to_owned(),
                date,
                value,
            });
        }
        Ok(out)
    }
}

/// A date as `YYYY-MM-DD`, `YYYYMMDD` or an RFC 3339 time (its date in UTC).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(d);
    }
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveDate::parse_from_str(s, "%Y%m%d").ok();
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.to_utc().date_naive())
}
