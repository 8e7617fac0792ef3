//! Exact deduplication: records whose normalized keys are all equal, in one pass.

use std::collections::HashMap;

use mergetag_model::Record;
use rayon::prelude::*;

use crate::blocking::{KeyPart, block_key};

/// Groups records whose key parts are all present and equal (for example the email dedup key,
/// or phone digits + last name), as a fast first stage or on its own. Returns the group of each
/// record: records without a complete key are alone in their group. Group ids are numbered in
/// the order of each group's first record, so equal inputs give equal outputs.
///
/// ```
/// use mergetag_dedup::{exact, KeyPart, KeyTransform};
/// use mergetag_model::{fields, Record, RecordId};
///
/// let rec = |i, email: &str| {
///     let mut r = Record::new(RecordId::row("s", i));
///     r.set(fields::EMAIL, email);
///     r
/// };
/// let records = [rec(1, "Ann.Lee+x@gmail.com"), rec(2, "x@example.com"), rec(3, "annlee@googlemail.com")];
/// let key = [KeyPart { field: fields::EMAIL.into(), transform: KeyTransform::EmailKey }];
/// assert_eq!(exact::group(&records, &key), [0, 1, 0]);
/// ```
pub fn group(records: &[Record], key: &[KeyPart]) -> Vec<u32> {
    let keys: Vec<u64> = records
        .par_iter()
        .map_init(
            || (String::new(), String::new()),
            |(tmp, text), r| block_key(r, key, tmp, text),
        )
        .collect();
    let mut first: HashMap<u64, u32> = HashMap::new();
    let mut next = 0u32;
    keys.iter()
        .map(|&k| {
            let id = if k == 0 { None } else { first.get(&k).copied() };
            id.unwrap_or_else(|| {
                let id = next;
                next += 1;
                if k != 0 {
                    first.insert(k, id);
                }
                id
            })
        })
        .collect()
}
