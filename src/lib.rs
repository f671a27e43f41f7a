//! `apply-defaults`: a KRM function that fills in production defaults for Kubernetes workloads.
//!
//! Data flow: [`krm`] reads the ResourceList, `config` loads and validates the function config
//! over the shipped profile, `model` builds one view of the input (each workload classified
//! once), `graph` derives NetworkPolicies from it, `pipeline` applies the `defaults` to each
//! workload through one pod-template accessor (`workload`), `results` words and orders what
//! happened, and [`krm`] writes the result. [`run`] wraps it for each CLI mode.
//!
//! The public surface is what the binary, the benches and the integration tests need: [`cli`],
//! [`krm`], [`run`] and the re-exports below; every other module is the crate's own.

pub(crate) mod classify;
pub mod cli;
pub(crate) mod config;
pub(crate) mod defaults;
/// The generated config reference: built for its freshness tests and for the `gen-docs`
/// binary (feature `docs-tools`), never into the function itself.
#[cfg(any(test, feature = "docs-tools"))]
pub mod docs;
pub(crate) mod emit;
pub(crate) mod generated;
pub(crate) mod graph;
pub(crate) mod images;
pub mod krm;
pub(crate) mod kustomization;
pub(crate) mod labels;
pub(crate) mod model;
pub(crate) mod object;
pub(crate) mod optout;
pub(crate) mod pipeline;
pub(crate) mod quantity;
pub(crate) mod report;
pub(crate) mod results;
pub mod run;
pub(crate) mod service_accounts;
pub(crate) mod suggest;
pub(crate) mod unmatched;
pub(crate) mod workload;

pub use config::Config;
pub use emit::ItemWriter;
pub use graph::generate as generate_network_policies;
pub use object::key_of;
pub use pipeline::{process, process_items};
pub use quantity::Quantity;
pub use report::diff;
