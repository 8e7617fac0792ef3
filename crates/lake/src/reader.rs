//! Parquet bytes from an object store: the [`AsyncFileReader`] the Parquet stream reads
//! through (ranged reads, the footer read with the file's size known from the listing).

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};

/// One Parquet object of a store, of a known size.
#[derive(Debug, Clone)]
pub(crate) struct StoreReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
}

impl StoreReader {
    pub(crate) fn new(store: Arc<dyn ObjectStore>, path: Path, size: u64) -> StoreReader {
        StoreReader { store, path, size }
    }
}

fn external(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl AsyncFileReader for StoreReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, Result<Bytes>> {
        async move {
            self.store
                .get_range(&self.path, range)
                .await
                .map_err(external)
        }
        .boxed()
    }

    fn get_byte_ranges(&mut self, ranges: Vec<Range<u64>>) -> BoxFuture<'_, Result<Vec<Bytes>>> {
        async move {
            self.store
                .get_ranges(&self.path, &ranges)
                .await
                .map_err(external)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.size;
            let malformed =
                |m: &str| ParquetError::General(format!("malformed Parquet footer: {m}"));
            if size < 12 {
                return Err(malformed("the file is shorter than a footer"));
            }
            let tail = self.get_bytes(size - 8..size).await?;
            if tail.get(4..8) != Some(b"PAR1".as_slice()) {
                return Err(malformed("no PAR1 at the end (not Parquet, or encrypted)"));
            }
            let len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
            if len + 12 > size {
                return Err(malformed("the metadata length exceeds the file"));
            }
            let bytes = self.get_bytes(size - 8 - len..size - 8).await?;
            check_thrift_lengths(&bytes).map_err(malformed)?;
            let metadata = ParquetMetaDataReader::decode_metadata_with_options(
                &bytes,
                options.map(|o| o.metadata_options()),
            )?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

/// Checks that every length in Parquet's Thrift metadata (compact protocol) fits in the bytes
/// that follow it, before the parquet crate decodes them.
///
/// parquet 59.2 reserves a list's declared length before reading its elements (apache/arrow-rs
/// #10920, fixed after the version DataFusion 55 pins): a 144-byte file can ask for tens of
/// gigabytes, and a refused allocation aborts the process. Every list element, map entry and
/// string byte takes at least one byte of input, so a length beyond the bytes left is refused
/// here as malformed. Walks one struct (`FileMetaData`) to its stop field, at most 64 deep.
pub(crate) fn check_thrift_lengths(buf: &[u8]) -> std::result::Result<(), &'static str> {
    let mut w = Walker { buf, at: 0 };
    w.value(12, 0)
}

struct Walker<'a> {
    buf: &'a [u8],
    at: usize,
}

type Step = std::result::Result<(), &'static str>;

impl Walker<'_> {
    fn left(&self) -> usize {
        self.buf.len() - self.at
    }

    fn byte(&mut self) -> std::result::Result<u8, &'static str> {
        let b = *self
            .buf
            .get(self.at)
            .ok_or("the metadata ends inside a value")?;
        self.at += 1;
        Ok(b)
    }

    fn varint(&mut self) -> std::result::Result<u64, &'static str> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift.min(63);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("a variable-length integer runs on")
    }

    fn skip(&mut self, n: u64) -> Step {
        match usize::try_from(n) {
            Ok(n) if n <= self.left() => {
                self.at += n;
                Ok(())
            }
            _ => Err("a length beyond the metadata"),
        }
    }

    /// Skips one value of compact type `ty`.
    fn value(&mut self, ty: u8, depth: usize) -> Step {
        if depth > 64 {
            return Err("structures nested too deep");
        }
        match ty {
            // Booleans in a list, and bytes, take one byte.
            1..=3 => self.skip(1),
            4..=6 => self.varint().map(|_| ()),
            7 => self.skip(8),
            8 => {
                let n = self.varint()?;
                self.skip(n)
            }
            9 | 10 => {
                let head = self.byte()?;
                let size = match head >> 4 {
                    15 => self.varint()?,
                    n => u64::from(n),
                };
                if size > self.left() as u64 {
                    return Err("a list longer than the metadata");
                }
                for _ in 0..size {
                    self.value(head & 0x0f, depth + 1)?;
                }
                Ok(())
            }
            11 => {
                let size = self.varint()?;
                if size == 0 {
                    return Ok(());
                }
                if size.saturating_mul(2) > self.left() as u64 {
                    return Err("a map longer than the metadata");
                }
                let kinds = self.byte()?;
                for _ in 0..size {
                    self.value(kinds >> 4, depth + 1)?;
                    self.value(kinds & 0x0f, depth + 1)?;
                }
                Ok(())
            }
            12 => loop {
                let head = self.byte()?;
                if head == 0 {
                    return Ok(());
                }
                if head >> 4 == 0 {
                    // A long-form field id follows.
                    self.varint()?;
                }
                match head & 0x0f {
                    // A boolean field's value is its type.
                    1 | 2 => {}
                    t => self.value(t, depth + 1)?,
                }
            },
            _ => Err("an unknown Thrift type"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_thrift_lengths;

    #[test]
    fn thrift_lengths_must_fit_the_bytes_left() {
        // A struct: an i32 field, a list of two i32, a string "hi", then stop.
        let good = [
            0x15, 0x04, 0x19, 0x25, 0x02, 0x04, 0x18, 0x02, b'h', b'i', 0x00,
        ];
        assert_eq!(check_thrift_lengths(&good), Ok(()));
        // A list that claims 109,002,364 elements in a few bytes.
        let long_list = [0x19, 0xf5, 0xfc, 0xc3, 0xfc, 0x33, 0x00];
        assert!(check_thrift_lengths(&long_list).is_err());
        // A string, then a map, longer than what is left.
        assert!(check_thrift_lengths(&[0x18, 0x7f, b'a', 0x00]).is_err());
        assert!(check_thrift_lengths(&[0x1b, 0x40, 0x55, 0x00]).is_err());
        // Truncated, nested too deep, empty.
        assert!(check_thrift_lengths(&[0x15]).is_err());
        assert!(check_thrift_lengths(&[0x1c; 200]).is_err());
        assert!(check_thrift_lengths(&[]).is_err());
    }
}
