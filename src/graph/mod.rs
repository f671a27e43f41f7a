//! The service graph and the least-privilege NetworkPolicies derived from it.
//!
//! The graph reads the run's [`crate::model`] of the input; [`refs`] finds host names in text;
//! [`infer`] builds the graph (inferred and declared flows); [`platform`] adds the callers and
//! callees with no pod in the input (the API server, clients outside the cluster); [`policy`]
//! turns it into NetworkPolicies; [`render`] draws it as Mermaid or DOT.
//!
//! # Ingress controllers
//!
//! Only workloads behind an Ingress or a Gateway API route accept traffic from the ingress
//! controllers, on the backing pod port. The controller is chosen by the route's class
//! ([`gateways`] has the presets); without a class, and for `nginx`, it is every pod of the
//! namespace `ingress-nginx` (selected by its `kubernetes.io/metadata.name` label). Configured
//! controllers replace the presets for every route; for k3s, whose Traefik runs in
//! `kube-system`:
//!
//! ```yaml
//! apiVersion: apply-defaults.dev/v1alpha1
//! kind: ApplyDefaults
//! metadata:
//!   name: defaults
//! spec:
//!   networkPolicy:
//!     ingressControllers:
//!     - namespace: kube-system
//!       podLabels:
//!         app.kubernetes.io/name: traefik
//! ```
//!
//! Several entries allow several controllers (e.g. ingress-nginx and an Envoy Gateway).

pub mod gateways;
pub mod infer;
pub mod monitors;
pub mod names;
pub mod outbound;
pub mod platform;
pub mod policy;
pub mod precision;
pub mod refs;
pub mod render;
pub mod unseen;

use serde_json::Value;

use crate::config::{Config, PeerSpec};
use crate::krm::FnResult;
use crate::model::Model;

/// What NetworkPolicy generation produced.
#[derive(Debug, Default)]
pub struct GraphOutcome {
    /// NetworkPolicies to add (marked generated, with their own paths).
    pub resources: Vec<Value>,
    pub results: Vec<FnResult>,
    /// Services with no visible caller, `namespace/name` (for `--report`).
    pub uncalled: Vec<String>,
}

/// The configured ingress controllers, or the default: every pod of namespace `ingress-nginx`.
pub fn ingress_controllers(config: &Config) -> Vec<PeerSpec> {
    config
        .network
        .ingress_controllers
        .clone()
        .unwrap_or_else(|| {
            vec![PeerSpec {
                namespace: Some("ingress-nginx".into()),
                ..Default::default()
            }]
        })
}

/// Builds the graph from the items and emits the policies (building the model; the pipeline,
/// which has one, calls `generate_with`).
pub fn generate(items: &[Value], config: &Config) -> GraphOutcome {
    generate_with(items, config, &Model::build(items, config))
}

/// Builds the graph from the items and emits the policies, with the run's model.
pub fn generate_with(items: &[Value], config: &Config, model: &Model) -> GraphOutcome {
    let graph = infer::build(items, config, model);
    let policies = policy::emit(items, config, &graph);
    let uncalled = graph
        .uncalled
        .iter()
        .map(|&s| {
            let svc = &graph.model.services[s];
            if svc.namespace.is_empty() {
                svc.name.clone()
            } else {
                format!("{}/{}", svc.namespace, svc.name)
            }
        })
        .collect();
    let mut results = graph.results;
    results.extend(policies.results);
    GraphOutcome {
        resources: policies.resources,
        results,
        uncalled,
    }
}

/// How the graph is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Mermaid,
    Dot,
}

/// The graph as Mermaid or DOT text.
pub fn render(items: &[Value], config: &Config, format: Format) -> String {
    let model = Model::build(items, config);
    let graph = infer::build(items, config, &model);
    match format {
        Format::Mermaid => render::mermaid(&graph, config),
        Format::Dot => render::dot(&graph, config),
    }
}
