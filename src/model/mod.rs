//! One model of the input, built once per run before any default is applied, and handed to the
//! graph, the config-usage warnings and every injector: where each object is by identity, the
//! per-workload view ([`Workload`]: kind, class and why, opt-outs, pod labels and ports, the
//! Services selecting it, its ServiceAccount and bindings, its scale decision), the Services,
//! the ConfigMaps and Secrets pods consume, the namespaces, user NetworkPolicies, HPAs, PDBs and
//! claims. Every later lookup is a hash lookup, so the run stays linear in the number of items.
//!
//! - [`services`]: Services, their ports and `targetPort`s.
//! - [`workloads`]: the per-workload view.
//! - [`scaling`]: user HPAs, PDBs and claims, and who sets each workload's replica count.
//! - [`policies`]: user-written NetworkPolicies and the workloads they cover.
//! - [`links`]: the routes, webhooks, APIServices and monitors that point at Services and
//!   workloads.

pub mod links;
pub mod policies;
pub mod scaling;
pub mod services;
pub mod workloads;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

pub use scaling::Autoscaler;
pub use services::{PortProto, Service, TargetPort, port_number, scalar};
pub use workloads::{PodAccount, Workload};

use crate::config::Config;
use crate::krm::annotations;
use crate::object::{self, Key};
use crate::service_accounts::ServiceAccounts;
use crate::workload;

/// The model of one run's input.
#[derive(Debug, Default)]
pub struct Model {
    /// Item index by identity (every object item).
    pub by_key: HashMap<Key, usize>,
    pub workloads: Vec<Workload>,
    /// Item index -> workload index.
    workload_at: HashMap<usize, usize>,
    /// Items of a workload kind that have no `metadata.name` (an error when selected).
    pub unnamed_workloads: BTreeSet<usize>,
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
    /// ServiceAccounts: the bindings naming each and its own token setting.
    pub service_accounts: ServiceAccounts,
    /// User HPAs, PDBs and claims.
    pub scaling: scaling::ScalingIndex,
    /// User-written NetworkPolicies.
    pub user_policies: policies::UserPolicies,
    /// The namespace the namespace-less objects share with the namespaced ones (a `helm
    /// template` stream; see [`release_namespace`]).
    pub release_namespace: Option<String>,
    /// The objects pointing at Services and workloads (each workload's view lists its own).
    pub links: Vec<links::Link>,
    /// Input item -> the range of `links` it points with (links are read in item order).
    links_by_item: HashMap<usize, std::ops::Range<usize>>,
    /// Workloads by (namespace, label key, label value), for selectors.
    by_label: HashMap<(String, String, String), Vec<usize>>,
}

impl Model {
    /// Builds the model of the input items under `config` (which decides the workload kinds,
    /// the classes and the selector).
    pub fn build(items: &[Value], config: &Config) -> Model {
        let mut m = Model::default();
        // First the facts a workload's view reads (accounts, HPAs, claims), then the workloads.
        for (i, item) in items.iter().enumerate() {
            if !item.is_object() {
                continue;
            }
            m.by_key.insert(object::key_of(item), i);
            m.service_accounts.add(item);
            m.scaling.add(item);
        }
        let mut services = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if !item.is_object() || annotations::is_local_config(item) {
                continue;
            }
            let (ns, name) = object::identity(item);
            if !ns.is_empty() {
                m.namespaces.insert(ns.to_string());
            }
            if object::is(item, "", "Namespace") && !name.is_empty() {
                m.namespaces.insert(name.to_string());
                m.namespace_objects.insert(name.to_string(), i);
                continue;
            }
            let kind = workload::kind_of(item, &config.workload_kinds);
            if name.is_empty() {
                if kind.is_some() {
                    m.unnamed_workloads.insert(i);
                }
                continue;
            }
            let (ns, name) = (ns.to_string(), name.to_string());
            if let Some(kind) = kind {
                let w = Workload::read(i, item, kind, config, &m.service_accounts, &m.scaling);
                m.add_workload(w);
            } else if object::is(item, "", "Service") {
                services.push(Service::read(i, item, ns, name));
            } else if object::is(item, "", "ConfigMap") {
                m.config_by_name.insert(("ConfigMap", ns, name), i);
            } else if object::is(item, "", "Secret") {
                m.config_by_name.insert(("Secret", ns, name), i);
            } else if object::is(item, "networking.k8s.io", "NetworkPolicy") {
                m.user_policies.add(item);
            }
        }
        for mut svc in services {
            let selector = workloads::str_map(&items[svc.item]["spec"]["selector"]);
            if !selector.is_empty() {
                svc.has_selector = true;
                svc.backends = m.select(&svc.namespace, &selector);
            }
            let s = m.services.len();
            for &w in &svc.backends {
                m.workloads[w].services.push(s);
            }
            m.service_by_name
                .insert((svc.namespace.clone(), svc.name.clone()), s);
            m.services.push(svc);
        }
        m.release_namespace = release_namespace(
            m.workloads
                .iter()
                .map(|w| w.namespace.as_str())
                .chain(m.services.iter().map(|s| s.namespace.as_str())),
        );
        m.links = links::read(items, &m);
        for (l, link) in m.links.iter().enumerate() {
            m.links_by_item
                .entry(link.item)
                .and_modify(|r| r.end = l + 1)
                .or_insert(l..l + 1);
        }
        for (l, link) in m.links.iter().enumerate() {
            let reached: Vec<usize> = match (link.service, link.workload) {
                (_, Some(w)) => vec![w],
                (Some(s), None) => m.services[s].backends.clone(),
                (None, None) => Vec::new(),
            };
            for w in reached {
                m.workloads[w].links.push(l);
            }
        }
        m
    }

    fn add_workload(&mut self, w: Workload) {
        let at = self.workloads.len();
        for (k, v) in &w.labels {
            self.by_label
                .entry((w.namespace.clone(), k.clone(), v.clone()))
                .or_default()
                .push(at);
        }
        self.workload_by_name
            .entry((w.namespace.clone(), w.name.clone()))
            .or_default()
            .push(at);
        self.workload_at.insert(w.item, at);
        self.workloads.push(w);
    }

    /// The view of the workload that is input item `item`.
    pub fn workload_at(&self, item: usize) -> Option<&Workload> {
        self.workload_at.get(&item).map(|&w| &self.workloads[w])
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

    /// The links input item `item` points with (a route's backends, a monitor's targets).
    pub fn links_of(&self, item: usize) -> &[links::Link] {
        self.links_by_item
            .get(&item)
            .map_or(&[], |r| &self.links[r.clone()])
    }

    /// The Service a reference names, in the namespace given.
    pub fn service(&self, ns: &str, name: &str) -> Option<usize> {
        self.service_by_name
            .get(&(ns.to_string(), name.to_string()))
            .copied()
    }

    /// The Service a reference names, in the namespace given. Objects without a namespace are
    /// found from the release namespace and the other way round: they land there.
    pub fn resolve_service(&self, ns: &str, name: &str) -> Option<usize> {
        self.service(ns, name)
            .or_else(|| match self.release_namespace.as_deref() {
                Some(release) if ns.is_empty() => self.service(release, name),
                Some(release) if ns == release => self.service("", name),
                // `svc.ns.svc` of a namespace nothing in the stream carries, and a Service of
                // that name without a namespace: a chart writing `.Release.Namespace` into its
                // URLs, rendered without `--namespace`.
                _ if !ns.is_empty() && !self.namespaces.contains(ns) => self.service("", name),
                _ => None,
            })
    }

    /// Workloads that a user-written NetworkPolicy selects. Policies that select every pod of a
    /// namespace (an empty podSelector: the user's own default-deny or allow-dns) do not count:
    /// they say nothing about what one workload may do.
    pub fn user_covered(&self) -> BTreeSet<usize> {
        self.user_policies.selected(self, false)
    }

    /// Workloads that a user-written NetworkPolicy restricting egress selects. The others of
    /// [`Self::user_covered`] keep their egress only through a generated egress policy, since
    /// the namespace default-deny isolates egress too.
    pub fn user_covered_egress(&self) -> BTreeSet<usize> {
        self.user_policies.selected(self, true)
    }
}

/// The namespace that objects without one share with the others: in a stream where some
/// workloads or Services carry no namespace and all the others carry one and the same, that
/// one (what `helm template` prints, the namespaced templates writing the release namespace).
pub fn release_namespace<'a>(namespaces: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut seen = BTreeSet::new();
    let mut empty = false;
    for ns in namespaces {
        if ns.is_empty() {
            empty = true;
        } else {
            seen.insert(ns);
        }
    }
    match (empty, seen.len()) {
        (true, 1) => seen.into_iter().next().map(str::to_string),
        _ => None,
    }
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
        let m = Model::build(&items, &Config::shipped());
        let s = &m.services[m.service("a", "web").unwrap()];
        assert_eq!(s.backends, [0, 1]);
        assert_eq!(s.ports[0].target, TargetPort::Name("http".into()));
        assert_eq!(
            m.workloads[0].services,
            [0],
            "the view lists the Services selecting it"
        );
        assert!(m.workloads[2].services.is_empty());
        assert_eq!(
            m.workloads[0].port_named("http"),
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
        let m = Model::build(&items, &Config::shipped());
        assert_eq!(m.user_covered().into_iter().collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn one_view_per_workload_with_class_account_and_scale() {
        let items = vec![
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "backend", "namespace": "a"},
                "spec": {"replicas": 3, "template": {"spec": {"serviceAccountName": "ctl", "containers": [{"name": "c"}]}}}}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "rb", "namespace": "a"},
                "roleRef": {"kind": "Role", "name": "r"}, "subjects": [{"kind": "ServiceAccount", "name": "ctl"}]}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"namespace": "a"}}),
        ];
        let m = Model::build(&items, &Config::shipped());
        let w = m.workload_at(0).unwrap();
        assert_eq!(w.class_name(), Some("backend"));
        assert_eq!(
            w.class.as_ref().unwrap().reason,
            crate::classify::Reason::Name
        );
        let account = w.account.as_ref().unwrap();
        assert_eq!(
            (account.name.as_str(), account.account.bindings.len()),
            ("ctl", 1)
        );
        assert_eq!(w.scaling.written_replicas, Some(3));
        assert!(m.workload_at(2).is_none());
        assert!(m.unnamed_workloads.contains(&2));
    }

    #[test]
    fn the_view_lists_the_routes_webhooks_and_monitors_that_reach_it() {
        let items = vec![
            deploy("a", "hook", json!({"app": "hook"})),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "hook", "namespace": "a", "labels": {"team": "x"}},
                "spec": {"selector": {"app": "hook"}, "ports": [{"port": 443, "targetPort": "http"}]}}),
            json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration", "metadata": {"name": "v"},
                "webhooks": [{"name": "v.example.com", "clientConfig": {"service": {"namespace": "a", "name": "hook"}}}]}),
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "a"},
                "spec": {"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix",
                    "backend": {"service": {"name": "hook", "port": {"number": 443}}}}]}}]}}),
            json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "sm", "namespace": "a"},
                "spec": {"selector": {"matchLabels": {"team": "x"}}, "endpoints": [{"port": "http"}]}}),
            json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor", "metadata": {"name": "pm", "namespace": "a"},
                "spec": {"selector": {"matchLabels": {"app": "hook"}}}}),
        ];
        let m = Model::build(&items, &Config::shipped());
        let pointers: Vec<(links::Pointer, usize)> = m.workloads[0]
            .links
            .iter()
            .map(|&l| (m.links[l].pointer, m.links[l].item))
            .collect();
        assert_eq!(
            pointers,
            [
                (links::Pointer::ApiServer, 2),
                (links::Pointer::Route, 3),
                (links::Pointer::ServiceMonitor, 4),
                (links::Pointer::PodMonitor, 5),
            ]
        );
        let webhook = &m.links[m.workloads[0].links[0]];
        assert_eq!(
            webhook.port,
            Some(json!(443)),
            "the API server's default port"
        );
    }
}
