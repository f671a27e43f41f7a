//! Pods the manifests do not show, but objects in them make someone create: the Prometheus and
//! Alertmanager pods of prometheus-operator objects, the proxy pods a Gateway API
//! implementation runs in the Gateway's namespace (issue 14, items 2 and 6).
//!
//! A namespace default-deny isolates such pods as much as the input's own, so each gets a
//! policy of its own, selecting it by the labels its creator puts on it.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::networking::v1::NetworkPolicyPeer;

use crate::model::PortProto;

/// A peer and the ports of a rule.
pub type Rule = (NetworkPolicyPeer, BTreeSet<PortProto>);

/// Pods created by a controller from an object of the input.
#[derive(Debug, Clone)]
pub struct UnseenPods {
    /// The object they are created from (its index in the input: the policy goes beside it).
    pub item: usize,
    pub namespace: String,
    /// The policy's name, `<name>-netpol`.
    pub name: String,
    /// The labels their policy selects them by (those their creator always gives them).
    pub labels: BTreeMap<String, String>,
    /// Every label they are known to carry, for Services that select them.
    pub selected_by: BTreeMap<String, String>,
    /// Their named container ports, for Services' `targetPort` names.
    pub named_ports: Vec<(String, PortProto)>,
    pub ingress: Vec<Rule>,
    pub egress: Vec<Rule>,
    /// Egress is left open (their callees are not knowable from the manifests).
    pub any_egress: bool,
}

/// Spec fields by which an operator's custom resource asks for pods (`replicas`, CloudNativePG's
/// `instances`, MongoDB's `members`, Elastic's `nodeSets`, a `podTemplate`), at the top of the
/// spec or one level down (Strimzi's `spec.kafka.replicas`).
const POD_FIELDS: [&str; 6] = [
    "replicas",
    "instances",
    "members",
    "nodeSets",
    "podTemplate",
    "size",
];

fn asks_for_pods(spec: &serde_json::Value) -> bool {
    let Some(map) = spec.as_object() else {
        return false;
    };
    POD_FIELDS.iter().any(|f| map.contains_key(*f))
        || map
            .values()
            .filter_map(serde_json::Value::as_object)
            .any(|m| POD_FIELDS.iter().any(|f| m.contains_key(*f)))
}

/// Item 6, the rest: custom resources of operators without a convention here, in a namespace
/// that gets a `default-deny`, whose spec asks for pods. Those pods are isolated; the warning
/// says how to declare their flows.
pub fn operator_warnings(
    items: &[serde_json::Value],
    config: &crate::config::Config,
    denied: &std::collections::BTreeSet<String>,
    covered: &[usize],
) -> Vec<crate::krm::FnResult> {
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if !item.is_object()
            || crate::krm::annotations::is_local_config(item)
            || covered.contains(&i)
        {
            continue;
        }
        let group = crate::workload::group_of(item["apiVersion"].as_str().unwrap_or_default());
        // Built-in groups have no dot or end in k8s.io; their pod makers are workloads.
        if !group.contains('.') || group.ends_with("k8s.io") {
            continue;
        }
        let ns = crate::object::namespace(item);
        if !denied.contains(ns)
            || crate::workload::kind_of(item, &config.workload_kinds).is_some()
            || !asks_for_pods(&item["spec"])
        {
            continue;
        }
        out.push(
            crate::krm::FnResult::warning(format!(
                "{} {} asks an operator for pods the input does not show; the namespace default-deny isolates them: declare their flows under spec.networkPolicy.edges with a {{namespace, podLabels}} peer, or set networkPolicy.defaultDeny: false",
                item["kind"].as_str().unwrap_or_default(),
                crate::object::name(item)
            ))
            .about(item),
        );
    }
    out
}

/// A Service whose selector matches no workload but pods of `g.unseen` (kube-prometheus's
/// `prometheus-k8s` selects the operator's Prometheus pods): the caller `w` reaches them on the
/// chosen Service ports, and their policy admits it. False when no such pods match.
pub fn call_unseen(
    items: &[serde_json::Value],
    g: &mut super::infer::Graph,
    w: usize,
    svc: &crate::model::Service,
    chosen: &[usize],
) -> bool {
    let selector: BTreeMap<String, String> = items[svc.item]["spec"]["selector"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), crate::model::scalar(v)?)))
        .collect();
    if selector.is_empty() {
        return false;
    }
    let matches: Vec<usize> = (0..g.unseen.len())
        .filter(|&u| {
            g.unseen[u].namespace == svc.namespace
                && selector
                    .iter()
                    .all(|(k, v)| g.unseen[u].selected_by.get(k) == Some(v))
        })
        .collect();
    if matches.is_empty() {
        return false;
    }
    let caller_ns = g.model.workloads[w].namespace.clone();
    for u in matches {
        let ports: BTreeSet<PortProto> = chosen
            .iter()
            .filter_map(|&i| {
                let sp = &svc.ports[i];
                match &sp.target {
                    crate::model::TargetPort::Number(n) => Some((sp.protocol.clone(), *n)),
                    crate::model::TargetPort::Name(n) => g.unseen[u]
                        .named_ports
                        .iter()
                        .find(|(name, _)| name == n)
                        .map(|(_, p)| p.clone()),
                }
            })
            .collect();
        if ports.is_empty() {
            continue;
        }
        let target = NetworkPolicyPeer {
            namespace_selector: (g.unseen[u].namespace != caller_ns).then(|| {
                k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
                    match_labels: Some(
                        [(
                            super::policy::NAMESPACE_LABEL.to_string(),
                            g.unseen[u].namespace.clone(),
                        )]
                        .into(),
                    ),
                    ..Default::default()
                }
            }),
            pod_selector: Some(
                k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
                    match_labels: Some(g.unseen[u].labels.clone()),
                    ..Default::default()
                },
            ),
            ip_block: None,
        };
        g.extra_egress
            .entry(w)
            .or_default()
            .push((target, ports.clone()));
        let ns = g.unseen[u].namespace.clone();
        let caller = super::gateways::workload_peer(g, w, &ns);
        g.unseen[u].ingress.push((caller, ports));
    }
    true
}

/// A NetworkPolicy of the user (not generated) in `ns` selects these pods by a non-empty
/// selector: with `userPolicies: keep` it decides for them (kube-prometheus ships policies for
/// its Prometheus and Alertmanager).
pub fn user_selects(items: &[serde_json::Value], pods: &UnseenPods) -> bool {
    items.iter().any(|p| {
        p["kind"] == "NetworkPolicy"
            && crate::workload::group_of(p["apiVersion"].as_str().unwrap_or_default())
                == "networking.k8s.io"
            && p["metadata"]["namespace"].as_str().unwrap_or_default() == pods.namespace
            && !crate::generated::is_generated(p)
            && !crate::krm::annotations::is_local_config(p)
            && {
                let sel = &p["spec"]["podSelector"];
                let empty = sel["matchLabels"].as_object().is_none_or(|m| m.is_empty())
                    && sel["matchExpressions"]
                        .as_array()
                        .is_none_or(|e| e.is_empty());
                !empty
                    && crate::labels::selector_matches(sel, |k| {
                        pods.selected_by.get(k).map(String::as_str)
                    })
            }
    })
}
