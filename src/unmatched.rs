//! Warnings for config that refers to nothing in the input: a class whose `match` the user
//! wrote (or changed from the shipped profile) that no workload falls into, and a declared
//! network edge whose end names no workload, Service or populated class. Such config is
//! usually a typo or a stale rename, and would otherwise do nothing silently.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::Value;

use crate::classify;
use crate::config::selector::glob_match;
use crate::config::{ClassMatch, Config, Spec, profile};
use crate::krm::{FnResult, annotations};
use crate::workload;

/// Warnings about the config's references, given the input items.
pub fn warnings(items: &[Value], config: &Config) -> Vec<FnResult> {
    let shipped: Spec = serde_json::from_value(profile::shipped_spec_json()).unwrap_or_default();
    let mut workload_names = HashSet::new();
    let mut service_names = HashSet::new();
    let mut populated: BTreeSet<&str> = BTreeSet::new();
    for item in items.iter().filter(|i| i.is_object()) {
        if annotations::is_local_config(item) || !config.selects(item) {
            continue;
        }
        let name = item["metadata"]["name"].as_str().unwrap_or_default();
        if item["kind"] == "Service" {
            service_names.insert(name);
        }
        let Some(kind) = workload::kind_of(item, &config.workload_kinds) else {
            continue;
        };
        workload_names.insert(name);
        if let Ok((class, _)) = classify::classify(config, item, &kind) {
            populated.insert(class.name.as_str());
        }
    }
    let mut out = Vec::new();
    let shipped_match: BTreeMap<&str, &ClassMatch> = shipped
        .classes
        .iter()
        .map(|(n, c)| (n.as_str(), &c.matches))
        .collect();
    for (name, class) in &config.classes {
        let m = &class.spec.matches;
        let written_by_user = shipped_match.get(name.as_str()).is_none_or(|s| *s != m);
        if written_by_user && *m != ClassMatch::default() && !populated.contains(name.as_str()) {
            out.push(
                FnResult::warning(format!(
                    "class `{name}` matches no workload in the input; check its labels, names, \
                     components and images"
                ))
                .at(format!("spec.classes.{name}.match")),
            );
        }
    }
    let shipped_edges: Vec<_> = shipped.network_policy.edges.iter().collect();
    for (i, edge) in config.network.edges.iter().enumerate() {
        if shipped_edges.contains(&edge) {
            continue;
        }
        for (side, end) in [("from", &edge.from), ("to", &edge.to)] {
            // Peers outside the render are not expected in the input.
            let Some(end) = end.as_name() else { continue };
            let found = match end.strip_prefix("class:") {
                Some(class) => populated.contains(class),
                None => {
                    let hit = |names: &HashSet<&str>| names.iter().any(|n| glob_match(end, n));
                    hit(&workload_names) || (side == "to" && hit(&service_names))
                }
            };
            if !found {
                let what = if end.starts_with("class:") {
                    "no workload is in that class"
                } else {
                    "names no workload or Service in the input"
                };
                out.push(
                    FnResult::warning(format!(
                        "edge {side} `{end}` {what}; the edge allows nothing"
                    ))
                    .at(format!("spec.networkPolicy.edges[{i}].{side}")),
                );
            }
        }
    }
    out
}
