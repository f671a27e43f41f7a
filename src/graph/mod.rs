//! The service graph and the NetworkPolicies derived from it.

use serde_json::Value;

use crate::config::Config;
use crate::krm::FnResult;

/// What NetworkPolicy generation produced.
#[derive(Debug, Default)]
pub struct GraphOutcome {
    /// NetworkPolicies to add (marked generated, with their own paths).
    pub resources: Vec<Value>,
    pub results: Vec<FnResult>,
}

/// Builds the graph from the items and emits the policies.
pub fn generate(_items: &[Value], _config: &Config) -> GraphOutcome {
    GraphOutcome::default()
}

/// The graph as Mermaid or DOT text.
pub fn render(_items: &[Value], _config: &Config, format: crate::cli::GraphFormat) -> String {
    match format {
        crate::cli::GraphFormat::Mermaid => "flowchart LR\n".to_string(),
        crate::cli::GraphFormat::Dot => "digraph services {\n}\n".to_string(),
    }
}
