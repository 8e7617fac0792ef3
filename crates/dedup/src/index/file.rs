//! The versioned, checksummed index file: [`MatchIndex::save`] and [`MatchIndex::load`] (the
//! format is described in the [index module docs](crate::index)).

use std::collections::HashMap;
use std::io::{Read, Write};

use mergetag_model::{Record, RecordId};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{LogEntry, MatchIndex};
use crate::blocking::pass_specs;
use crate::comparison::Prepared;
use crate::config::DedupConfig;
use crate::dedup::TrainedModel;
use crate::error::{Error, Result};
use crate::packed::Packed;
use crate::prepare::{append_extracted, column_specs, extract, per_comparison};

/// The file format version [`MatchIndex::save`] writes and [`MatchIndex::load`] reads.
pub const FORMAT_VERSION: u32 = 1;

const MAGIC: &str = "mergetag-index";

/// The checksum of an index file's body, as the header gives it: FNV-1a, 64 bits. It catches
/// altered or truncated bodies; it is not an authenticity check.
///
/// ```
/// assert_eq!(mergetag_dedup::index::body_checksum(b""), 0xcbf2_9ce4_8422_2325);
/// ```
pub fn body_checksum(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The body of an index file, as written.
#[derive(Serialize)]
struct IndexFileOut<'a> {
    config: &'a DedupConfig,
    model: &'a TrainedModel,
    next_profile: u64,
    next_tombstone: u64,
    /// Live records and their profile ids, in slot order.
    records: SavedRecords<'a>,
    /// Scored pairs `(a, b, weight, matched)` by position in `records`, `a < b`.
    links: Vec<(u32, u32, f32, bool)>,
    log: &'a [LogEntry],
    pending: &'a [Record],
}

/// The body of an index file, as read (the same fields).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexFileIn {
    config: DedupConfig,
    model: TrainedModel,
    next_profile: u64,
    next_tombstone: u64,
    records: LoadedRecords,
    links: Vec<(u32, u32, f32, bool)>,
    log: Vec<LogEntry>,
    pending: Vec<Record>,
}

/// The live records of an index, serialized one at a time from their packed form, so that
/// saving never holds every record unpacked at once.
struct SavedRecords<'a> {
    index: &'a MatchIndex,
    live: &'a [u32],
}

impl Serialize for SavedRecords<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeSeq};
        let mut seq = serializer.serialize_seq(Some(self.live.len()))?;
        for &s in self.live {
            let record = self
                .index
                .unpack(s)
                .ok_or_else(|| S::Error::custom("a stored record could not be unpacked"))?;
            seq.serialize_element(&(record, self.index.profile_of[s as usize]))?;
        }
        seq.end()
    }
}

/// Records read from a file, packed as they are parsed (a million unpacked records take about
/// 1.3 GB that would otherwise be freed into fragments right after loading).
struct LoadedRecords(Vec<(RecordId, Packed, u64)>);

impl<'de> Deserialize<'de> for LoadedRecords {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = LoadedRecords;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of [record, profile id] pairs")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<LoadedRecords, A::Error> {
                // The size hint comes from the file: never trust it for an allocation.
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
                while let Some((record, profile)) = seq.next_element::<(Record, u64)>()? {
                    let packed = Packed::new(&record);
                    out.push((record.id, packed, profile));
                }
                Ok(LoadedRecords(out))
            }
        }
        deserializer.deserialize_seq(Visit)
    }
}

impl MatchIndex {
    /// Writes the index in the versioned format (see the [module docs](crate::index)).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when writing fails.
    pub fn save<W: Write>(&self, mut writer: W) -> Result<()> {
        let live: Vec<u32> = (0..self.records.len() as u32)
            .filter(|&s| self.records[s as usize].is_some())
            .collect();
        let mut pos = vec![u32::MAX; self.records.len()];
        for (i, &s) in live.iter().enumerate() {
            pos[s as usize] = i as u32;
        }
        let mut links = Vec::new();
        for &s in &live {
            for l in &self.links[s as usize] {
                let (a, b) = (pos[s as usize], pos[l.to as usize]);
                if a < b && b != u32::MAX {
                    links.push((a, b, l.weight, l.matched));
                }
            }
        }
        let file = IndexFileOut {
            config: &self.config,
            model: &self.model,
            next_profile: self.next_profile,
            next_tombstone: self.next_tombstone,
            records: SavedRecords {
                index: self,
                live: &live,
            },
            links,
            log: &self.log,
            pending: &self.pending,
        };
        let body = serde_json::to_vec(&file).map_err(|e| Error::Io {
            origin: "<writer>".into(),
            source: std::io::Error::other(e),
        })?;
        let io = |source| Error::Io {
            origin: "<writer>".into(),
            source,
        };
        writeln!(
            writer,
            "{MAGIC} {FORMAT_VERSION} {} {:016x}",
            body.len(),
            body_checksum(&body)
        )
        .map_err(io)?;
        writer.write_all(&body).map_err(io)?;
        writer.flush().map_err(io)
    }

    /// Writes the index to a file (through a temporary file renamed into place, so a crash
    /// never leaves half a file under the name).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] naming the file.
    pub fn save_to_path(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let tmp = path.with_extension("tmp");
        let io = |source| Error::Io {
            origin: origin.clone(),
            source,
        };
        let file = std::fs::File::create(&tmp).map_err(io)?;
        let mut w = std::io::BufWriter::new(file);
        self.save(&mut w).map_err(|e| match e {
            Error::Io { source, .. } => io(source),
            other => other,
        })?;
        w.into_inner()
            .map_err(|e| io(e.into_error()))?
            .sync_all()
            .map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Reads an index written by [`MatchIndex::save`].
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when reading fails; [`Error::Corrupt`] when the data is not an index of
    /// this format version, is truncated or altered, or is inconsistent.
    pub fn load<R: Read>(reader: R) -> Result<MatchIndex> {
        MatchIndex::load_named(reader, "<reader>")
    }

    /// Reads an index from a file.
    ///
    /// # Errors
    ///
    /// As [`MatchIndex::load`], naming the file.
    pub fn load_from_path(path: impl AsRef<std::path::Path>) -> Result<MatchIndex> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|source| Error::Io {
            origin: origin.clone(),
            source,
        })?;
        MatchIndex::load_named(std::io::BufReader::new(file), &origin)
    }

    fn load_named<R: Read>(mut reader: R, origin: &str) -> Result<MatchIndex> {
        let corrupt = |message: String| Error::Corrupt {
            origin: origin.to_owned(),
            message,
        };
        // The header: at most 128 bytes up to the newline.
        let mut header = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            match reader.read(&mut byte) {
                Ok(0) => return Err(corrupt("the file ends inside the header line".into())),
                Ok(_) if byte[0] == b'\n' => break,
                Ok(_) => header.push(byte[0]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(Error::Io {
                        origin: origin.to_owned(),
                        source,
                    });
                }
            }
            if header.len() > 128 {
                return Err(corrupt("no header line (is this a mergetag index?)".into()));
            }
        }
        let header = String::from_utf8_lossy(&header);
        let parts: Vec<&str> = header.split(' ').collect();
        let [magic, version, len, sum] = parts[..] else {
            return Err(corrupt(
                "malformed header line (is this a mergetag index?)".into(),
            ));
        };
        if magic != MAGIC {
            return Err(corrupt("not a mergetag index file".into()));
        }
        if version != FORMAT_VERSION.to_string() {
            return Err(corrupt(format!(
                "format version {version}; this build reads version {FORMAT_VERSION}"
            )));
        }
        let len: u64 = len
            .parse()
            .map_err(|_| corrupt("malformed body length in the header".into()))?;
        let sum = u64::from_str_radix(sum, 16)
            .map_err(|_| corrupt("malformed checksum in the header".into()))?;
        let mut body = Vec::new();
        // Read at most one byte more than announced, so a longer file is caught too.
        (&mut reader)
            .take(len.saturating_add(1))
            .read_to_end(&mut body)
            .map_err(|source| Error::Io {
                origin: origin.to_owned(),
                source,
            })?;
        if (body.len() as u64) < len {
            return Err(corrupt(format!(
                "truncated: the header announces {len} bytes, the file holds {}",
                body.len()
            )));
        }
        if body.len() as u64 > len {
            return Err(corrupt(format!(
                "the file holds more than the {len} bytes its header announces"
            )));
        }
        if body_checksum(&body) != sum {
            return Err(corrupt(
                "checksum mismatch: the file was altered or damaged".into(),
            ));
        }
        let file: IndexFileIn = serde_json::from_slice(&body).map_err(|e| {
            corrupt(format!(
                "body line {}, column {}: {}",
                e.line(),
                e.column(),
                mergetag_model::text_position::without_json_position(&e.to_string())
            ))
        })?;
        MatchIndex::from_file(file).map_err(|e| match e {
            Error::Invalid { path, message } => corrupt(format!("{path}: {message}")),
            other => other,
        })
    }

    /// Rebuilds an index from a file body, checking its consistency; an inconsistency is an
    /// [`Error::Invalid`] at its key path in the body (`config.threshold`, `model.prior`,
    /// `records`, `links`, `log`).
    fn from_file(file: IndexFileIn) -> Result<MatchIndex> {
        let deduper = file.config.build().map_err(|e| e.within("config"))?;
        file.model
            .check(&file.config)
            .map_err(|e| e.within("model"))?;
        let mut index = MatchIndex::new(&deduper, &file.model).map_err(|e| e.within("config"))?;
        let records = file.records.0;
        let n = records.len();
        if n >= u32::MAX as usize {
            return Err(Error::invalid("records", "too many records"));
        }
        if let Some(&(_, _, p)) = records.iter().find(|(_, _, p)| *p >= file.next_profile) {
            return Err(Error::invalid(
                "records",
                format!(
                    "profile id {p} is not below next_profile {}",
                    file.next_profile
                ),
            ));
        }
        let mut slot_of = HashMap::with_capacity(n);
        for (s, (id, _, _)) in records.iter().enumerate() {
            if slot_of.insert(id.clone(), s as u32).is_some() {
                return Err(Error::invalid(
                    "records",
                    format!("record id `{id}` appears twice"),
                ));
            }
        }
        // Folded columns and blocking keys, a chunk of records unpacked at a time.
        let specs = column_specs(&index.config);
        let passes = pass_specs(&index.config);
        let mut extracted = extract::<Record>(&[], &specs, &passes);
        for chunk in records.chunks(1 << 16) {
            let unpacked: Vec<Record> = chunk
                .par_iter()
                .map(|(id, packed, _)| packed.unpack(id.clone()))
                .collect::<Option<_>>()
                .ok_or_else(|| Error::invalid("records", "a record could not be stored"))?;
            append_extracted(&mut extracted, extract(&unpacked, &specs, &passes));
        }
        let (columns, keys) = extracted;
        let store = per_comparison(&index.config, columns)
            .into_iter()
            .map(|(c, main, swap)| Prepared::new(c, main.unwrap_or_default(), swap))
            .collect();
        index.install_columns(store, keys);
        if let Some(&(a, b, ..)) = file
            .links
            .iter()
            .find(|&&(a, b, weight, _)| a >= b || b as usize >= n || !weight.is_finite())
        {
            return Err(Error::invalid(
                "links",
                format!("scored pair ({a}, {b}) does not name two records of the file"),
            ));
        }
        index.install_links(n, file.links);
        index.install_profiles(records.iter().map(|&(_, _, p)| p).collect());
        index.records = records
            .into_iter()
            .map(|(id, packed, _)| Some((id, packed)))
            .collect();
        index.slot_of = slot_of;
        index.next_profile = file.next_profile.max(1);
        index.next_tombstone = file.next_tombstone.max(1);
        for (i, e) in file.log.iter().enumerate() {
            if e.seq != i as u64 {
                return Err(Error::invalid(
                    "log",
                    format!("merge log entry {i} is numbered {}", e.seq),
                ));
            }
        }
        index.log = file.log;
        index.pending = file.pending;
        Ok(index)
    }
}
