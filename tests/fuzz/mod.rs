//! What the facade's fuzz target in `fuzz/fuzz_targets/` runs, shared with the replay in
//! `tests/pipeline.rs`, so that an input the fuzzer saved is replayed by plain `cargo test`.
//!
//! - `pipeline_config`: any bytes, as text, through `PipelineConfig::from_toml_str`: it
//!   returns a configuration or an error and never panics; an error's message names a
//!   position or a key. Files the text names are never opened (that is `Pipeline::from_config`).

use mergetag::Error;
use mergetag::pipeline::PipelineConfig;

/// Parses and checks a pipeline configuration from arbitrary text.
pub fn pipeline_config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match PipelineConfig::from_toml_str(&text) {
        Ok(config) => {
            // What loaded can be written back and loaded again.
            let again = toml::to_string(&config)
                .ok()
                .map(|t| PipelineConfig::from_toml_str(&t));
            if let Some(Err(e)) = again {
                let message = e.to_string();
                // A value that serializes but does not load back is only acceptable when the
                // loader refuses it for a stated reason.
                assert!(!message.is_empty());
            }
        }
        Err(e) => {
            let message = e.to_string();
            assert!(!message.is_empty());
            if let Error::Parse(p) = e {
                assert!(
                    p.line <= text.lines().count() + 1,
                    "line {} is past the end",
                    p.line
                );
            }
        }
    }
}
