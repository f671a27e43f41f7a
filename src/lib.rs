//! `apply-defaults`: a KRM function that fills in production defaults for Kubernetes workloads.
//!
//! Data flow: [`krm`] reads the ResourceList, [`config`] loads and validates the function config
//! over the shipped profile, [`pipeline`] classifies each workload ([`classify`]), applies the
//! [`defaults`] through one pod-template accessor ([`workload`]), derives NetworkPolicies from
//! the service [`graph`], and [`krm`] writes the result. [`run`] wraps it for each CLI mode.

pub mod classify;
pub mod cli;
pub mod config;
pub mod defaults;
pub mod docs;
pub mod emit;
pub mod generated;
pub mod graph;
pub mod images;
pub mod krm;
pub mod labels;
pub mod model;
pub mod object;
pub mod optout;
pub mod pipeline;
pub mod quantity;
pub mod report;
pub mod results;
pub mod run;
pub mod service_accounts;
pub mod suggest;
pub mod unmatched;
pub mod workload;
