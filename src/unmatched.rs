//! Warnings for config that refers to nothing in the input: a class whose `match` the user
//! wrote (or changed from the shipped profile) that no workload falls into, and a declared
//! network edge whose end names no workload, Service or populated class. Such config is
//! usually a typo or a stale rename, and would otherwise do nothing silently.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::Value;

use crate::config::selector::glob_match;
use crate::config::{ClassMatch, Config, Mode, Spec, profile};
use crate::krm::{FnResult, annotations};
use crate::model::Model;
use crate::object;
use crate::suggest;

/// Warnings about the config's references, given the input items and the run's model of them.
pub fn warnings(items: &[Value], config: &Config, model: &Model) -> Vec<FnResult> {
    let shipped: Spec = serde_json::from_value(profile::shipped_spec_json()).unwrap_or_default();
    let service_names: HashSet<&str> = items
        .iter()
        .filter(|i| i.is_object() && i["kind"] == "Service")
        .filter(|i| !annotations::is_local_config(i) && config.selects(i))
        .map(object::name)
        .collect();
    let selected = || model.workloads.iter().filter(|w| w.selected);
    let workload_names: HashSet<&str> = selected().map(|w| w.name.as_str()).collect();
    let populated: BTreeSet<&str> = selected().filter_map(|w| w.class_name()).collect();
    let mut out = selector_warnings(items, config);
    let shipped_match: BTreeMap<&str, &ClassMatch> = shipped
        .classes
        .iter()
        .map(|(n, c)| (n.as_str(), &c.matches))
        .collect();
    for (name, class) in &config.classes {
        let m = &class.spec.matches;
        let written_by_user = shipped_match.get(name.as_str()).is_none_or(|s| *s != m);
        if written_by_user && *m != ClassMatch::default() && !populated.contains(name.as_str()) {
            // A `names` entry kustomize's namePrefix/nameSuffix renamed away: say which
            // workload it may have meant.
            let mut names: Vec<&str> = workload_names.iter().copied().collect();
            names.sort_unstable();
            let meant: Vec<String> = m
                .names
                .iter()
                .filter(|n| !names.iter().any(|w| glob_match(n, w)))
                .flat_map(|n| suggest::closest(n, names.iter().copied()))
                .map(str::to_string)
                .collect();
            let meant: Vec<&str> = meant.iter().map(String::as_str).collect();
            out.push(
                FnResult::warning(format!(
                    "class `{name}` matches no workload in the input{}; check its labels, names, \
                     components and images",
                    suggest::did_you_mean(&meant)
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
            // Peers outside the render are not expected in the input; nor is `ns/name`, which
            // names pods outside the render when the input has no such workload. Names match
            // exactly, as the graph matches them (this is the one warning for an edge end that
            // names nothing: the graph does not warn again).
            let Some(end) = end.as_name() else { continue };
            if end.contains('/') {
                continue;
            }
            let candidates: Vec<&str> = match end.strip_prefix("class:") {
                Some(_) => populated.iter().copied().collect(),
                None if side == "to" => workload_names.union(&service_names).copied().collect(),
                None => workload_names.iter().copied().collect(),
            };
            let found = match end.strip_prefix("class:") {
                Some(class) => populated.contains(class),
                None => candidates.contains(&end),
            };
            if !found {
                let (what, word) = match end.strip_prefix("class:") {
                    Some(class) => ("no workload is in that class", class),
                    None if side == "to" => ("names no workload or Service in the input", end),
                    None => ("names no workload in the input", end),
                };
                let mut candidates = candidates;
                candidates.sort_unstable();
                // A name kustomize's namePrefix/nameSuffix changed is found by containment.
                let nearby: Vec<String> = suggest::closest(word, candidates)
                    .into_iter()
                    .map(|c| match end.strip_prefix("class:") {
                        Some(_) => format!("class:{c}"),
                        None => c.to_string(),
                    })
                    .collect();
                let nearby: Vec<&str> = nearby.iter().map(String::as_str).collect();
                out.push(
                    FnResult::warning(format!(
                        "edge {side} `{end}` {what}{}; the edge allows nothing",
                        suggest::did_you_mean(&nearby)
                    ))
                    .at(format!("spec.networkPolicy.edges[{i}].{side}")),
                );
                continue;
            }
            // A Service by that name, but none of that name selects a workload (and no
            // workload has the name): the edge has no pods to allow traffic to.
            let backed = |n: &str| {
                model
                    .services
                    .iter()
                    .any(|svc| svc.name == n && !svc.backends.is_empty())
            };
            if side == "to"
                && end.strip_prefix("class:").is_none()
                && !workload_names.contains(end)
                && !backed(end)
            {
                out.push(
                    FnResult::warning(format!(
                        "edge to `{end}` names a Service that selects no workload in the input; \
                         the edge allows nothing (check the Service's selector)"
                    ))
                    .at(format!("spec.networkPolicy.edges[{i}].to")),
                );
            }
        }
    }
    out
}

/// A selector entry that matches no item in the input: a `kinds: deployment` (kinds are
/// case-sensitive) or a misspelt namespace makes the whole run a no-op that reports "nothing to
/// change". It is a warning, and an error in check mode so a CI gate cannot pass by checking
/// nothing (as Kyverno reports a policy whose match selects nothing in `kyverno apply`).
fn selector_warnings(items: &[Value], config: &Config) -> Vec<FnResult> {
    let items: Vec<&Value> = items
        .iter()
        .filter(|i| i.is_object() && !annotations::is_local_config(i))
        .collect();
    // An empty input (a render of nothing) is not a selector problem; nor is an entry that
    // matches nothing while the selector as a whole selects something (a `kinds` list written
    // for more kinds than this render holds).
    if items.is_empty()
        || config.selector.is_empty()
        || items.iter().any(|i| config.selector.matches(i))
    {
        return Vec::new();
    }
    let str_at = |i: &Value, f: &str| -> String {
        match f {
            "kind" => i["kind"].as_str().unwrap_or_default().to_string(),
            _ => i["metadata"][f].as_str().unwrap_or_default().to_string(),
        }
    };
    let make = |message: String, path: String| {
        let r = if config.mode == Mode::Check {
            FnResult::error(format!(
                "{message} (check mode: the check would check nothing)"
            ))
        } else {
            FnResult::warning(message)
        };
        r.at(path)
    };
    let mut out = Vec::new();
    let s = &config.selector;
    for (field, meta, wanted, key) in [
        ("kinds", "kind", &s.kinds, "kinds"),
        ("namespaces", "namespace", &s.namespaces, "namespaces"),
        ("names", "name", &s.names, "names"),
    ] {
        let present: BTreeSet<String> = items.iter().map(|i| str_at(i, meta)).collect();
        for (n, w) in wanted.iter().enumerate() {
            if present.iter().any(|p| glob_match(w, p)) {
                continue;
            }
            let nearby = suggest::closest(w, present.iter().map(String::as_str));
            let mut listed: Vec<&str> = present.iter().map(String::as_str).collect();
            listed.retain(|p| !p.is_empty());
            listed.truncate(10);
            out.push(make(
                format!(
                    "selector {field} entry `{w}` matches no item in the input (ConfigMap key \
                     `data.{key}`){}; {field} in the input: {}",
                    suggest::did_you_mean(&nearby),
                    if listed.is_empty() {
                        "(none)".to_string()
                    } else {
                        listed.join(", ")
                    }
                ),
                format!("spec.selector.{field}[{n}]"),
            ));
        }
    }
    for (field, wanted) in [("labels", &s.labels), ("annotations", &s.annotations)] {
        for (k, v) in wanted {
            let one = [(k.clone(), v.clone())].into_iter().collect();
            if items
                .iter()
                .any(|i| crate::config::selector::map_contains(&i["metadata"][field], &one))
            {
                continue;
            }
            out.push(make(
                format!("selector {field} `{k}: {v}` matches no item in the input"),
                format!("spec.selector.{field}.{k}"),
            ));
        }
    }
    // Each field matches some item, but no item matches all of them.
    if out.is_empty() {
        out.push(make(
            "the selector matches no item in the input (each field matches some item, but no \
             item matches all of them)"
                .to_string(),
            "spec.selector".to_string(),
        ));
    }
    out
}
