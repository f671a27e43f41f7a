//! What the graph is built from, indexed once per run: workloads (with their pod labels,
//! ports and class), Services (with the workloads they select), ConfigMaps and Secrets by
//! namespace and name, and user-written NetworkPolicies. Every later lookup is a hash lookup,
//! so the whole graph stays linear in the number of items.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use crate::config::{Config, DefaultKind};
use crate::krm::annotations;
use crate::optout::OptOut;
use crate::workload::{self, WorkloadKind};

/// A container port of a workload's pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodPort {
    pub name: Option<String>,
    pub port: i32,
    pub protocol: String,
}

/// A port on a pod, as NetworkPolicies name it: protocol and number.
pub type PortProto = (String, i32);

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
    /// Its class (None when the class annotation names an unknown class: the pipeline reports
    /// that).
    pub class: Option<String>,
    /// The function writes policies for it: selected by the config, not opted out.
    pub managed: bool,
}

impl Workload {
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

/// `targetPort` of a Service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetPort {
    Number(i32),
    Name(String),
}

/// A port of a Service.
#[derive(Debug, Clone)]
pub struct ServicePort {
    pub name: Option<String>,
    pub port: i32,
    pub target: TargetPort,
    pub protocol: String,
}

/// A Service of the input.
#[derive(Debug, Clone)]
pub struct Service {
    pub item: usize,
    pub namespace: String,
    pub name: String,
    pub ports: Vec<ServicePort>,
    /// Workloads whose pods the selector selects (empty for Services without a selector).
    pub backends: Vec<usize>,
    /// The Service has a selector (ExternalName and manual-Endpoints Services have none).
    pub has_selector: bool,
}

/// A user-written NetworkPolicy's pod selector, for `userPolicies: keep`.
#[derive(Debug, Clone)]
struct UserPolicy {
    namespace: String,
    selector: Value,
    /// It restricts egress (`policyTypes` has Egress, or is absent and `egress` is set).
    egress: bool,
}

/// The indexes of one run.
#[derive(Debug, Default)]
pub struct Index {
    pub workloads: Vec<Workload>,
    pub services: Vec<Service>,
    /// Services by (namespace, name).
    pub service_by_name: HashMap<(String, String), usize>,
    /// ConfigMaps and Secrets by (kind, namespace, name): the item index.
    pub config_by_name: HashMap<(&'static str, String, String), usize>,
    /// Workloads by (namespace, name).
    pub workload_by_name: HashMap<(String, String), Vec<usize>>,
    /// Namespaces that some item names (for telling `svc.ns` from `host.tld`).
    pub namespaces: BTreeSet<String>,
    /// Namespace objects by name: the item index (generated namespace-wide policies go beside them).
    pub namespace_objects: HashMap<String, usize>,
    /// Workloads by (namespace, label key, label value), for selectors.
    by_label: HashMap<(String, String, String), Vec<usize>>,
    user_policies: Vec<UserPolicy>,
}

/// `true` for the item kinds of a group/kind pair.
fn is(item: &Value, group: &str, kind: &str) -> bool {
    item["kind"] == kind
        && workload::group_of(item["apiVersion"].as_str().unwrap_or_default()) == group
}

fn str_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), scalar(v)?)))
        .collect()
}

/// A scalar as text (label values and ports are sometimes written as numbers or booleans).
pub fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A port number written as a number or a numeric string.
pub fn port_number(v: &Value) -> Option<i32> {
    match v {
        Value::Number(n) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|p| (1..=65535).contains(p))
}

fn protocol(v: &Value) -> String {
    v["protocol"].as_str().unwrap_or("TCP").to_string()
}

impl Index {
    pub fn build(items: &[Value], config: &Config) -> Index {
        let mut ix = Index::default();
        for (i, item) in items.iter().enumerate() {
            if !item.is_object() || annotations::is_local_config(item) {
                continue;
            }
            let ns = item["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let name = item["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if !ns.is_empty() {
                ix.namespaces.insert(ns.clone());
            }
            if is(item, "", "Namespace") && !name.is_empty() {
                ix.namespaces.insert(name.clone());
                ix.namespace_objects.insert(name, i);
                continue;
            }
            if name.is_empty() {
                continue;
            }
            if let Some(kind) = workload::kind_of(item, &config.workload_kinds) {
                ix.add_workload(i, item, kind, ns, name, config);
            } else if is(item, "", "Service") {
                ix.add_service(i, item, ns, name);
            } else if is(item, "", "ConfigMap") {
                ix.config_by_name.insert(("ConfigMap", ns, name), i);
            } else if is(item, "", "Secret") {
                ix.config_by_name.insert(("Secret", ns, name), i);
            } else if is(item, "networking.k8s.io", "NetworkPolicy")
                && !crate::generated::is_generated(item)
            {
                let types = item["spec"]["policyTypes"].as_array();
                let egress = match types {
                    Some(t) => t.iter().any(|t| t == "Egress"),
                    None => item["spec"].get("egress").is_some(),
                };
                ix.user_policies.push(UserPolicy {
                    namespace: ns,
                    selector: item["spec"]["podSelector"].clone(),
                    egress,
                });
            }
        }
        for s in 0..ix.services.len() {
            let selector = str_map(&items[ix.services[s].item]["spec"]["selector"]);
            if selector.is_empty() {
                continue;
            }
            ix.services[s].has_selector = true;
            let ns = ix.services[s].namespace.clone();
            ix.services[s].backends = ix.select(&ns, &selector);
        }
        ix
    }

    fn add_workload(
        &mut self,
        i: usize,
        item: &Value,
        kind: WorkloadKind,
        ns: String,
        name: String,
        config: &Config,
    ) {
        let labels = workload::pod_labels(item, &kind)
            .map(|m| str_map(&Value::Object(m.clone())))
            .unwrap_or_default();
        let ports = workload::pod_spec(item, &kind)
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
        let class = crate::classify::classify(config, item, &kind)
            .ok()
            .map(|(c, _)| c.name.clone());
        let managed = config.selects(item) && !opt_out.skips(DefaultKind::NetworkPolicy);
        let w = self.workloads.len();
        for (k, v) in &labels {
            self.by_label
                .entry((ns.clone(), k.clone(), v.clone()))
                .or_default()
                .push(w);
        }
        self.workload_by_name
            .entry((ns.clone(), name.clone()))
            .or_default()
            .push(w);
        self.workloads.push(Workload {
            item: i,
            kind,
            namespace: ns,
            name,
            labels,
            ports,
            class,
            managed,
        });
    }

    fn add_service(&mut self, i: usize, item: &Value, ns: String, name: String) {
        let ports = item["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                let port = port_number(&p["port"])?;
                let target = match &p["targetPort"] {
                    // Absent or 0: the API server defaults it to the Service port.
                    Value::Null => TargetPort::Number(port),
                    Value::Number(n) if n.as_i64() == Some(0) => TargetPort::Number(port),
                    v => match port_number(v) {
                        Some(n) => TargetPort::Number(n),
                        None => TargetPort::Name(v.as_str()?.to_string()),
                    },
                };
                Some(ServicePort {
                    name: p["name"].as_str().map(str::to_string),
                    port,
                    target,
                    protocol: protocol(p),
                })
            })
            .collect();
        self.service_by_name
            .insert((ns.clone(), name.clone()), self.services.len());
        self.services.push(Service {
            item: i,
            namespace: ns,
            name,
            ports,
            backends: Vec::new(),
            has_selector: false,
        });
    }

    /// Workloads in `ns` whose pod labels contain every pair of `selector` (non-empty). The
    /// candidates come from the rarest pair's bucket, so one Service per workload stays linear.
    pub fn select(&self, ns: &str, selector: &BTreeMap<String, String>) -> Vec<usize> {
        let buckets: Option<Vec<&Vec<usize>>> = selector
            .iter()
            .map(|(k, v)| self.by_label.get(&(ns.to_string(), k.clone(), v.clone())))
            .collect();
        let Some(buckets) = buckets else {
            return Vec::new();
        };
        let Some(smallest) = buckets.into_iter().min_by_key(|b| b.len()) else {
            return Vec::new();
        };
        smallest
            .iter()
            .copied()
            .filter(|&w| {
                selector
                    .iter()
                    .all(|(k, v)| self.workloads[w].labels.get(k) == Some(v))
            })
            .collect()
    }

    /// The Service a reference names, in the namespace given.
    pub fn service(&self, ns: &str, name: &str) -> Option<usize> {
        self.service_by_name
            .get(&(ns.to_string(), name.to_string()))
            .copied()
    }

    /// Workloads that a user-written NetworkPolicy selects. Policies that select every pod of a
    /// namespace (an empty podSelector: the user's own default-deny or allow-dns) do not count:
    /// they say nothing about what one workload may do.
    pub fn user_covered(&self) -> BTreeSet<usize> {
        self.user_selected(false)
    }

    /// Workloads that a user-written NetworkPolicy restricting egress selects. The others of
    /// [`Self::user_covered`] keep their egress only through a generated egress policy, since
    /// the namespace default-deny isolates egress too.
    pub fn user_covered_egress(&self) -> BTreeSet<usize> {
        self.user_selected(true)
    }

    fn user_selected(&self, egress_only: bool) -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        for p in self
            .user_policies
            .iter()
            .filter(|p| p.egress || !egress_only)
        {
            let labels = str_map(&p.selector["matchLabels"]);
            let exprs = p.selector["matchExpressions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if labels.is_empty() && exprs.is_empty() {
                continue;
            }
            let candidates: Vec<usize> = if labels.is_empty() {
                (0..self.workloads.len())
                    .filter(|&w| self.workloads[w].namespace == p.namespace)
                    .collect()
            } else {
                self.select(&p.namespace, &labels)
            };
            out.extend(candidates.into_iter().filter(|&w| {
                exprs
                    .iter()
                    .all(|e| expression_matches(e, &self.workloads[w].labels))
            }));
        }
        out
    }
}

/// One `matchExpressions` entry against a label set (see [`crate::labels`]).
pub fn expression_matches(e: &Value, labels: &BTreeMap<String, String>) -> bool {
    crate::labels::expression_matches(e, |k| labels.get(k).map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deploy(ns: &str, name: &str, labels: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": "8080"}]}]}}}})
    }

    fn netpol(ns: &str, selector: Value) -> Value {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "p", "namespace": ns},
            "spec": {"podSelector": selector}})
    }

    #[test]
    fn services_select_by_subset_within_their_namespace() {
        let items = vec![
            deploy("a", "web", json!({"app": "web", "tier": "front"})),
            deploy("a", "web-canary", json!({"app": "web", "track": "canary"})),
            deploy("b", "web", json!({"app": "web"})),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "a"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]}}),
        ];
        let ix = Index::build(&items, &Config::shipped());
        let s = &ix.services[ix.service("a", "web").unwrap()];
        assert_eq!(s.backends, [0, 1]);
        assert_eq!(s.ports[0].target, TargetPort::Name("http".into()));
        assert_eq!(
            ix.workloads[0].port_named("http"),
            Some(("TCP".into(), 8080)),
            "a quoted port number is a number"
        );
    }

    #[test]
    fn user_policies_cover_what_they_select_but_not_everything() {
        let items = vec![
            deploy("a", "web", json!({"app": "web"})),
            deploy("a", "db", json!({"app": "db"})),
            netpol(
                "a",
                json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["db"]}]}),
            ),
            netpol("a", json!({})),
        ];
        let ix = Index::build(&items, &Config::shipped());
        assert_eq!(ix.user_covered().into_iter().collect::<Vec<_>>(), [1]);
    }
}
