//! [`PagedSource`]: any paged JSON API as a [`Source`], through a [`Pager`].

use std::collections::VecDeque;

use mergetag_model::{
    FieldName, OnBadRow, Position, Record, RecordId, Reject, Source, SourceError, SourceErrorKind,
    SourceName, Value,
};
use mergetag_sources::{ColumnMap, FieldFault, ValueMapper};
use serde_json::Value as Json;

use crate::fetch::{FetchError, Fetcher, PageRequest};
use crate::report::{ReportHandle, SyncReport};

/// One page of an API's answer: its items and the cursor of the next page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// The items, in order (JSON objects; anything else is a bad row).
    pub items: Vec<Json>,
    /// The cursor of the next page; `None` on the last.
    pub next: Option<String>,
}

/// What an API's paging looks like: how to ask for the page after a cursor, how to read a
/// page, and how an item becomes a row of columns. [`PagedSource`] does the rest (pacing,
/// retries, budget, column maps, quarantine).
///
/// ```
/// use mergetag_sync::{Page, PageRequest, Pager};
///
/// /// `GET /people?cursor=N` answers `{"data": [...], "next": "N" | null}`.
/// struct People { base: String }
///
/// impl Pager for People {
///     fn request(&self, cursor: Option<&str>) -> PageRequest {
///         PageRequest::get(format!("{}/people?cursor={}", self.base, cursor.unwrap_or("0")))
///     }
///     fn parse(&self, body: &[u8]) -> Result<Page, String> {
///         #[derive(serde::Deserialize)]
///         struct Body { data: Vec<serde_json::Value>, next: Option<String> }
///         let b: Body = serde_json::from_slice(body).map_err(|e| format!("invalid JSON at line {}", e.line()))?;
///         Ok(Page { items: b.data, next: b.next })
///     }
/// }
///
/// let page = People { base: "http://x".into() }.parse(br#"{"data": [{"id": 1}], "next": "1"}"#)?;
/// assert_eq!(page.next.as_deref(), Some("1"));
/// # Ok::<(), String>(())
/// ```
pub trait Pager {
    /// The request for the page after `cursor` (`None`: the first page).
    fn request(&self, cursor: Option<&str>) -> PageRequest;

    /// Reads a page body. An `Err` says why the body is not a page, without its data; the
    /// request is then retried, as a body cut short would be.
    ///
    /// # Errors
    ///
    /// A message naming what is wrong (`invalid JSON at line 1 column 80`).
    fn parse(&self, body: &[u8]) -> Result<Page, String>;

    /// Turns one item (a JSON object) into columns for the column map. The default takes the
    /// object's keys as columns (nested objects become dotted columns through the map).
    fn row(&mut self, item: serde_json::Map<String, Json>, out: &mut Vec<(String, Value)>) {
        out.extend(item.into_iter().map(|(k, v)| (k, Value::from(v))));
    }
}

/// A paged JSON API as a [`Source`]: pages are fetched as records are read (one page in
/// memory at a time), each item mapped through a [`ColumnMap`] like a file's row. A cursor
/// moves on only once its page has been read whole, so every item is read exactly once even
/// when requests are retried. Items that cannot be mapped are set aside as [`Reject`]s under
/// [`OnBadRow::Quarantine`] (with their key when they have one) or returned as recoverable
/// errors under [`OnBadRow::Fail`]; a page that cannot be fetched is a fatal error naming the
/// page and cursor.
pub struct PagedSource<P> {
    name: SourceName,
    pager: P,
    fetcher: Fetcher,
    mapper: ValueMapper,
    on_bad_row: OnBadRow,
    buffer: VecDeque<Json>,
    cursor: Option<String>,
    done: bool,
    rows: u64,
    rejects: Vec<Reject>,
    cells: Vec<(String, Value)>,
}

impl<P> std::fmt::Debug for PagedSource<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PagedSource")
            .field("name", &self.name)
            .field("rows", &self.rows)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<P: Pager> PagedSource<P> {
    /// A source named `name` reading the pages `pager` describes through `fetcher`, mapping
    /// items through `map`.
    pub fn new(
        name: &str,
        pager: P,
        fetcher: Fetcher,
        map: ColumnMap,
        on_bad_row: OnBadRow,
    ) -> PagedSource<P> {
        PagedSource {
            name: SourceName::new(name),
            pager,
            fetcher,
            mapper: ValueMapper::new(map),
            on_bad_row,
            buffer: VecDeque::new(),
            cursor: None,
            done: false,
            rows: 0,
            rejects: Vec::new(),
            cells: Vec::new(),
        }
    }

    /// The counts and waits so far.
    pub fn report(&self) -> SyncReport {
        self.fetcher.report().get()
    }

    /// A handle on the report that stays usable after the source is handed to a pipeline.
    pub fn report_handle(&self) -> ReportHandle {
        self.fetcher.report().clone()
    }

    /// The pager (for what it learnt while reading, such as a watermark).
    pub fn pager(&self) -> &P {
        &self.pager
    }

    /// The cursor of the next page to fetch (`None` before the first and after the last): a
    /// run stopped by its budget can resume from it with [`PagedSource::resume_from`].
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// Starts reading at the page after `cursor` instead of the first page.
    pub fn resume_from(mut self, cursor: impl Into<String>) -> PagedSource<P> {
        self.cursor = Some(cursor.into());
        self
    }

    fn fatal(&mut self, page: u64, e: FetchError) -> SourceError {
        self.done = true;
        let at = match &self.cursor {
            Some(c) => format!("page {page} (cursor `{c}`)"),
            None => format!("page {page} (the first)"),
        };
        SourceError::new(
            self.name.clone(),
            Position::record(self.rows + 1),
            SourceErrorKind::Io {
                message: format!("fetching {at} failed: {e}"),
            },
        )
        .with_cause(e)
    }

    fn next_page(&mut self) -> Result<(), SourceError> {
        let request = self.pager.request(self.cursor.as_deref());
        let page_no = self.fetcher.report().get().pages + 1;
        let pager = &self.pager;
        match self.fetcher.fetch(&request, |body| pager.parse(body)) {
            Ok(page) => {
                if page.next.is_some() && page.next == self.cursor {
                    self.done = true;
                    return Err(SourceError::new(
                        self.name.clone(),
                        Position::record(self.rows + 1),
                        SourceErrorKind::Syntax {
                            message: format!(
                                "page {page_no} gives its own cursor as the next one; the sync would never end"
                            ),
                        },
                    ));
                }
                let n = page.items.len() as u64;
                self.fetcher.report().update(|r| {
                    r.pages += 1;
                    r.items += n;
                });
                self.buffer.extend(page.items);
                self.done = page.next.is_none();
                self.cursor = page.next;
                Ok(())
            }
            Err(e) => Err(self.fatal(page_no, e)),
        }
    }

    fn bad_row(
        &mut self,
        key: Option<String>,
        fault: FieldFault,
        raw: String,
    ) -> Result<(), SourceError> {
        let position = Position::record(self.rows);
        match self.on_bad_row {
            OnBadRow::Fail => Err(fault.into_error(self.name.clone(), position)),
            OnBadRow::Quarantine => {
                let id = match key {
                    Some(k) => RecordId::id(self.name.clone(), k),
                    None => RecordId::row(self.name.clone(), self.rows),
                };
                self.rejects.push(Reject {
                    id,
                    position,
                    field: fault.column,
                    error: fault.kind,
                    raw,
                });
                Ok(())
            }
        }
    }
}

impl<P: Pager> Source for PagedSource<P> {
    fn name(&self) -> &SourceName {
        &self.name
    }

    /// The [`SyncReport`](crate::SyncReport) so far, by name (waits in milliseconds).
    fn counters(&self) -> std::collections::BTreeMap<String, u64> {
        self.report().counters()
    }

    fn read_record(&mut self, record: &mut Record) -> Result<bool, SourceError> {
        loop {
            let Some(item) = self.buffer.pop_front() else {
                if self.done {
                    return Ok(false);
                }
                self.next_page()?;
                continue;
            };
            self.rows += 1;
            let raw = item.to_string();
            let Json::Object(object) = item else {
                let fault = FieldFault::new(
                    SourceErrorKind::Syntax {
                        message: "expected a JSON object".to_owned(),
                    },
                    None,
                );
                self.bad_row(None, fault, raw)?;
                continue;
            };
            let mut cells = std::mem::take(&mut self.cells);
            cells.clear();
            self.pager.row(object, &mut cells);
            let key = cells
                .iter()
                .filter(|(c, _)| self.mapper.is_key(c))
                .find_map(|(_, v)| mergetag_sources::key_text(v));
            let filled = self.mapper.fill(cells.drain(..), record);
            self.cells = cells;
            match filled {
                Ok(_) => {
                    record.id = match key {
                        Some(k) => RecordId::id(self.name.clone(), k),
                        None => RecordId::row(self.name.clone(), self.rows),
                    };
                    return Ok(true);
                }
                Err(fault) => self.bad_row(key, fault, raw)?,
            }
        }
    }

    fn drain_rejects(&mut self, out: &mut Vec<Reject>) {
        out.append(&mut self.rejects);
    }

    fn columns(&self) -> &[FieldName] {
        &[]
    }
}
