//! The comparison and scoring UDFs: one call per batch over Arrow arrays, into the dedup
//! crate's own comparison and scoring code.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, UInt64Array};
use arrow::datatypes::{DataType, Int64Type, UInt64Type};
use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use mergetag_dedup::{Deduper, Features, Scorer, TrainedModel};

/// The name of the levels UDF in SQL.
pub const LEVELS_UDF: &str = "mergetag_levels";
/// The name of the weight UDF in SQL.
pub const WEIGHT_UDF: &str = "mergetag_weight";

/// `mergetag_levels(left features..., right features...)`: the comparison levels of each row's
/// pair of records, packed 4 bits per comparison into a `UInt64`, by
/// [`Deduper::compare_features`] (the code [`Deduper::run`] compares with).
///
/// Its arguments are the feature columns of [`Features::names`] for the left record, then
/// the same for the right: strings (`Utf8`, `LargeUtf8` or `Utf8View`) holding folded values,
/// empty or null when missing. One call compares a whole batch.
#[derive(Debug)]
pub struct LevelsUdf {
    deduper: Deduper,
    columns: usize,
    signature: Signature,
}

impl LevelsUdf {
    /// The UDF comparing as `deduper` compares.
    pub fn new(deduper: Deduper) -> LevelsUdf {
        let columns = Features::empty(&deduper).column_count();
        LevelsUdf {
            deduper,
            columns,
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }

    /// The deduplicator it compares with: what a plan codec sends to a distributed
    /// engine's workers to build the same UDF there.
    pub fn deduper(&self) -> &Deduper {
        &self.deduper
    }
}

impl PartialEq for LevelsUdf {
    fn eq(&self, other: &Self) -> bool {
        self.deduper.config() == other.deduper.config()
    }
}

impl Eq for LevelsUdf {}

impl Hash for LevelsUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        LEVELS_UDF.hash(state);
        self.columns.hash(state);
    }
}

/// The rows of `arrays` as features: each array one column of folded strings.
fn features_of(deduper: &Deduper, arrays: &[ArrayRef]) -> DfResult<Features> {
    let mut features = Features::empty(deduper);
    for (c, array) in arrays.iter().enumerate() {
        match array.data_type() {
            DataType::Utf8 => {
                for v in array.as_string::<i32>() {
                    features.push(c, v.unwrap_or(""));
                }
            }
            DataType::LargeUtf8 => {
                for v in array.as_string::<i64>() {
                    features.push(c, v.unwrap_or(""));
                }
            }
            DataType::Utf8View => {
                for v in array.as_string_view() {
                    features.push(c, v.unwrap_or(""));
                }
            }
            DataType::Null => {
                for _ in 0..array.len() {
                    features.push(c, "");
                }
            }
            other => {
                return Err(DataFusionError::Execution(format!(
                    "{LEVELS_UDF}: argument {} is {other}, not a string",
                    c + 1
                )));
            }
        }
    }
    Ok(features)
}

impl ScalarUDFImpl for LevelsUdf {
    fn name(&self) -> &str {
        LEVELS_UDF
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        if arg_types.len() != 2 * self.columns {
            return Err(DataFusionError::Plan(format!(
                "{LEVELS_UDF} takes {} feature columns of the left record then {} of the right, not {} arguments",
                self.columns,
                self.columns,
                arg_types.len()
            )));
        }
        Ok(DataType::UInt64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        if arrays.len() != 2 * self.columns {
            return Err(DataFusionError::Execution(format!(
                "{LEVELS_UDF}: {} arguments, expected {}",
                arrays.len(),
                2 * self.columns
            )));
        }
        let (l, r) = arrays.split_at(self.columns);
        let left = features_of(&self.deduper, l)?;
        let right = features_of(&self.deduper, r)?;
        let patterns = self
            .deduper
            .compare_features(&left, &right)
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        Ok(ColumnarValue::Array(Arc::new(UInt64Array::from(patterns))))
    }
}

/// `mergetag_weight(pattern, count, total, ...)`: the match weight of a level pattern under
/// a trained model, by [`Scorer::weight`] (the code [`Deduper::run`] scores with).
///
/// After the pattern come, for each term-frequency adjusted comparison in configuration
/// order, the count of the first record's folded value among the field's non-missing values
/// (null when missing) and the number of non-missing values, both integers.
#[derive(Debug)]
pub struct WeightUdf {
    model: TrainedModel,
    scorer: Scorer,
    /// The term-frequency adjusted comparisons, in order.
    tf: Vec<usize>,
    signature: Signature,
}

impl WeightUdf {
    /// The UDF scoring with `model` as it is (its prior included: see
    /// [`TrainedModel::for_blocking`]).
    pub fn new(model: TrainedModel) -> WeightUdf {
        let scorer = Scorer::new(&model);
        let tf = (0..model.comparisons.len())
            .filter(|&c| scorer.uses_term_frequency(c))
            .collect();
        WeightUdf {
            model,
            scorer,
            tf,
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }

    /// The term-frequency adjusted comparisons (their indexes), whose counts follow the
    /// pattern.
    pub fn term_frequency_comparisons(&self) -> &[usize] {
        &self.tf
    }

    /// The model it scores with: what a plan codec sends to a distributed engine's workers
    /// to build the same UDF there.
    pub fn model(&self) -> &TrainedModel {
        &self.model
    }
}

impl PartialEq for WeightUdf {
    fn eq(&self, other: &Self) -> bool {
        self.model == other.model
    }
}

impl Eq for WeightUdf {}

impl Hash for WeightUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        WEIGHT_UDF.hash(state);
        self.tf.hash(state);
    }
}

impl ScalarUDFImpl for WeightUdf {
    fn name(&self) -> &str {
        WEIGHT_UDF
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        if arg_types.len() != 1 + 2 * self.tf.len() {
            return Err(DataFusionError::Plan(format!(
                "{WEIGHT_UDF} takes a pattern and a count and total for each of {} term-frequency comparisons, not {} arguments",
                self.tf.len(),
                arg_types.len()
            )));
        }
        Ok(DataType::Float64)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> DfResult<Vec<DataType>> {
        Ok(arg_types
            .iter()
            .enumerate()
            .map(|(i, _)| {
                if i == 0 {
                    DataType::UInt64
                } else {
                    DataType::Int64
                }
            })
            .collect())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let Some((pattern, rest)) = arrays.split_first() else {
            return Err(DataFusionError::Execution(format!(
                "{WEIGHT_UDF}: no pattern argument"
            )));
        };
        let patterns = pattern.as_primitive_opt::<UInt64Type>().ok_or_else(|| {
            DataFusionError::Execution(format!("{WEIGHT_UDF}: the pattern is not a UInt64"))
        })?;
        let counts = rest
            .iter()
            .map(|a| {
                a.as_primitive_opt::<Int64Type>().ok_or_else(|| {
                    DataFusionError::Execution(format!(
                        "{WEIGHT_UDF}: a count or total is not an Int64"
                    ))
                })
            })
            .collect::<DfResult<Vec<_>>>()?;
        if counts.len() != 2 * self.tf.len() {
            return Err(DataFusionError::Execution(format!(
                "{WEIGHT_UDF}: {} counts and totals, expected {}",
                counts.len(),
                2 * self.tf.len()
            )));
        }
        let weights: Float64Array = (0..patterns.len())
            .map(|row| {
                if patterns.is_null(row) {
                    return None;
                }
                Some(self.scorer.weight(patterns.value(row), |c| {
                    let k = self.tf.iter().position(|&t| t == c)?;
                    let (count, total) = (counts[2 * k], counts[2 * k + 1]);
                    if count.is_null(row) || total.is_null(row) {
                        return None;
                    }
                    let (n, t) = (count.value(row), total.value(row));
                    Some(Scorer::term_frequency(
                        u64::try_from(n).unwrap_or(0),
                        u64::try_from(t).unwrap_or(0),
                    ))
                }))
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(weights)))
    }
}

/// Registers [`LevelsUdf`] (as `mergetag_levels`) and, given a model, [`WeightUdf`] (as
/// `mergetag_weight`) on any session: a local one, or the session of a distributed engine's
/// executor.
pub fn register_udfs(ctx: &SessionContext, deduper: &Deduper, model: Option<&TrainedModel>) {
    ctx.register_udf(ScalarUDF::new_from_impl(LevelsUdf::new(deduper.clone())));
    if let Some(model) = model {
        ctx.register_udf(ScalarUDF::new_from_impl(WeightUdf::new(model.clone())));
    }
}
