//! [`KafkaSettings`]: the `[sources.settings]` table of a `kind = "kafka"` source.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use mergetag_sources::{SourceConfig, SourceKind};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::source::{KafkaSource, KafkaSourceBuilder, StartAt};

/// What a `kind = "kafka"` source reads, as its `[sources.settings]` table says. Unknown keys
/// are errors.
///
/// ```toml
/// [[sources]]
/// name = "events"
/// kind = "kafka"
/// preset = "segment_identify"          # column-map keys as for files (JSON Lines mapping)
/// on_bad_row = "quarantine"            # messages that are not JSON objects or do not convert
/// [sources.settings]
/// brokers = "127.0.0.1:9092"           # bootstrap brokers, host:port, commas between
/// topics = ["identifies"]              # or topic = "identifies"
/// group_id = "mergetag"                # the consumer group whose offsets are committed
/// start_at = "earliest"                # or "latest": where a group without offsets starts
/// max_messages = 100000                # end the batch after this many messages (optional)
/// stop_at_end = true                   # end when every partition is read to its end (default)
/// idle_timeout_ms = 10000              # end when nothing comes for this long (default 10 s)
/// dedup_field = "messageId"            # drop a message whose field repeats one read before
/// commit = "after_outputs"             # or "never" (the default): see below
/// [sources.settings.properties]        # more librdkafka consumer properties (optional)
/// "session.timeout.ms" = "10000"
/// ```
///
/// When the group's offsets are committed ([`PipelineCommit`]): with `commit =
/// "after_outputs"`, once the run's outputs have all been written (`mergetag run`,
/// `mergetag::pipeline::run_config`; in code, `RunOutput::commit_sources` after you have stored
/// the results), through [`Source::commit`](mergetag_model::Source::commit); never when
/// reading ends. A run that fails before that (reading, a stage, writing an output) commits
/// nothing, and the next run reads the same messages again. With `commit = "never"`, the
/// default, no run commits and each reads from the group's last committed offsets again (at
/// least once, the run deduplicating by record key). `commit_at_end = true` / `false`, the
/// key's first spelling, means `"after_outputs"` / `"never"`.
///
/// ```
/// use mergetag_kafka::KafkaSettings;
/// use mergetag_sources::SourceConfig;
///
/// let config = SourceConfig::from_toml_str(r#"
///     name = "events"
///     kind = "kafka"
///     key = "userId"
///     [settings]
///     brokers = "127.0.0.1:9092"
///     topic = "identifies"
///     group_id = "mergetag"
/// "#)?;
/// let settings = KafkaSettings::from_source_config(&config)?;
/// assert_eq!(settings.topics, ["identifies"]);
///
/// let typo = SourceConfig::from_toml_str("name = \"e\"\nkind = \"kafka\"\n[settings]\nbrokerz = \"x\"\n")?;
/// let err = KafkaSettings::from_source_config(&typo).unwrap_err();
/// assert!(err.to_string().starts_with("settings: unknown field `brokerz`"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct KafkaSettings {
    /// The bootstrap brokers, `host:port` separated by commas.
    pub brokers: String,
    /// The topics (`topic = "x"` for one).
    #[serde(alias = "topic", deserialize_with = "mergetag_sources::one_or_many")]
    pub topics: Vec<String>,
    /// The consumer group.
    pub group_id: String,
    /// Where a group without committed offsets starts (default `earliest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at: Option<StartAt>,
    /// End the batch after this many messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_messages: Option<u64>,
    /// End the batch when every assigned partition is read to its end (default `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_at_end: Option<bool>,
    /// End the batch when nothing has come for this many milliseconds (default 10,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout_ms: Option<u64>,
    /// Drop a message whose value in this field (after the column map) was read before in
    /// the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_field: Option<String>,
    /// How many dedup keys are remembered (default 100,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_capacity: Option<usize>,
    /// When a pipeline run commits the offsets read (default [`PipelineCommit::Never`]);
    /// also spelt `commit_at_end = true` / `false`.
    #[serde(
        default,
        alias = "commit_at_end",
        skip_serializing_if = "Option::is_none"
    )]
    pub commit: Option<PipelineCommit>,
    /// More librdkafka consumer properties, as text.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
}

impl KafkaSettings {
    /// The settings of a `kind = "kafka"` source, checked.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] at `kind` for another kind of source, at `settings` for an unknown
    /// or missing key or a value of the wrong type, and as [`KafkaSettings::check`].
    pub fn from_source_config(config: &SourceConfig) -> Result<KafkaSettings> {
        if config.kind != SourceKind::Kafka {
            return Err(Error::invalid("kind", "this is not a kafka source"));
        }
        let table = serde_json::Value::Object(config.settings.clone().into_iter().collect());
        let settings: KafkaSettings =
            serde_json::from_value(table).map_err(|e| Error::invalid("settings", e.to_string()))?;
        settings.check()?;
        Ok(settings)
    }

    /// Checks that the settings name brokers, topics and a group, and sensible limits.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the key (`settings.group_id`) and how to fix it.
    pub fn check(&self) -> Result<()> {
        if self.brokers.trim().is_empty() || self.brokers.split(',').any(|b| b.trim().is_empty()) {
            return Err(Error::invalid(
                "settings.brokers",
                "name the bootstrap brokers: brokers = \"host:port\", separated by commas",
            ));
        }
        if self.topics.is_empty() || self.topics.iter().any(|t| t.trim().is_empty()) {
            return Err(Error::invalid(
                "settings.topics",
                "name at least one topic (topic = \"events\"), and no empty one",
            ));
        }
        if self.group_id.trim().is_empty() {
            return Err(Error::invalid(
                "settings.group_id",
                "name the consumer group whose offsets are committed: group_id = \"mergetag\"",
            ));
        }
        if self.max_messages == Some(0) {
            return Err(Error::invalid(
                "settings.max_messages",
                "read at least 1 message, or remove the key for no limit",
            ));
        }
        if self.idle_timeout_ms == Some(0) {
            return Err(Error::invalid(
                "settings.idle_timeout_ms",
                "wait at least 1 ms (the default is 10000)",
            ));
        }
        if self.dedup_capacity == Some(0) {
            return Err(Error::invalid(
                "settings.dedup_capacity",
                "remember at least 1 key, or remove dedup_field",
            ));
        }
        if let Some(f) = &self.dedup_field
            && f.trim().is_empty()
        {
            return Err(Error::invalid(
                "settings.dedup_field",
                "the field name is empty",
            ));
        }
        Ok(())
    }

    /// A builder configured as these settings say (without the column map).
    pub fn builder(&self) -> KafkaSourceBuilder {
        let mut b = KafkaSourceBuilder::default();
        b.brokers(&self.brokers).group_id(&self.group_id);
        for t in &self.topics {
            b.topic(t);
        }
        if let Some(s) = self.start_at {
            b.start_at(s);
        }
        if let Some(n) = self.max_messages {
            b.max_messages(n);
        }
        if let Some(y) = self.stop_at_end {
            b.stop_at_end(y);
        }
        if let Some(ms) = self.idle_timeout_ms {
            b.idle_timeout(Duration::from_millis(ms));
        }
        if let Some(f) = &self.dedup_field {
            b.dedup_field(f);
        }
        if let Some(n) = self.dedup_capacity {
            b.dedup_capacity(n);
        }
        b.commit_on_ack(self.commit == Some(PipelineCommit::AfterOutputs));
        for (k, v) in &self.properties {
            b.property(k, v);
        }
        b
    }
}

/// When a pipeline run commits a Kafka source's offsets: the `commit` key of its
/// `[sources.settings]` table, `"after_outputs"` or `"never"` (the default). The older key
/// `commit_at_end` takes `true` (for `"after_outputs"`) or `false` (for `"never"`).
///
/// ```
/// use mergetag_kafka::{KafkaSettings, PipelineCommit};
/// use mergetag_sources::SourceConfig;
///
/// let settings = |extra: &str| {
///     let text = format!("name = \"e\"\nkind = \"kafka\"\n[settings]\nbrokers = \"127.0.0.1:9092\"\ntopic = \"t\"\ngroup_id = \"g\"\n{extra}");
///     KafkaSettings::from_source_config(&SourceConfig::from_toml_str(&text).unwrap())
/// };
/// assert_eq!(settings("commit = \"after_outputs\"")?.commit, Some(PipelineCommit::AfterOutputs));
/// assert_eq!(settings("commit_at_end = true")?.commit, Some(PipelineCommit::AfterOutputs));
/// assert_eq!(settings("commit_at_end = false")?.commit, Some(PipelineCommit::Never));
/// assert_eq!(settings("")?.commit, None); // never
/// # Ok::<(), mergetag_kafka::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PipelineCommit {
    /// Commit once the run's outputs are all written ([`Source::commit`], which the pipeline
    /// calls then), so that the next run goes on after the messages this one read.
    ///
    /// [`Source::commit`]: mergetag_model::Source::commit
    AfterOutputs,
    /// Never commit (the default): every run reads from the group's last committed offsets.
    #[default]
    Never,
}

impl<'de> Deserialize<'de> for PipelineCommit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = PipelineCommit;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("\"after_outputs\" or \"never\" (or, as commit_at_end, true or false)")
            }
            fn visit_bool<E: serde::de::Error>(
                self,
                v: bool,
            ) -> std::result::Result<Self::Value, E> {
                Ok(if v {
                    PipelineCommit::AfterOutputs
                } else {
                    PipelineCommit::Never
                })
            }
            fn visit_str<E: serde::de::Error>(
                self,
                v: &str,
            ) -> std::result::Result<Self::Value, E> {
                match v {
                    "after_outputs" => Ok(PipelineCommit::AfterOutputs),
                    "never" => Ok(PipelineCommit::Never),
                    _ => Err(E::unknown_variant(v, &["after_outputs", "never"])),
                }
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Opens the `kind = "kafka"` source `config` describes: its settings, its column map (a
/// file resolved against `base_dir`) and its `on_bad_row`.
///
/// # Errors
///
/// Those of [`KafkaSettings::from_source_config`], [`SourceConfig::check`] and
/// [`KafkaSourceBuilder::connect`] (a property this source owns is refused at
/// `settings.properties.KEY`).
pub fn open(config: &SourceConfig, base_dir: impl AsRef<Path>) -> Result<KafkaSource> {
    config.check()?;
    let settings = KafkaSettings::from_source_config(config)?;
    let mut b = settings.builder();
    if let Some(map) = config.column_map(base_dir)? {
        b.column_map(map);
    }
    b.on_bad_row(config.on_bad_row);
    b.connect(&config.name).map_err(|e| match e {
        Error::Invalid { path, message } => Error::Invalid {
            path: format!("settings.{path}"),
            message,
        },
        e => e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(extra: &str) -> Result<KafkaSettings> {
        let text = format!(
            "name = \"e\"\nkind = \"kafka\"\n[settings]\nbrokers = \"127.0.0.1:9092\"\ntopic = \"t\"\ngroup_id = \"g\"\n{extra}"
        );
        KafkaSettings::from_source_config(&SourceConfig::from_toml_str(&text).unwrap())
    }

    #[test]
    fn each_bad_setting_is_named() {
        assert!(settings("").is_ok());
        for (extra, at) in [
            ("max_messages = 0", "settings.max_messages: "),
            ("idle_timeout_ms = 0", "settings.idle_timeout_ms: "),
            ("dedup_capacity = 0", "settings.dedup_capacity: "),
            ("dedup_field = \" \"", "settings.dedup_field: "),
            (
                "start_at = \"middle\"",
                "settings: unknown variant `middle`",
            ),
            ("stop_at_end = \"yes\"", "settings: invalid type"),
            (
                "commit = \"at_end\"",
                "settings: unknown variant `at_end`, expected `after_outputs` or `never`",
            ),
            (
                "commit = 1",
                "settings: invalid type: integer `1`, expected \"after_outputs\"",
            ),
            (
                "commit = \"never\"\ncommit_at_end = true",
                "settings: duplicate field `commit`",
            ),
        ] {
            let e = settings(extra).unwrap_err().to_string();
            assert!(e.starts_with(at), "{extra}: {e}");
        }
        for (text, at) in [
            (
                "name = \"e\"\nkind = \"kafka\"\n[settings]\ntopic = \"t\"\ngroup_id = \"g\"\n",
                "settings: missing field `brokers`",
            ),
            (
                "name = \"e\"\nkind = \"kafka\"\n[settings]\nbrokers = \"a:1,\"\ntopic = \"t\"\ngroup_id = \"g\"\n",
                "settings.brokers: ",
            ),
            (
                "name = \"e\"\nkind = \"kafka\"\n[settings]\nbrokers = \"a:1\"\ntopics = []\ngroup_id = \"g\"\n",
                "settings.topics: ",
            ),
            (
                "name = \"e\"\nkind = \"kafka\"\n[settings]\nbrokers = \"a:1\"\ntopic = \"t\"\ngroup_id = \"\"\n",
                "settings.group_id: ",
            ),
        ] {
            let config = SourceConfig::from_toml_str(text).unwrap();
            let e = KafkaSettings::from_source_config(&config)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(at), "{e}");
        }
        let postgres = SourceConfig::from_toml_str(
            "name = \"e\"\nkind = \"postgres\"\n[settings]\ntable = \"t\"\n",
        )
        .unwrap();
        let e = KafkaSettings::from_source_config(&postgres).unwrap_err();
        assert!(e.to_string().starts_with("kind: "), "{e}");
    }
}
