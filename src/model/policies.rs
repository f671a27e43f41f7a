//! User-written NetworkPolicies, as far as the generated ones must know them: which workloads
//! they select, and whether they restrict egress.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Model;
use super::workloads::str_map;

/// A user-written NetworkPolicy's pod selector, for `userPolicies: keep`.
#[derive(Debug, Clone)]
struct UserPolicy {
    namespace: String,
    selector: Value,
    /// It restricts egress (`policyTypes` has Egress, or is absent and `egress` is set).
    egress: bool,
}

/// The input's own NetworkPolicies (not the function's generated ones).
#[derive(Debug, Default)]
pub struct UserPolicies(Vec<UserPolicy>);

impl UserPolicies {
    pub(super) fn add(&mut self, item: &Value) {
        if crate::generated::is_generated(item) {
            return;
        }
        let types = item["spec"]["policyTypes"].as_array();
        let egress = match types {
            Some(t) => t.iter().any(|t| t == "Egress"),
            None => item["spec"].get("egress").is_some(),
        };
        self.0.push(UserPolicy {
            namespace: crate::object::namespace(item).to_string(),
            selector: item["spec"]["podSelector"].clone(),
            egress,
        });
    }

    /// Workloads a policy with a non-empty selector picks (only egress-restricting policies
    /// when `egress_only`).
    pub(super) fn selected(&self, model: &Model, egress_only: bool) -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        for p in self.0.iter().filter(|p| p.egress || !egress_only) {
            let labels = str_map(&p.selector["matchLabels"]);
            let exprs = p.selector["matchExpressions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if labels.is_empty() && exprs.is_empty() {
                continue;
            }
            let candidates: Vec<usize> = if labels.is_empty() {
                (0..model.workloads.len())
                    .filter(|&w| model.workloads[w].namespace == p.namespace)
                    .collect()
            } else {
                model.select(&p.namespace, &labels)
            };
            out.extend(candidates.into_iter().filter(|&w| {
                exprs
                    .iter()
                    .all(|e| expression_matches(e, &model.workloads[w].labels))
            }));
        }
        out
    }
}

/// One `matchExpressions` entry against a label set (see [`crate::labels`]).
pub fn expression_matches(e: &Value, labels: &BTreeMap<String, String>) -> bool {
    crate::labels::expression_matches(e, |k| labels.get(k).map(String::as_str))
}
