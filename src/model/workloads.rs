//! The per-workload view: everything the defaults, the graph and the config warnings read about
//! one workload, worked out once per run from its input manifest and the model's indexes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::scaling::{self, Scaling, ScalingIndex};
use super::services::{PortProto, port_number, protocol, scalar};
use crate::classify::{self, Reason};
use crate::config::{Config, DefaultKind};
use crate::optout::OptOut;
use crate::service_accounts::{self, Account, ServiceAccounts};
use crate::workload::{self, WorkloadKind};

/// A container port of a workload's pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodPort {
    pub name: Option<String>,
    pub port: i32,
    pub protocol: String,
}

/// The class a workload falls into, and the rule that chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub name: String,
    pub reason: Reason,
}

/// The ServiceAccount a workload's pods run as, and what the input says about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodAccount {
    /// `serviceAccountName` (or the deprecated `serviceAccount`), `default` when unset.
    pub name: String,
    /// Bindings naming it and its own `automountServiceAccountToken`.
    pub account: Account,
}

/// A workload of the input.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Index of the item in the input.
    pub item: usize,
    pub kind: WorkloadKind,
    pub namespace: String,
    pub name: String,
    /// Labels of its pods (a generated policy's `podSelector.matchLabels`).
    pub labels: BTreeMap<String, String>,
    pub ports: Vec<PodPort>,
    /// Its class, or the error for a class annotation naming an unknown class.
    pub class: Result<Classified, String>,
    /// What the workload and its pod template opted out of.
    pub opt_out: OptOut,
    /// The config's selector picks it: the defaults apply (less its opt-outs).
    pub selected: bool,
    /// The function writes policies for it: selected by the config, not opted out.
    pub managed: bool,
    /// Services whose selectors pick its pods.
    pub services: Vec<usize>,
    /// Its pods' ServiceAccount (None for a workload without a pod spec).
    pub account: Option<PodAccount>,
    /// Who sets its replica count, decided from the input.
    pub scaling: Scaling,
    /// The routes, webhooks, APIServices and monitors that reach it (indexes into
    /// `Model::links`).
    pub links: Vec<usize>,
}

impl Workload {
    /// Reads one workload item.
    pub(super) fn read(
        i: usize,
        item: &Value,
        kind: WorkloadKind,
        config: &Config,
        accounts: &ServiceAccounts,
        scale: &ScalingIndex,
    ) -> Workload {
        let (namespace, name) = crate::object::identity(item);
        let labels = workload::pod_labels(item, &kind)
            .map(|m| str_map(&Value::Object(m.clone())))
            .unwrap_or_default();
        let spec = workload::pod_spec(item, &kind);
        let ports = spec
            .map(|spec| {
                workload::containers(spec)
                    .into_iter()
                    .flat_map(|(_, _, c)| c["ports"].as_array().into_iter().flatten())
                    .filter_map(|p| {
                        Some(PodPort {
                            name: p["name"].as_str().map(str::to_string),
                            port: port_number(&p["containerPort"])?,
                            protocol: protocol(p),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let template_annotations =
            workload::pod_template(item, &kind).map(|t| &t["metadata"]["annotations"]);
        let opt_out = OptOut::read(&[item["metadata"].get("annotations"), template_annotations]);
        let class = classify::classify(config, item, &kind).map(|(c, reason)| Classified {
            name: c.name.clone(),
            reason,
        });
        let selected = config.selects(item);
        let managed = selected && !opt_out.skips(DefaultKind::NetworkPolicy);
        let account = spec.map(|spec| {
            let name = service_accounts::account_name(spec);
            PodAccount {
                name: name.to_string(),
                account: accounts.account(namespace, name),
            }
        });
        let mut w = Workload {
            item: i,
            namespace: namespace.to_string(),
            name: name.to_string(),
            labels,
            ports,
            class,
            opt_out,
            selected,
            managed,
            services: Vec::new(),
            account,
            scaling: Scaling::default(),
            links: Vec::new(),
            kind,
        };
        w.decide_scaling(config, item, scale);
        w
    }

    /// (Re)decides the scale for the workload's class (none for an unknown class: it gets no
    /// defaults).
    pub(super) fn decide_scaling(&mut self, config: &Config, item: &Value, scale: &ScalingIndex) {
        let class = self.class_name().and_then(|c| config.class(c));
        self.scaling = class
            .map(|c| scaling::decide(config, c, &self.kind, &self.opt_out, item, scale))
            .unwrap_or_default();
    }

    /// The class name, when the class is known.
    pub fn class_name(&self) -> Option<&str> {
        self.class.as_ref().ok().map(|c| c.name.as_str())
    }

    /// `namespace/name`, or `name` in the default namespace.
    pub fn display(&self) -> String {
        if self.namespace.is_empty() {
            self.name.clone()
        } else {
            format!("{}/{}", self.namespace, self.name)
        }
    }

    /// The container port a Service `targetPort` name resolves to on these pods.
    pub fn port_named(&self, name: &str) -> Option<PortProto> {
        self.ports
            .iter()
            .find(|p| p.name.as_deref() == Some(name))
            .map(|p| (p.protocol.clone(), p.port))
    }

    /// Every declared port of the pods.
    pub fn all_ports(&self) -> BTreeSet<PortProto> {
        self.ports
            .iter()
            .map(|p| (p.protocol.clone(), p.port))
            .collect()
    }
}

/// A mapping of scalars as text (non-scalar values left out).
pub(super) fn str_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), scalar(v)?)))
        .collect()
}
