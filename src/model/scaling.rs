//! Who sets a workload's replica count, decided once per run from the input: the user's
//! HorizontalPodAutoscaler, the one this function generates from the class, or nobody; and the
//! facts that decision reads (user HPAs and PDBs, claims only one node can mount).

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::config::{Class, Config, DefaultKind};
use crate::object;
use crate::optout::OptOut;
use crate::workload::{self, WorkloadKind};

/// A user-written HPA, as seen from the workload it scales.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserHpa {
    pub name: String,
    /// `minReplicas` (1 when unset, as the API server defaults it).
    pub min_replicas: i64,
}

/// The input's HPAs, PDBs and claims, as the scale decisions read them.
#[derive(Debug, Default)]
pub struct ScalingIndex {
    /// Workloads (kind, namespace, name) that a user-written HorizontalPodAutoscaler in the
    /// input targets, with that HPA.
    hpa_targets: HashMap<(String, String, String), UserHpa>,
    /// (namespace, name) of every user-written HorizontalPodAutoscaler.
    user_hpas: HashSet<(String, String)>,
    /// User-written PodDisruptionBudgets, looked up by the pods they select.
    pub pdbs: PdbIndex,
    /// (namespace, name) of PersistentVolumeClaims only one node can mount (no
    /// `ReadWriteMany` / `ReadOnlyMany` access mode): a workload sharing one stays single.
    single_node_claims: HashSet<(String, String)>,
}

impl ScalingIndex {
    /// Files one input item (generated ones are the function's own, not the user's).
    pub(super) fn add(&mut self, item: &Value) {
        if crate::generated::is_generated(item) {
            return;
        }
        let (ns, name) = object::identity(item);
        match object::kind(item) {
            "HorizontalPodAutoscaler" => {
                self.user_hpas.insert((ns.to_string(), name.to_string()));
                let t = &item["spec"]["scaleTargetRef"];
                if let (Some(k), Some(n)) = (t["kind"].as_str(), t["name"].as_str()) {
                    let hpa = UserHpa {
                        name: name.to_string(),
                        min_replicas: item["spec"]["minReplicas"].as_i64().unwrap_or(1),
                    };
                    self.hpa_targets
                        .insert((k.to_string(), ns.to_string(), n.to_string()), hpa);
                }
            }
            "PodDisruptionBudget" => self.pdbs.add(item, ns),
            "PersistentVolumeClaim" => {
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
                    self.single_node_claims
                        .insert((ns.to_string(), name.to_string()));
                }
            }
            _ => {}
        }
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

    /// True when only one node can mount this claim.
    pub fn is_single_node_claim(&self, namespace: &str, claim: &str) -> bool {
        self.single_node_claims
            .contains(&(namespace.to_string(), claim.to_string()))
    }
}

/// Who sets the workload's replica count besides its manifest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Autoscaler {
    /// Nobody: the count in the manifest (or the API default of 1) applies.
    #[default]
    None,
    /// A HorizontalPodAutoscaler the user wrote.
    User { name: String, min_replicas: i64 },
    /// The HPA this function generates from the class settings (`autoscaling` of the class).
    Generated,
}

/// What the run decided about a workload's scale, from its input manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scaling {
    /// The replica path, for workloads that can carry replicas, HPAs, PDBs and spreading: kinds
    /// with a replica count that are not run-to-completion (so no DaemonSet, Job, CronJob or
    /// Pod).
    pub replicas_path: Option<Vec<String>>,
    pub autoscaler: Autoscaler,
    /// Why the workload runs one pod by design: `strategy: Recreate` (the program must not run
    /// twice, usually over one volume) or a claim in the input that only one node can mount.
    pub singleton: Option<String>,
    /// The count the user wrote in the manifest.
    pub written_replicas: Option<i64>,
    /// What keeps the class's generated HPA off this workload: a singleton signal always, a
    /// written replica count unless `enforce` names autoscaling.
    pub hpa_blocker: Option<String>,
    /// The user wrote an HPA with the name the generated one would get, for another workload:
    /// the pipeline would keep theirs, and this workload would be left with no HPA and no count.
    pub hpa_name_taken: bool,
}

/// Decides the scale of one workload of class `class`. The user's HPA counts even when the
/// autoscaling default is switched off, since it scales the workload either way.
pub fn decide(
    config: &Config,
    class: &Class,
    kind: &WorkloadKind,
    opt_out: &OptOut,
    item: &Value,
    index: &ScalingIndex,
) -> Scaling {
    let replicas_path = (!kind.runs_to_completion())
        .then(|| kind.replicas_path.clone())
        .flatten();
    let Some(path) = &replicas_path else {
        return Scaling::default();
    };
    let (ns, name) = object::identity(item);
    let singleton = singleton(kind, item, ns, index);
    let written_replicas = workload::get_path(item, path).and_then(Value::as_i64);
    let hpa_blocker = match (&singleton, written_replicas) {
        (Some(why), _) => Some(format!("{why}, so it runs one pod by design")),
        (None, Some(n)) if !config.enforces(DefaultKind::Autoscaling) => Some(format!(
            "spec.replicas is {n} as written and the user's count wins (remove spec.replicas, or set \
             enforce: [autoscaling], to get one)"
        )),
        _ => None,
    };
    let hpa_name_taken = index.has_user_hpa_named(ns, name);
    let wants =
        config.applies(DefaultKind::Autoscaling) && !opt_out.skips(DefaultKind::Autoscaling);
    let autoscaler = if let Some(hpa) = index.user_hpa(&kind.kind, ns, name) {
        Autoscaler::User {
            name: hpa.name.clone(),
            min_replicas: hpa.min_replicas,
        }
    } else if class.env.autoscaling.is_some() && wants && !hpa_name_taken && hpa_blocker.is_none() {
        Autoscaler::Generated
    } else {
        Autoscaler::None
    };
    Scaling {
        replicas_path,
        autoscaler,
        singleton,
        written_replicas,
        hpa_blocker,
        hpa_name_taken,
    }
}

fn singleton(kind: &WorkloadKind, item: &Value, ns: &str, index: &ScalingIndex) -> Option<String> {
    if item["spec"]["strategy"]["type"] == "Recreate" {
        return Some("it uses strategy Recreate".into());
    }
    let spec = workload::pod_spec(item, kind)?;
    spec["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["persistentVolumeClaim"]["claimName"].as_str())
        .find(|c| index.is_single_node_claim(ns, c))
        .map(|c| format!("it mounts the ReadWriteOnce claim {c}"))
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
        let i = self.pdbs.len();
        self.pdbs
            .push((object::name(item).to_string(), selector.clone()));
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

    fn index(items: &[Value]) -> ScalingIndex {
        let mut ix = ScalingIndex::default();
        items.iter().for_each(|i| ix.add(i));
        ix
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
        let ix = index(&items);
        assert!(ix.user_hpa("Deployment", "n", "a").is_none());
        assert_eq!(
            ix.user_hpa("Deployment", "n", "b"),
            Some(&UserHpa {
                name: "b-hpa".into(),
                min_replicas: 3
            })
        );
        assert!(ix.has_user_hpa_named("n", "b-hpa"));
        assert_eq!(ix.pdbs.selecting("n", &labels(json!({"app": "a"}))), None);
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
        let ix = index(&items);
        assert_eq!(
            ix.pdbs.selecting(
                "n",
                &labels(json!({"tier": "front", "app": "web", "x": "y"}))
            ),
            Some("web")
        );
        assert_eq!(ix.pdbs.selecting("n", &labels(json!({"app": "web"}))), None);
        assert_eq!(
            ix.pdbs.selecting("n", &labels(json!({"app": "db2"}))),
            Some("db")
        );
        assert_eq!(ix.pdbs.selecting("n", &labels(json!({"app": "api"}))), None);
        assert_eq!(
            ix.pdbs.selecting("m", &labels(json!({"app": "api"}))),
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
