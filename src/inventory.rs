//! Indexes over the input built once per run, so every lookup is O(1) and the run stays linear
//! in the number of items.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

/// Identity of an item: (group, kind, namespace, name).
pub type Key = (String, String, String, String);

/// Builds the key of an item; `default_namespace` is used for namespaced items without one.
pub fn key_of(item: &Value) -> Key {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    (
        crate::workload::group_of(item["apiVersion"].as_str().unwrap_or_default()).to_string(),
        s(&item["kind"]),
        s(&item["metadata"]["namespace"]),
        s(&item["metadata"]["name"]),
    )
}

/// What the input holds, by identity.
#[derive(Debug, Default)]
pub struct Inventory {
    /// Item index by key.
    pub by_key: HashMap<Key, usize>,
    /// Workloads (kind, namespace, name) that a HorizontalPodAutoscaler in the input targets.
    pub hpa_targets: HashSet<(String, String, String)>,
}

impl Inventory {
    pub fn build(items: &[Value]) -> Inventory {
        let mut inv = Inventory::default();
        for (i, item) in items.iter().enumerate() {
            if !item.is_object() {
                continue;
            }
            inv.by_key.insert(key_of(item), i);
            if item["kind"] == "HorizontalPodAutoscaler" {
                let t = &item["spec"]["scaleTargetRef"];
                if let (Some(k), Some(n)) = (t["kind"].as_str(), t["name"].as_str()) {
                    let ns = item["metadata"]["namespace"].as_str().unwrap_or_default();
                    inv.hpa_targets
                        .insert((k.to_string(), ns.to_string(), n.to_string()));
                }
            }
        }
        inv
    }

    /// The input item with this identity.
    pub fn get(&self, key: &Key) -> Option<usize> {
        self.by_key.get(key).copied()
    }

    /// True when an HPA in the input scales this workload.
    pub fn has_hpa(&self, kind: &str, namespace: &str, name: &str) -> bool {
        self.hpa_targets
            .contains(&(kind.to_string(), namespace.to_string(), name.to_string()))
    }
}
