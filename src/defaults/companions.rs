//! The resources generated beside a workload (its HPA and PDB): the labels they carry, the
//! selector they copy, and how they are marked as generated next to their owner.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::WorkloadCtx;
use crate::workload;

/// The workload's own `app.kubernetes.io/*` labels, for the resources generated for it (other
/// labels may carry meaning, such as selectors of other tools, that must not spread).
pub fn recommended_labels(item: &Value) -> Option<BTreeMap<String, String>> {
    let labels: BTreeMap<String, String> = item["metadata"]["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.starts_with("app.kubernetes.io/"))
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect();
    (!labels.is_empty()).then_some(labels)
}

/// The pod labels as a string map, when there are any (non-string values are left out: a
/// selector cannot use them).
pub fn pod_label_map(item: &Value, ctx: &WorkloadCtx) -> Option<BTreeMap<String, String>> {
    let labels: BTreeMap<String, String> = workload::pod_labels(item, ctx.kind())
        .into_iter()
        .flat_map(Map::iter)
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect();
    (!labels.is_empty()).then_some(labels)
}

/// A generated resource as people write one: `name` and `namespace` first in its metadata
/// (k8s-openapi serializes fields alphabetically), then marked as generated beside its owner.
pub fn finish_generated(mut v: Value, owner: &Value, kind: &str, name: &str) -> Value {
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for (i, key) in ["name", "namespace"].into_iter().enumerate() {
            if let Some(value) = meta.shift_remove(key) {
                meta.shift_insert(i.min(meta.len()), key.to_string(), value);
            }
        }
    }
    crate::generated::mark_generated(
        &mut v,
        &crate::generated::generated_path(Some(owner), kind, name),
    );
    v
}
