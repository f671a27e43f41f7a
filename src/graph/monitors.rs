//! prometheus-operator objects (issue 14, items 5 and 6).
//!
//! - A ServiceMonitor or PodMonitor selecting a workload: its pods accept the scrapes on the
//!   metrics port from the pods of every `Prometheus` object of the input that selects the
//!   monitor (`serviceMonitorSelector`/`podMonitorSelector` and their namespace selectors, with
//!   the operator's semantics: an absent selector selects nothing, an absent namespace selector
//!   the Prometheus's own namespace); without one, from the configured monitoring peers; with
//!   neither, a warning names the port and `spec.networkPolicy.monitoring`.
//! - The operator's pods are selected by the labels it gives them (prometheus-operator's
//!   `pkg/prometheus/server/statefulset.go` and `pkg/alertmanager/statefulset.go`):
//!   `app.kubernetes.io/name: prometheus` + `operator.prometheus.io/name: <name>`, and
//!   `app.kubernetes.io/name: alertmanager` + `alertmanager: <name>`.
//! - Those pods get a policy of their own (a namespace default-deny would isolate them):
//!   Prometheus scrapes targets the manifests cannot all show (kubelets, node exporters on the
//!   host network, remote write), so its egress stays open and its web port (9090) accepts its
//!   own namespace; Alertmanager accepts the Prometheus pods of the input and its own
//!   namespace on 9093, its peers on the cluster port 9094 (TCP and UDP), and its egress (the
//!   receivers) stays open.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::networking::v1::NetworkPolicyPeer;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::Value;

use super::infer::Graph;
use super::unseen::UnseenPods;
use crate::config::{Config, PeerSpec};
use crate::krm::{FnResult, annotations};
use crate::model::links::Pointer;
use crate::model::{PortProto, TargetPort, port_number};
use crate::workload;

const GROUP: &str = "monitoring.coreos.com";

/// The labels prometheus-operator puts on the pods of a `Prometheus` object.
pub fn prometheus_pod_labels(name: &str) -> BTreeMap<String, String> {
    [
        ("app.kubernetes.io/name", "prometheus"),
        ("operator.prometheus.io/name", name),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The labels prometheus-operator puts on the pods of an `Alertmanager` object.
pub fn alertmanager_pod_labels(name: &str) -> BTreeMap<String, String> {
    [
        ("app.kubernetes.io/name", "alertmanager"),
        ("alertmanager", name),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

struct Prometheus<'a> {
    item: usize,
    namespace: &'a str,
    name: &'a str,
    spec: &'a Value,
}

/// The `Prometheus` objects of the input (not local config).
fn prometheuses(items: &[Value]) -> Vec<Prometheus<'_>> {
    items
        .iter()
        .enumerate()
        .filter(|(_, i)| i.is_object() && !annotations::is_local_config(i) && is(i, "Prometheus"))
        .map(|(n, i)| Prometheus {
            item: n,
            namespace: crate::object::namespace(i),
            name: crate::object::name(i),
            spec: &i["spec"],
        })
        .collect()
}

fn is(item: &Value, kind: &str) -> bool {
    item["kind"] == kind
        && workload::group_of(item["apiVersion"].as_str().unwrap_or_default()) == GROUP
}

fn labels_of<'a>(item: &'a Value) -> impl Fn(&str) -> Option<&'a str> + Copy {
    move |k| item["metadata"]["labels"][k].as_str()
}

/// Does the Prometheus `p` pick the monitor `m` (of `field`: `serviceMonitor` or `podMonitor`)?
fn selects(
    items: &[Value],
    p: &Prometheus,
    m: &Value,
    field: &str,
    namespaces: &Namespaces,
) -> bool {
    let sel = &p.spec[format!("{field}Selector")];
    // The operator: a nil selector selects no monitor.
    if !sel.is_object() || !crate::labels::selector_matches(sel, labels_of(m)) {
        return false;
    }
    let ns = m["metadata"]["namespace"].as_str().unwrap_or_default();
    match &p.spec[format!("{field}NamespaceSelector")] {
        // A nil namespace selector: the Prometheus's own namespace only.
        Value::Null => ns == p.namespace,
        sel => namespaces.matches(items, sel, ns),
    }
}

/// Namespace objects of the input, for namespace selectors.
struct Namespaces(BTreeMap<String, usize>);

impl Namespaces {
    fn matches(&self, items: &[Value], sel: &Value, ns: &str) -> bool {
        match self.0.get(ns) {
            Some(&i) => crate::labels::selector_matches(sel, |k| {
                if k == super::policy::NAMESPACE_LABEL {
                    return Some(ns);
                }
                items[i]["metadata"]["labels"][k].as_str()
            }),
            // A namespace whose labels the input does not show: only its name label is known;
            // anything else is taken to match (a scrape allowed rather than silently dropped).
            None => {
                crate::labels::selector_matches(sel, |k| {
                    (k == super::policy::NAMESPACE_LABEL).then_some(ns)
                }) || sel["matchLabels"]
                    .as_object()
                    .is_some_and(|m| m.keys().any(|k| k != super::policy::NAMESPACE_LABEL))
                    || sel["matchExpressions"]
                        .as_array()
                        .is_some_and(|e| !e.is_empty())
            }
        }
    }
}

/// An endpoint's `targetPort` on the pods: a number, or a container port's name.
fn target_port(wl: &crate::model::Workload, target: &Value) -> BTreeSet<PortProto> {
    if let Some(n) = port_number(target) {
        [("TCP".to_string(), n)].into()
    } else if let Some(t) = target.as_str() {
        wl.port_named(t).into_iter().collect()
    } else {
        BTreeSet::new()
    }
}

/// The Services a ServiceMonitor (input item `i`) selects, as the model linked them.
fn selected_services<'g>(g: &'g Graph, i: usize) -> impl Iterator<Item = usize> + 'g {
    g.model
        .links_of(i)
        .iter()
        .filter(|l| l.pointer == Pointer::ServiceMonitor)
        .filter_map(|l| l.service)
}

/// The scrape targets of one monitor: workload -> pod ports.
fn targets(
    g: &Graph,
    i: usize,
    m: &Value,
    service_monitor: bool,
) -> BTreeMap<usize, BTreeSet<PortProto>> {
    let model = g.model;
    let mut out: BTreeMap<usize, BTreeSet<PortProto>> = BTreeMap::new();
    if service_monitor {
        for svc in selected_services(g, i).map(|s| &model.services[s]) {
            for ep in m["spec"]["endpoints"].as_array().into_iter().flatten() {
                for &b in &svc.backends {
                    let wl = &g.model.workloads[b];
                    let ports: BTreeSet<PortProto> = if let Some(name) = ep["port"].as_str() {
                        svc.ports
                            .iter()
                            .filter(|p| p.name.as_deref() == Some(name))
                            .filter_map(|sp| match &sp.target {
                                TargetPort::Number(n) => Some((sp.protocol.clone(), *n)),
                                TargetPort::Name(t) => wl.port_named(t),
                            })
                            .collect()
                    } else {
                        target_port(wl, &ep["targetPort"])
                    };
                    out.entry(b).or_default().extend(ports);
                }
            }
        }
    } else {
        let selected = model
            .links_of(i)
            .iter()
            .filter(|l| l.pointer == Pointer::PodMonitor)
            .filter_map(|l| l.workload);
        for w in selected {
            let wl = &model.workloads[w];
            for ep in m["spec"]["podMetricsEndpoints"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let ports: BTreeSet<PortProto> = if let Some(name) = ep["port"].as_str() {
                    wl.port_named(name).into_iter().collect()
                } else if let Some(n) = port_number(&ep["portNumber"]) {
                    [("TCP".to_string(), n)].into()
                } else {
                    target_port(wl, &ep["targetPort"])
                };
                out.entry(w).or_default().extend(ports);
            }
        }
    }
    out.retain(|_, p| !p.is_empty());
    out
}

/// A ServiceMonitor's Services that select the operator's own pods (kube-prometheus scrapes
/// its Prometheus and Alertmanager, `web` and `reloader-web`): those pods admit the scrapers.
fn unseen_targets(items: &[Value], g: &mut Graph, i: usize, m: &Value, scrapers: &[&Prometheus]) {
    let model = g.model;
    let mut add: Vec<(usize, BTreeSet<PortProto>)> = Vec::new();
    for svc in selected_services(g, i).map(|s| &model.services[s]) {
        if !svc.has_selector || !svc.backends.is_empty() {
            continue;
        }
        let selector = &items[svc.item]["spec"]["selector"];
        for (u, pods) in g.unseen.iter().enumerate() {
            let picks = pods.namespace == svc.namespace
                && selector.as_object().is_some_and(|o| {
                    o.iter()
                        .all(|(k, v)| pods.selected_by.get(k).map(String::as_str) == v.as_str())
                });
            if !picks {
                continue;
            }
            let mut ports = BTreeSet::new();
            for ep in m["spec"]["endpoints"].as_array().into_iter().flatten() {
                for sp in svc.ports.iter().filter(|p| {
                    ep["port"]
                        .as_str()
                        .is_some_and(|n| p.name.as_deref() == Some(n))
                }) {
                    match &sp.target {
                        TargetPort::Number(n) => {
                            ports.insert((sp.protocol.clone(), *n));
                        }
                        TargetPort::Name(t) => {
                            if let Some((_, p)) = pods.named_ports.iter().find(|(n, _)| n == t) {
                                ports.insert(p.clone());
                            }
                        }
                    }
                }
            }
            if !ports.is_empty() {
                add.push((u, ports));
            }
        }
    }
    for (u, ports) in add {
        for p in scrapers {
            let from = peer(p.namespace, prometheus_pod_labels(p.name));
            g.unseen[u].ingress.push((from, ports.clone()));
        }
    }
}

/// A Probe: Prometheus scrapes the prober (`spec.prober.url`, blackbox-exporter) on its port,
/// and the prober calls the static targets; targets in the cluster become flows, the others
/// a warning (egress beyond the cluster is a class's `network.egress`).
fn probe(config: &Config, g: &mut Graph, m: &Value, scrapers: &[&Prometheus]) {
    let ns = m["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = m["metadata"]["name"].as_str().unwrap_or_default();
    let url = m["spec"]["prober"]["url"].as_str().unwrap_or_default();
    let Some(h) = super::refs::hosts(url).into_iter().next() else {
        return;
    };
    let Some(s) = super::refs::service_name(&h.host, ns).and_then(|(n, svc)| g.service(&n, &svc))
    else {
        return;
    };
    let svc = g.model.services[s].clone();
    let chosen: Vec<usize> = (0..svc.ports.len())
        .filter(|&i| h.port.is_none_or(|p| svc.ports[i].port == p))
        .collect();
    for &b in &svc.backends {
        let ports = super::platform::backend_ports(g, &svc, &chosen, b);
        if ports.is_empty() {
            continue;
        }
        if !scrapers.is_empty() {
            for p in scrapers {
                let from = peer(p.namespace, prometheus_pod_labels(p.name));
                g.extra_ingress
                    .entry(b)
                    .or_default()
                    .push((from, ports.clone()));
            }
        } else {
            for mon in 0..config.network.monitoring.len() {
                g.monitoring
                    .entry((mon, b))
                    .or_default()
                    .extend(ports.iter().cloned());
            }
        }
        let targets = m["spec"]["targets"]["staticConfig"]["static"].as_array();
        for t in targets.into_iter().flatten().filter_map(Value::as_str) {
            let Some(th) = super::refs::hosts(t).into_iter().next() else {
                continue;
            };
            let target =
                super::refs::service_name(&th.host, ns).and_then(|(n, svc)| g.service(&n, &svc));
            match target {
                Some(ts) => {
                    let tsvc = g.model.services[ts].clone();
                    let port = th.port.or_else(|| super::names::scheme_port(t, &th.host));
                    let tchosen: Vec<usize> = (0..tsvc.ports.len())
                        .filter(|&i| port.is_none_or(|p| tsvc.ports[i].port == p))
                        .collect();
                    for &tb in &tsvc.backends {
                        let tports = super::platform::backend_ports(g, &tsvc, &tchosen, tb);
                        if tb != b && !tports.is_empty() {
                            g.flows.entry((b, tb)).or_default().extend(tports);
                        }
                    }
                }
                None => g.results.push(
                    FnResult::warning(format!(
                        "Probe {name} has {} probe `{}`, which is no Service in the input: no NetworkPolicy allows that egress; allow it with the class's network.egress",
                        g.model.workloads[b].display(),
                        th.host
                    ))
                    .about(m),
                ),
            }
        }
    }
}

fn peer(ns: &str, labels: BTreeMap<String, String>) -> NetworkPolicyPeer {
    super::policy::peer_of(&PeerSpec {
        namespace: (!ns.is_empty()).then(|| ns.to_string()),
        pod_labels: labels,
        ..Default::default()
    })
}

/// ServiceMonitors and PodMonitors: ingress for the scrapes; and the operator's own pods.
pub fn monitors(items: &[Value], config: &Config, g: &mut Graph) {
    let live = |item: &Value| item.is_object() && !annotations::is_local_config(item);
    let name_of = |item: &'_ Value| crate::object::name(item).to_string();
    let prometheuses = prometheuses(items);
    let namespaces = Namespaces(
        items
            .iter()
            .enumerate()
            .filter(|(_, i)| live(i) && i["kind"] == "Namespace" && i["apiVersion"] == "v1")
            .map(|(n, i)| (name_of(i), n))
            .collect(),
    );
    for m in items.iter().filter(|i| live(i) && is(i, "Probe")) {
        let scrapers: Vec<&Prometheus> = prometheuses
            .iter()
            .filter(|p| selects(items, p, m, "probe", &namespaces))
            .collect();
        probe(config, g, m, &scrapers);
    }
    for (i, m) in items.iter().enumerate().filter(|(_, m)| live(m)) {
        let (service_monitor, field) = if is(m, "ServiceMonitor") {
            (true, "serviceMonitor")
        } else if is(m, "PodMonitor") {
            (false, "podMonitor")
        } else {
            continue;
        };
        let scrapers: Vec<&Prometheus> = prometheuses
            .iter()
            .filter(|p| selects(items, p, m, field, &namespaces))
            .collect();
        if service_monitor && !scrapers.is_empty() {
            unseen_targets(items, g, i, m, &scrapers);
        }
        for (w, ports) in targets(g, i, m, service_monitor) {
            if !scrapers.is_empty() {
                for p in &scrapers {
                    let from = peer(p.namespace, prometheus_pod_labels(p.name));
                    g.extra_ingress
                        .entry(w)
                        .or_default()
                        .push((from, ports.clone()));
                }
            } else if !config.network.monitoring.is_empty() {
                for mon in 0..config.network.monitoring.len() {
                    g.monitoring
                        .entry((mon, w))
                        .or_default()
                        .extend(ports.iter().cloned());
                }
            } else {
                let wl = &g.model.workloads[w];
                let list: Vec<String> = ports.iter().map(|(_, p)| p.to_string()).collect();
                g.results.push(
                    FnResult::warning(format!(
                        "{} {} scrapes {} on port {}, but no Prometheus in the input selects it and no scraper is configured: the generated NetworkPolicies drop the scrapes; name the Prometheus pods under spec.networkPolicy.monitoring",
                        m["kind"].as_str().unwrap_or_default(),
                        name_of(m),
                        wl.display(),
                        list.join(", ")
                    ))
                    .about(m),
                );
            }
        }
    }
}

fn tcp(ports: &[i32]) -> BTreeSet<PortProto> {
    ports.iter().map(|p| ("TCP".to_string(), *p)).collect()
}

fn own_namespace() -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(LabelSelector::default()),
        ..Default::default()
    }
}

/// Every label the operator's pods carry, for the Services that select them: the operator's
/// own (`app.kubernetes.io/managed-by`, `instance`, the kind's name label, the shard) and the
/// object's `spec.podMetadata.labels`.
fn full_labels(
    item: &Value,
    mut own: BTreeMap<String, String>,
    extra: &[(&str, &str)],
) -> BTreeMap<String, String> {
    let name = crate::object::name(item);
    for (k, v) in extra {
        own.insert(k.to_string(), v.to_string());
    }
    own.insert(
        "app.kubernetes.io/managed-by".into(),
        "prometheus-operator".into(),
    );
    own.insert("app.kubernetes.io/instance".into(), name.into());
    for (k, v) in item["spec"]["podMetadata"]["labels"]
        .as_object()
        .into_iter()
        .flatten()
    {
        if let Some(v) = v.as_str() {
            own.insert(k.clone(), v.to_string());
        }
    }
    own
}

fn named(ports: &[(&str, i32)]) -> Vec<(String, PortProto)> {
    ports
        .iter()
        .map(|(n, p)| (n.to_string(), ("TCP".to_string(), *p)))
        .collect()
}

/// Item 6: policies for the Prometheus and Alertmanager pods the operator creates. Runs before
/// names are resolved, so a Service selecting those pods (kube-prometheus's `prometheus-k8s`)
/// leads to them.
pub fn operator_pods(items: &[Value], g: &mut Graph) {
    let prometheuses = prometheuses(items);
    for p in &prometheuses {
        g.unseen.push(UnseenPods {
            item: p.item,
            namespace: p.namespace.to_string(),
            name: format!("prometheus-{}", p.name),
            labels: prometheus_pod_labels(p.name),
            selected_by: full_labels(
                &items[p.item],
                prometheus_pod_labels(p.name),
                &[
                    ("prometheus", p.name),
                    ("operator.prometheus.io/shard", "0"),
                ],
            ),
            named_ports: named(&[("web", 9090), ("grpc", 10901), ("reloader-web", 8080)]),
            // The web port (queries from Grafana and the like) and the Thanos sidecar's gRPC.
            ingress: vec![(own_namespace(), tcp(&[9090, 10901]))],
            egress: Vec::new(),
            any_egress: true,
        });
    }
    for (n, a) in items.iter().enumerate() {
        if !(a.is_object() && !annotations::is_local_config(a) && is(a, "Alertmanager")) {
            continue;
        }
        let ns = a["metadata"]["namespace"].as_str().unwrap_or_default();
        let name = a["metadata"]["name"].as_str().unwrap_or_default();
        let mut ingress = vec![(own_namespace(), tcp(&[9093]))];
        for p in &prometheuses {
            ingress.push((
                peer(p.namespace, prometheus_pod_labels(p.name)),
                tcp(&[9093]),
            ));
        }
        let me = NetworkPolicyPeer {
            pod_selector: Some(LabelSelector {
                match_labels: Some(alertmanager_pod_labels(name)),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut cluster = tcp(&[9094]);
        cluster.insert(("UDP".to_string(), 9094));
        ingress.push((me, cluster));
        g.unseen.push(UnseenPods {
            item: n,
            namespace: ns.to_string(),
            name: format!("alertmanager-{name}"),
            labels: alertmanager_pod_labels(name),
            selected_by: full_labels(a, alertmanager_pod_labels(name), &[]),
            named_ports: named(&[("web", 9093), ("mesh-tcp", 9094), ("reloader-web", 8080)]),
            ingress,
            egress: Vec::new(),
            any_egress: true,
        });
    }
}
