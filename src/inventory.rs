//! Indexes over the input built once per run, so every lookup is O(1) and the run stays linear
//! in the number of items.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

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

/// A user-written HPA, as seen from the workload it scales.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserHpa {
    pub name: String,
    /// `minReplicas` (1 when unset, as the API server defaults it).
    pub min_replicas: i64,
}

/// What the input holds, by identity.
#[derive(Debug, Default)]
pub struct Inventory {
    /// Item index by key.
    pub by_key: HashMap<Key, usize>,
    /// Workloads (kind, namespace, name) that a user-written HorizontalPodAutoscaler in the
    /// input targets, with that HPA.
    pub hpa_targets: HashMap<(String, String, String), UserHpa>,
    /// (namespace, name) of every user-written HorizontalPodAutoscaler.
    pub user_hpas: HashSet<(String, String)>,
    /// User-written PodDisruptionBudgets, looked up by the pods they select.
    pub pdbs: PdbIndex,
    /// ServiceAccounts: the bindings naming each and its own token setting.
    pub service_accounts: crate::service_accounts::ServiceAccounts,
    /// (namespace, name) of PersistentVolumeClaims only one node can mount (no
    /// `ReadWriteMany` / `ReadOnlyMany` access mode): a workload sharing one stays single.
    pub single_node_claims: HashSet<(String, String)>,
}

impl Inventory {
    pub fn build(items: &[Value]) -> Inventory {
        let mut inv = Inventory::default();
        for (i, item) in items.iter().enumerate() {
            if !item.is_object() {
                continue;
            }
            inv.by_key.insert(key_of(item), i);
            inv.service_accounts.add(item);
            if crate::generated::is_generated(item) {
                continue;
            }
            let ns = item["metadata"]["namespace"].as_str().unwrap_or_default();
            match item["kind"].as_str() {
                Some("HorizontalPodAutoscaler") => {
                    let name = item["metadata"]["name"].as_str().unwrap_or_default();
                    inv.user_hpas.insert((ns.to_string(), name.to_string()));
                    let t = &item["spec"]["scaleTargetRef"];
                    if let (Some(k), Some(n)) = (t["kind"].as_str(), t["name"].as_str()) {
                        let hpa = UserHpa {
                            name: name.to_string(),
                            min_replicas: item["spec"]["minReplicas"].as_i64().unwrap_or(1),
                        };
                        inv.hpa_targets
                            .insert((k.to_string(), ns.to_string(), n.to_string()), hpa);
                    }
                }
                Some("PodDisruptionBudget") => inv.pdbs.add(item, ns),
                Some("PersistentVolumeClaim") => {
                    let modes: Vec<&str> = item["spec"]["accessModes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    if !modes.is_empty()
                        && !modes
                            .iter()
                            .any(|m| *m == "ReadWriteMany" || *m == "ReadOnlyMany")
                    {
                        let name = item["metadata"]["name"].as_str().unwrap_or_default();
                        inv.single_node_claims
                            .insert((ns.to_string(), name.to_string()));
                    }
                }
                _ => {}
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
        self.user_hpa(kind, namespace, name).is_some()
    }

    /// The user's HPA that scales this workload.
    pub fn user_hpa(&self, kind: &str, namespace: &str, name: &str) -> Option<&UserHpa> {
        self.hpa_targets
            .get(&(kind.to_string(), namespace.to_string(), name.to_string()))
    }

    /// True when the user wrote an HPA of this name (whatever it targets).
    pub fn has_user_hpa_named(&self, namespace: &str, name: &str) -> bool {
        self.user_hpas
            .contains(&(namespace.to_string(), name.to_string()))
    }
}

/// User PodDisruptionBudgets by the pods they select. Each PDB is filed under one of its
/// `matchLabels` pairs, so finding the PDBs of a workload costs one lookup per pod label rather
/// than a scan of every PDB in the namespace.
#[derive(Debug, Default)]
pub struct PdbIndex {
    pdbs: Vec<(String, Value)>,
    /// (namespace, label, value) -> PDBs whose first `matchLabels` pair this is.
    by_pair: HashMap<(String, String, String), Vec<usize>>,
    /// namespace -> PDBs without `matchLabels` (an empty selector, or expressions only).
    without_labels: HashMap<String, Vec<usize>>,
}

impl PdbIndex {
    fn add(&mut self, item: &Value, ns: &str) {
        // In policy/v1 a missing selector selects no pods; `{}` selects every pod.
        let Some(selector) = item["spec"].get("selector").filter(|s| s.is_object()) else {
            return;
        };
        let name = item["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let i = self.pdbs.len();
        self.pdbs.push((name, selector.clone()));
        let first = selector["matchLabels"]
            .as_object()
            .and_then(|m| m.iter().next())
            .and_then(|(k, v)| Some((k.clone(), v.as_str()?.to_string())));
        match first {
            Some((k, v)) => self
                .by_pair
                .entry((ns.to_string(), k, v))
                .or_default()
                .push(i),
            None => self
                .without_labels
                .entry(ns.to_string())
                .or_default()
                .push(i),
        }
    }

    /// Name of a user PDB in `namespace` whose selector matches pods with these labels.
    pub fn selecting(&self, namespace: &str, labels: &Map<String, Value>) -> Option<&str> {
        let keyed = labels.iter().filter_map(|(k, v)| {
            self.by_pair
                .get(&(namespace.to_string(), k.clone(), v.as_str()?.to_string()))
        });
        keyed
            .chain(self.without_labels.get(namespace))
            .flatten()
            .map(|&i| &self.pdbs[i])
            .find(|(_, sel)| selector_matches(sel, labels))
            .map(|(name, _)| name.as_str())
    }
}

/// Kubernetes label-selector semantics over a label mapping (see [`crate::labels`]).
pub fn selector_matches(selector: &Value, labels: &Map<String, Value>) -> bool {
    crate::labels::selector_matches(selector, |k| labels.get(k).and_then(Value::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn generated_hpas_and_pdbs_are_not_the_users() {
        let items = [
            json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "a", "namespace": "n",
                "annotations": {"apply-defaults.dev/generated": "true"}}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "a"}}}),
            json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "b-hpa", "namespace": "n"},
                "spec": {"minReplicas": 3, "scaleTargetRef": {"kind": "Deployment", "name": "b"}}}),
            json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "a", "namespace": "n",
                "annotations": {"apply-defaults.dev/generated": "true"}}, "spec": {"selector": {"matchLabels": {"app": "a"}}}}),
        ];
        let inv = Inventory::build(&items);
        assert!(!inv.has_hpa("Deployment", "n", "a"));
        assert_eq!(
            inv.user_hpa("Deployment", "n", "b"),
            Some(&UserHpa {
                name: "b-hpa".into(),
                min_replicas: 3
            })
        );
        assert!(inv.has_user_hpa_named("n", "b-hpa"));
        assert_eq!(inv.pdbs.selecting("n", &labels(json!({"app": "a"}))), None);
    }

    #[test]
    fn user_pdbs_are_found_by_the_pods_they_select() {
        let pdb = |name: &str, ns: &str, sel: Value| json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name, "namespace": ns}, "spec": {"selector": sel}});
        let items = [
            pdb(
                "web",
                "n",
                json!({"matchLabels": {"app": "web", "tier": "front"}}),
            ),
            pdb(
                "db",
                "n",
                json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["db", "db2"]}]}),
            ),
            pdb("other-ns", "m", json!({"matchLabels": {"app": "api"}})),
            json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "none", "namespace": "n"}, "spec": {}}),
        ];
        let inv = Inventory::build(&items);
        assert_eq!(
            inv.pdbs.selecting(
                "n",
                &labels(json!({"tier": "front", "app": "web", "x": "y"}))
            ),
            Some("web")
        );
        assert_eq!(
            inv.pdbs.selecting("n", &labels(json!({"app": "web"}))),
            None
        );
        assert_eq!(
            inv.pdbs.selecting("n", &labels(json!({"app": "db2"}))),
            Some("db")
        );
        assert_eq!(
            inv.pdbs.selecting("n", &labels(json!({"app": "api"}))),
            None
        );
        assert_eq!(
            inv.pdbs.selecting("m", &labels(json!({"app": "api"}))),
            Some("other-ns")
        );
    }

    #[test]
    fn selector_operators() {
        let l = labels(json!({"a": "1", "b": "2"}));
        assert!(selector_matches(&json!({}), &l));
        assert!(selector_matches(
            &json!({"matchExpressions": [{"key": "c", "operator": "DoesNotExist"}, {"key": "a", "operator": "Exists"}]}),
            &l
        ));
        assert!(selector_matches(
            &json!({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["2"]}]}),
            &l
        ));
        assert!(!selector_matches(
            &json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["0"]}]}),
            &l
        ));
        assert!(!selector_matches(&json!({"matchLabels": "a=1"}), &l));
    }
}
