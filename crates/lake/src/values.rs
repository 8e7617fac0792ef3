//! The per-profile values of a view's rows, which mapping variables read as
//! `view.<view>.<column>`.

use std::collections::{BTreeMap, HashMap};

use arrow::record_batch::RecordBatch;
use mergetag_model::Value;

use crate::convert::Column;

/// Adds to `out` the values the rows of view `view` (`batches`, the view's result) give each
/// profile: profile id -> view -> an object of the view's other columns, from the view's first
/// row for that profile. Rows without a `profile_id` column, or whose id is not an integer,
/// add nothing.
///
/// [`SemanticLayer::profile_values`](crate::SemanticLayer::profile_values) runs each view and
/// calls this; a result computed elsewhere (your own DataFusion or Polars query) can be added
/// the same way.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Arc;
/// use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
/// use mergetag_lake::add_profile_values;
/// use mergetag_model::Value;
///
/// let batch = RecordBatch::try_from_iter([
///     ("profile_id", Arc::new(Int64Array::from(vec![1, 1, 2])) as ArrayRef),
///     ("category", Arc::new(StringArray::from(vec!["shoes", "hats", "bags"])) as ArrayRef),
/// ])?;
/// let mut values = HashMap::new();
/// add_profile_values("favourite", &[batch], &mut values);
/// assert_eq!(values[&1]["favourite"].pointer("category"), Some(&Value::from("shoes")));
/// assert_eq!(values[&2]["favourite"].pointer("category"), Some(&Value::from("bags")));
/// # Ok::<(), arrow::error::ArrowError>(())
/// ```
pub fn add_profile_values(
    view: &str,
    batches: &[RecordBatch],
    out: &mut HashMap<i64, BTreeMap<String, Value>>,
) {
    for batch in batches {
        let schema = batch.schema();
        let Ok(id_col) = schema.index_of("profile_id") else {
            return;
        };
        // Each column resolved once per batch, and each name shared by the rows: the per-row
        // work is the values themselves.
        let ids = Column::new(batch.column(id_col));
        let others: Vec<(String, Column)> = schema
            .fields()
            .iter()
            .zip(batch.columns())
            .enumerate()
            .filter(|(i, _)| *i != id_col)
            .map(|(_, (f, c))| (f.name().clone(), Column::new(c)))
            .collect();
        out.reserve(batch.num_rows());
        for row in 0..batch.num_rows() {
            let id = match ids.value(row) {
                Ok(Value::Int(i)) => i,
                Ok(Value::Text(t)) => match t.trim().parse() {
                    Ok(i) => i,
                    Err(_) => continue,
                },
                _ => continue,
            };
            let entry = out.entry(id).or_default();
            if entry.contains_key(view) {
                continue;
            }
            // Inserted one by one: collecting would gather and sort the pairs first.
            let mut object = BTreeMap::new();
            for (name, c) in &others {
                object.insert(name.clone(), c.value(row).unwrap_or(Value::Null));
            }
            entry.insert(view.to_owned(), Value::Object(object));
        }
    }
}
