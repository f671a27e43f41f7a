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
    /// The labels their creator gives them.
    pub labels: BTreeMap<String, String>,
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
        let ns = item["metadata"]["namespace"].as_str().unwrap_or_default();
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
                item["metadata"]["name"].as_str().unwrap_or_default()
            ))
            .about(item),
        );
    }
    out
}
