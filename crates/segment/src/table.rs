//! [`FeatureTable`]: a CSV file of numeric features, one row per id.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};
use crate::matrix::Matrix;

/// A table of features read from CSV: a header, an id column first, then numeric columns.
/// Every cell after the id must be a finite number; an empty or non-numeric cell is an
/// [`Error::Table`] naming its line and column (never its value).
///
/// ```
/// use mergetag_segment::{Error, FeatureTable};
///
/// let t = FeatureTable::from_reader("id,recency,orders\na,3,1\nb,40.5,7\n".as_bytes(), "f.csv")?;
/// assert_eq!(t.ids, vec!["a", "b"]);
/// assert_eq!(t.columns, vec!["recency", "orders"]);
/// assert_eq!(t.matrix.row(1), &[40.5, 7.0]);
///
/// let err = FeatureTable::from_reader("id,x\na,1\nb,\n".as_bytes(), "f.csv").unwrap_err();
/// assert_eq!(err.to_string(), "f.csv: line 3, column 2: empty cell in column `x`; every feature needs a number");
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureTable {
    /// The ids, in file order.
    pub ids: Vec<String>,
    /// The feature column names (the header after the id column).
    pub columns: Vec<String>,
    /// The features, one row per id.
    pub matrix: Matrix,
}

impl FeatureTable {
    /// Reads the table at `path`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be opened; [`FeatureTable::from_reader`]'s errors.
    pub fn from_path(path: impl AsRef<Path>) -> Result<FeatureTable> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|source| Error::Io {
            origin: origin.clone(),
            source,
        })?;
        FeatureTable::from_reader(std::io::BufReader::new(file), &origin)
    }

    /// Reads a table from `reader`; `origin` names it in errors.
    ///
    /// # Errors
    ///
    /// [`Error::Table`] for a missing header, a header with no feature column, a row with
    /// another number of cells than the header, an empty id, text that is not UTF-8, or a
    /// feature cell that is empty or not a finite number; [`Error::Io`] when reading fails.
    pub fn from_reader(reader: impl Read, origin: &str) -> Result<FeatureTable> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(reader);
        let table_err = |line: u64, column: usize, message: String| Error::Table {
            origin: origin.to_owned(),
            line,
            column,
            message,
        };
        let csv_err = |e: csv::Error| {
            let line = e.position().map_or(0, |p| p.line());
            match e.into_kind() {
                csv::ErrorKind::Io(source) => Error::Io {
                    origin: origin.to_owned(),
                    source,
                },
                csv::ErrorKind::Utf8 { err, .. } => table_err(
                    line,
                    err.field() + 1,
                    "the cell is not valid UTF-8".to_owned(),
                ),
                _ => table_err(line, 0, "the row cannot be read as CSV".to_owned()),
            }
        };
        let mut record = csv::StringRecord::new();
        if !rdr.read_record(&mut record).map_err(csv_err)? {
            return Err(table_err(
                1,
                1,
                "no header; the first line names the id column, then the features".to_owned(),
            ));
        }
        let mut header: Vec<String> = record.iter().map(str::to_owned).collect();
        if let Some(first) = header.first_mut() {
            // A byte order mark is not part of the id column's name.
            *first = first.trim_start_matches('\u{feff}').to_owned();
        }
        if header.len() < 2 {
            return Err(table_err(
                1,
                header.len().max(1),
                "the header needs an id column and at least one feature column".to_owned(),
            ));
        }
        let columns = header[1..].to_vec();
        let width = header.len();
        let mut ids = Vec::new();
        let mut data = Vec::new();
        while rdr.read_record(&mut record).map_err(csv_err)? {
            let line = record.position().map_or(0, |p| p.line());
            if record.len() == 1 && record.get(0) == Some("") {
                // A blank line.
                continue;
            }
            if record.len() != width {
                return Err(table_err(
                    line,
                    record.len().min(width) + 1,
                    format!("{} cells; the header has {width}", record.len()),
                ));
            }
            let id = record.get(0).unwrap_or("");
            if id.trim().is_empty() {
                return Err(table_err(line, 1, "empty id".to_owned()));
            }
            ids.push(id.to_owned());
            for (j, cell) in record.iter().enumerate().skip(1) {
                let cell = cell.trim();
                if cell.is_empty() {
                    return Err(table_err(
                        line,
                        j + 1,
                        format!(
                            "empty cell in column `{}`; every feature needs a number",
                            header[j]
                        ),
                    ));
                }
                match cell.parse::<f64>() {
                    Ok(v) if v.is_finite() => data.push(v),
                    _ => {
                        return Err(table_err(
                            line,
                            j + 1,
                            format!("column `{}` needs a finite number", header[j]),
                        ));
                    }
                }
            }
        }
        let matrix = Matrix::new(columns.len(), data)?;
        Ok(FeatureTable {
            ids,
            columns,
            matrix,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        FeatureTable::from_reader(text.as_bytes(), "t.csv")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn errors_name_line_and_column() {
        assert_eq!(
            err("id,a,b\n1,2,x\n"),
            "t.csv: line 2, column 3: column `b` needs a finite number"
        );
        assert_eq!(
            err("id,a\n1,inf\n"),
            "t.csv: line 2, column 2: column `a` needs a finite number"
        );
        assert_eq!(
            err("id,a\n1,2,3\n"),
            "t.csv: line 2, column 3: 3 cells; the header has 2"
        );
        assert_eq!(
            err(""),
            "t.csv: line 1, column 1: no header; the first line names the id column, then the features"
        );
        assert_eq!(
            err("id\n1\n"),
            "t.csv: line 1, column 1: the header needs an id column and at least one feature column"
        );
        assert_eq!(err("id,a\n,1\n"), "t.csv: line 2, column 1: empty id");
    }

    #[test]
    fn reads_bom_crlf_and_blank_lines() {
        let t = FeatureTable::from_reader("\u{feff}id,a\r\n1, 2 \r\n\r\n2,3\r\n".as_bytes(), "t")
            .unwrap();
        assert_eq!(t.ids, vec!["1", "2"]);
        assert_eq!(t.matrix.as_slice(), &[2.0, 3.0]);
    }
}
