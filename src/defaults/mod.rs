//! The per-workload defaults. Each injector is a pure function over one workload tree and the
//! resolved class settings; it records every field it sets as a [`Change`], and may generate
//! new resources (HPA, PDB). The pipeline turns changes into results.

pub mod autoscaling;
pub mod companions;
pub mod disruption;
pub mod probes;
pub mod replicas;
pub mod resources;
pub mod security;
pub mod spreading;
#[cfg(test)]
pub mod testing;

use serde_json::Value;

use crate::config::{Class, Config, DefaultKind};
use crate::krm::FnResult;
use crate::model::{Model, Workload};
use crate::optout::OptOut;
use crate::workload::WorkloadKind;

/// One field the function set (or, in check mode, would set).
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub default: DefaultKind,
    /// Dotted path, list items by key: `spec.template.spec.containers[name=app].resources.limits.cpu`.
    pub path: String,
    pub value: Value,
}

/// What applying the defaults to one workload produced.
#[derive(Debug, Default)]
pub struct Outcome {
    pub changes: Vec<Change>,
    /// Warnings (and errors) about this workload; the pipeline adds the resource reference.
    pub results: Vec<FnResult>,
    /// New resources (HPA, PDB) for this workload.
    pub generated: Vec<Value>,
}

impl Change {
    /// The change as the summary needs it when results only count changes per default: no
    /// path, no value (at 10,000 workloads the copies are tens of MB).
    pub fn counted_only(self) -> Change {
        Change {
            default: self.default,
            path: String::new(),
            value: Value::Null,
        }
    }
}

impl Outcome {
    pub fn set(&mut self, default: DefaultKind, path: impl Into<String>, value: Value) {
        self.changes.push(Change {
            default,
            path: path.into(),
            value,
        });
    }

    pub fn warn(&mut self, message: impl Into<String>) {
        self.results.push(FnResult::warning(message));
    }
}

/// Everything an injector may read about the workload it works on.
pub struct WorkloadCtx<'a> {
    pub config: &'a Config,
    pub class: &'a Class,
    /// The run's view of this workload: kind, opt-outs, ServiceAccount, scale decision.
    pub workload: &'a Workload,
    /// The run's model of the input (the user's PDBs, for one).
    pub model: &'a Model,
}

impl<'a> WorkloadCtx<'a> {
    pub fn kind(&self) -> &'a WorkloadKind {
        &self.workload.kind
    }

    pub fn opt_out(&self) -> &'a OptOut {
        &self.workload.opt_out
    }

    /// The default is switched on and the resource did not opt out of it.
    pub fn wants(&self, d: DefaultKind) -> bool {
        self.config.applies(d) && !self.opt_out().skips(d)
    }

    /// The default is wanted for this container.
    pub fn wants_container(&self, d: DefaultKind, container: &Value) -> bool {
        let name = container
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        self.config.applies(d) && !self.opt_out().skips_container(name, d)
    }

    /// The config lets this default overwrite what the manifest set.
    pub fn enforces(&self, d: DefaultKind) -> bool {
        self.config.enforces(d)
    }

    /// The replica path of a workload that can carry replicas, HPAs, PDBs and spreading (see
    /// [`crate::model::scaling::Scaling::replicas_path`]).
    pub fn scalable(&self) -> Option<&'a [String]> {
        self.workload.scaling.replicas_path.as_deref()
    }

    /// An info result, in the words of what a check run would do instead.
    pub fn info(&self, done: &str, would: &str) -> FnResult {
        match self.config.mode {
            crate::config::Mode::Check => FnResult::info(would.to_string()),
            crate::config::Mode::Apply => FnResult::info(done.to_string()),
        }
    }
}

/// Applies every wanted default to one workload, in a fixed order (resources before probes and
/// security; then the replica count, the HPA that may take it over, and last the PDB and
/// spreading, which read the final count).
pub fn apply_all(ctx: &WorkloadCtx, item: &mut Value) -> Outcome {
    let mut out = Outcome::default();
    resources::apply(ctx, item, &mut out);
    probes::apply(ctx, item, &mut out);
    security::apply(ctx, item, &mut out);
    replicas::apply(ctx, item, &mut out);
    autoscaling::apply(ctx, item, &mut out);
    disruption::apply(ctx, item, &mut out);
    spreading::apply(ctx, item, &mut out);
    out
}
