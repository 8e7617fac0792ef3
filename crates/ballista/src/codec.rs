//! Plan codecs that carry mergetag's UDFs, with their configuration and model, inside the
//! plans a Ballista client sends its scheduler and the scheduler sends its executors.

use std::sync::Arc;

use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::{DataFusionError, Result as DfResult, TableReference};
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{
    AggregateUDF, Extension, HigherOrderUDF, LogicalPlan, ScalarUDF, WindowUDF,
};
use datafusion::physical_expr_common::physical_expr::proto_decode::PhysicalExprDecodeCtx;
use datafusion::physical_expr_common::physical_expr::proto_encode::PhysicalExprEncodeCtx;
use datafusion::physical_plan::{ExecutionPlan, PhysicalExpr};
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use mergetag_dedup::{DedupConfig, Deduper, TrainedModel};
use mergetag_scale::{LEVELS_UDF, LevelsUdf, WEIGHT_UDF, WeightUdf};
use serde::{Deserialize, Serialize};

/// The payload of `mergetag_levels` in a plan: the configuration it compares with.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelsPayload {
    /// The payload's format; [`FORMAT`] today.
    format: u32,
    config: DedupConfig,
}

/// The payload of `mergetag_weight` in a plan: the model it scores with.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightPayload {
    /// The payload's format; [`FORMAT`] today.
    format: u32,
    model: TrainedModel,
}

/// The payloads' format: a client and a cluster built from different formats refuse each
/// other's plans instead of comparing differently.
const FORMAT: u32 = 1;

/// Writes `node`'s payload into `buf` when it is one of mergetag's UDFs; `Ok(false)` for any
/// other function.
fn encode_udf(node: &ScalarUDF, buf: &mut Vec<u8>) -> DfResult<bool> {
    let inner = node.inner().as_ref();
    let written = if let Some(levels) = inner.downcast_ref::<LevelsUdf>() {
        serde_json::to_writer(
            &mut *buf,
            &LevelsPayload {
                format: FORMAT,
                config: levels.deduper().config().clone(),
            },
        )
    } else if let Some(weight) = inner.downcast_ref::<WeightUdf>() {
        serde_json::to_writer(
            &mut *buf,
            &WeightPayload {
                format: FORMAT,
                model: weight.model().clone(),
            },
        )
    } else {
        return Ok(false);
    };
    written.map_err(|e| {
        DataFusionError::Internal(format!("{}: cannot encode its payload: {e}", node.name()))
    })?;
    Ok(true)
}

/// The UDF `name` rebuilt from its payload, or `None` when `name` is not one of mergetag's
/// UDFs.
fn decode_udf(name: &str, buf: &[u8]) -> Option<DfResult<Arc<ScalarUDF>>> {
    if name != LEVELS_UDF && name != WEIGHT_UDF {
        return None;
    }
    if buf.is_empty() {
        return Some(Err(DataFusionError::Plan(format!(
            "{name} arrived without its configuration: the client session needs mergetag-ballista's codecs (ClusterPlan::session)"
        ))));
    }
    let refused = |e: &dyn std::fmt::Display| {
        DataFusionError::Plan(format!("{name}: cannot decode its payload: {e}"))
    };
    let wrong_format = |format: u32| {
        DataFusionError::Plan(format!(
            "{name}: payload format {format}, this build reads format {FORMAT}: run the same mergetag-ballista on the client, scheduler and executors"
        ))
    };
    Some(if name == LEVELS_UDF {
        serde_json::from_slice::<LevelsPayload>(buf)
            .map_err(|e| refused(&e))
            .and_then(|p| {
                if p.format != FORMAT {
                    return Err(wrong_format(p.format));
                }
                let deduper = Deduper::new(p.config).map_err(|e| refused(&e))?;
                Ok(Arc::new(ScalarUDF::new_from_impl(LevelsUdf::new(deduper))))
            })
    } else {
        serde_json::from_slice::<WeightPayload>(buf)
            .map_err(|e| refused(&e))
            .and_then(|p| {
                if p.format != FORMAT {
                    return Err(wrong_format(p.format));
                }
                Ok(Arc::new(ScalarUDF::new_from_impl(WeightUdf::new(p.model))))
            })
    })
}

/// Ballista's logical plan codec, which also carries `mergetag_levels` and `mergetag_weight`
/// with their configuration and model (as JSON). A client sends logical plans with it; the
/// scheduler decodes them with it.
#[derive(Debug, Default)]
pub struct LogicalCodec {
    inner: BallistaLogicalExtensionCodec,
}

impl LogicalExtensionCodec for LogicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[LogicalPlan],
        ctx: &TaskContext,
    ) -> DfResult<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> DfResult<()> {
        self.inner.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> DfResult<Arc<dyn TableProvider>> {
        self.inner
            .try_decode_table_provider(buf, table_ref, schema, ctx)
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> DfResult<()> {
        self.inner.try_encode_table_provider(table_ref, node, buf)
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> DfResult<Arc<dyn FileFormatFactory>> {
        self.inner.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn FileFormatFactory>,
    ) -> DfResult<()> {
        self.inner.try_encode_file_format(buf, node)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<ScalarUDF>> {
        decode_udf(name, buf).unwrap_or_else(|| self.inner.try_decode_udf(name, buf))
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        if encode_udf(node, buf)? {
            return Ok(());
        }
        self.inner.try_encode_udf(node, buf)
    }

    fn try_decode_higher_order_function(
        &self,
        name: &str,
        buf: &[u8],
    ) -> DfResult<Arc<HigherOrderUDF>> {
        self.inner.try_decode_higher_order_function(name, buf)
    }

    fn try_encode_higher_order_function(
        &self,
        node: &HigherOrderUDF,
        buf: &mut Vec<u8>,
    ) -> DfResult<()> {
        self.inner.try_encode_higher_order_function(node, buf)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<AggregateUDF>> {
        self.inner.try_decode_udaf(name, buf)
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        self.inner.try_encode_udaf(node, buf)
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<WindowUDF>> {
        self.inner.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        self.inner.try_encode_udwf(node, buf)
    }
}

/// Ballista's physical plan codec, which also carries `mergetag_levels` and
/// `mergetag_weight` with their configuration and model (as JSON). The scheduler sends the
/// stages of a job with it; executors decode their tasks with it.
#[derive(Debug, Default)]
pub struct PhysicalCodec {
    inner: BallistaPhysicalExtensionCodec,
}

impl PhysicalExtensionCodec for PhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        self.inner.try_decode(buf, inputs, ctx, proto_converter)
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> DfResult<()> {
        self.inner.try_encode(node, buf, proto_converter)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<ScalarUDF>> {
        decode_udf(name, buf).unwrap_or_else(|| self.inner.try_decode_udf(name, buf))
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        if encode_udf(node, buf)? {
            return Ok(());
        }
        self.inner.try_encode_udf(node, buf)
    }

    fn try_decode_higher_order_function(
        &self,
        name: &str,
        buf: &[u8],
    ) -> DfResult<Arc<HigherOrderUDF>> {
        self.inner.try_decode_higher_order_function(name, buf)
    }

    fn try_encode_higher_order_function(
        &self,
        node: &HigherOrderUDF,
        buf: &mut Vec<u8>,
    ) -> DfResult<()> {
        self.inner.try_encode_higher_order_function(node, buf)
    }

    fn try_decode_expr(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn PhysicalExpr>],
        ctx: &PhysicalExprDecodeCtx<'_>,
    ) -> DfResult<Arc<dyn PhysicalExpr>> {
        self.inner.try_decode_expr(buf, inputs, ctx)
    }

    fn try_encode_expr(
        &self,
        node: &Arc<dyn PhysicalExpr>,
        buf: &mut Vec<u8>,
        ctx: &PhysicalExprEncodeCtx<'_>,
    ) -> DfResult<()> {
        self.inner.try_encode_expr(node, buf, ctx)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<AggregateUDF>> {
        self.inner.try_decode_udaf(name, buf)
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        self.inner.try_encode_udaf(node, buf)
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<WindowUDF>> {
        self.inner.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        self.inner.try_encode_udwf(node, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::execution::FunctionRegistry;
    use mergetag_scale::register_udfs;

    /// Both UDFs go through the codecs and come back equal (same configuration, same
    /// model); other functions are left to Ballista's codec; a UDF without its payload is
    /// an error that says what is missing.
    #[test]
    fn udfs_round_trip_with_their_configuration_and_model() {
        let records = mergetag_testkit::Generator::new(4).generate(60).records;
        let deduper = mergetag_dedup::DedupConfig::contacts().build().unwrap();
        let model = deduper.run(&records).model;
        let ctx = datafusion::prelude::SessionContext::new();
        register_udfs(&ctx, &deduper, Some(&model));
        let logical = LogicalCodec::default();
        let physical = PhysicalCodec::default();
        for name in [LEVELS_UDF, WEIGHT_UDF] {
            let udf = ctx.udf(name).unwrap();
            let mut a = Vec::new();
            logical.try_encode_udf(&udf, &mut a).unwrap();
            let mut b = Vec::new();
            physical.try_encode_udf(&udf, &mut b).unwrap();
            assert_eq!(a, b);
            assert!(!a.is_empty());
            let back = logical.try_decode_udf(name, &a).unwrap();
            assert_eq!(back.as_ref(), udf.as_ref());
            let back = physical.try_decode_udf(name, &b).unwrap();
            assert_eq!(back.as_ref(), udf.as_ref());
            let e = physical.try_decode_udf(name, &[]).unwrap_err();
            assert!(e.to_string().contains("codecs"), "{e}");
            let e = logical.try_decode_udf(name, b"{}").unwrap_err();
            assert!(e.to_string().contains(name), "{e}");
            assert!(e.to_string().contains("cannot decode"), "{e}");
            let text = String::from_utf8(a).unwrap();
            assert!(text.starts_with(r#"{"format":1,"#), "{text}");
            let later = text.replacen(r#""format":1"#, r#""format":2"#, 1);
            let e = physical.try_decode_udf(name, later.as_bytes()).unwrap_err();
            assert!(e.to_string().contains("payload format 2"), "{e}");
        }
        let abs = ctx.udf("abs").unwrap();
        let mut buf = Vec::new();
        logical.try_encode_udf(&abs, &mut buf).unwrap();
        assert!(buf.is_empty());
    }
}
