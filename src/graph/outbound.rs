//! Traffic a workload sends that the manifests cannot show as an edge between workloads:
//!
//! - An ingress controller or Gateway proxy that is itself in the input must reach every
//!   backend it admits traffic for (its own policy would otherwise allow only DNS and the API
//!   server, and every proxied request would be dropped).
//! - Programs known to call out of the cluster, by image (cert-manager's controller asks ACME
//!   servers, checks its own HTTP-01 challenges and asks authoritative nameservers for DNS-01):
//!   egress to `internet` on those ports, said in an info result.

use std::collections::BTreeSet;

use k8s_openapi::api::networking::v1::NetworkPolicyPeer;
use serde_json::Value;

use super::infer::{ANY_PORT, Graph};
use crate::config::selector::glob_match;
use crate::config::{Config, PeerSpec};
use crate::krm::FnResult;
use crate::model::{PortProto, Workload};
use crate::workload;

/// The `kubernetes.io/metadata.name` label a namespace selector names a namespace by.
const NAMESPACE_NAME: &str = "kubernetes.io/metadata.name";

/// Workloads of the input that a configured controller peer selects.
fn selects_spec(peer: &PeerSpec, w: &Workload) -> bool {
    if !peer.namespace_labels.is_empty() {
        // Namespace labels other than the name are not in the manifests: no claim either way.
        return false;
    }
    peer.namespace.as_deref().is_none_or(|ns| ns == w.namespace)
        && peer
            .pod_labels
            .iter()
            .all(|(k, v)| w.labels.get(k) == Some(v))
}

/// Whether a NetworkPolicy peer in a policy of namespace `policy_ns` selects a workload's pods
/// (ipBlocks and namespace labels the input cannot show select none).
fn selects_peer(peer: &NetworkPolicyPeer, policy_ns: &str, w: &Workload) -> bool {
    if peer.ip_block.is_some() {
        return false;
    }
    let in_namespace = match &peer.namespace_selector {
        None => w.namespace == policy_ns,
        Some(sel) => {
            let labels = sel.match_labels.clone().unwrap_or_default();
            if sel
                .match_expressions
                .as_ref()
                .is_some_and(|e| !e.is_empty())
            {
                return false;
            }
            match labels.len() {
                0 => true,
                1 => labels.get(NAMESPACE_NAME) == Some(&w.namespace),
                _ => false,
            }
        }
    };
    let pods = match &peer.pod_selector {
        None => true,
        Some(sel) => {
            let v = serde_json::to_value(sel).unwrap_or(Value::Null);
            crate::labels::selector_matches(&v, |k| w.labels.get(k).map(String::as_str))
        }
    };
    // A peer with neither selector selects nothing here (an ipBlock was handled above).
    let selects_pods = peer.pod_selector.is_some() || peer.namespace_selector.is_some();
    in_namespace && pods && selects_pods
}

/// Item 2's other half: controllers and proxies in the input reach the backends they admit
/// traffic for.
pub fn controller_egress(config: &Config, g: &mut Graph) {
    let controllers = super::ingress_controllers(config);
    let mut add: Vec<(usize, usize, BTreeSet<PortProto>)> = Vec::new();
    let workloads = &g.model.workloads;
    for (&(c, to), ports) in &g.controllers {
        for (x, wl) in workloads.iter().enumerate() {
            if x != to && selects_spec(&controllers[c], wl) {
                add.push((x, to, ports.clone()));
            }
        }
    }
    for (&to, peers) in &g.extra_ingress {
        let ns = &workloads[to].namespace;
        for (peer, ports) in peers {
            for (x, wl) in workloads.iter().enumerate() {
                if x != to && selects_peer(peer, ns, wl) {
                    add.push((x, to, ports.clone()));
                }
            }
        }
    }
    for (from, to, ports) in add {
        g.flows.entry((from, to)).or_default().extend(ports);
    }
}

/// An ingress controller proxies to the backends of Ingresses in any render, most of which
/// this input does not hold: its egress to the cluster's pods stays open (any namespace, any
/// port), said in an info result, instead of only the backends this render shows.
pub fn controller_open_egress(items: &[Value], config: &Config, g: &mut Graph) {
    let peers = super::gateways::controller_peers(items, config);
    let every_pod = NetworkPolicyPeer {
        namespace_selector: Some(Default::default()),
        ..Default::default()
    };
    let any: BTreeSet<PortProto> = [(ANY_PORT.0.to_string(), ANY_PORT.1)].into();
    for w in 0..g.model.workloads.len() {
        let wl = &g.model.workloads[w];
        if !wl.managed || !peers.iter().any(|p| selects_spec(p, wl)) {
            continue;
        }
        g.results.push(
            FnResult::info(format!(
                "{}: an ingress controller: egress to pods of every namespace stays open, since it \
                 proxies to the backends of Ingresses in any render; narrow it with your own \
                 NetworkPolicy (userPolicies: keep) or annotate the workload \
                 apply-defaults.dev/skip: networkPolicy",
                wl.display()
            ))
            .about(&items[wl.item]),
        );
        g.extra_egress
            .entry(w)
            .or_default()
            .push((every_pod.clone(), any.clone()));
    }
}

/// A program known to call out of the cluster: its image repositories, why, and the ports.
struct KnownCaller {
    repositories: &'static [&'static str],
    why: &'static str,
    ports: &'static [(&'static str, i32)],
}

const KNOWN_CALLERS: &[KnownCaller] = &[KnownCaller {
    repositories: &[
        "quay.io/jetstack/cert-manager-controller",
        "*/cert-manager-controller",
    ],
    why: "cert-manager's controller talks to ACME servers (443), checks its own HTTP-01 \
          challenges (80) and asks authoritative nameservers for DNS-01 (53)",
    ports: &[("TCP", 443), ("TCP", 80), ("UDP", 53), ("TCP", 53)],
}];

/// Egress to `internet` for the workloads running a known outbound caller.
pub fn known_callers(items: &[Value], g: &mut Graph) {
    for w in 0..g.model.workloads.len() {
        let wl = &g.model.workloads[w];
        if !wl.managed {
            continue;
        }
        let Some(spec) = workload::pod_spec(&items[wl.item], &wl.kind) else {
            continue;
        };
        let images = workload::image_repositories(spec);
        let Some(known) = KNOWN_CALLERS.iter().find(|k| {
            k.repositories
                .iter()
                .any(|p| images.iter().any(|i| glob_match(p, i)))
        }) else {
            continue;
        };
        g.external
            .entry((w, "internet".to_string()))
            .or_default()
            .extend(known.ports.iter().map(|(p, n)| (p.to_string(), *n)));
        g.results.push(
            FnResult::info(format!(
                "{}: egress to the internet allowed: {}; narrow it with spec.networkPolicy.external \
                 `internet`, or annotate the workload apply-defaults.dev/skip: networkPolicy",
                wl.display(),
                known.why
            ))
            .about(&items[wl.item]),
        );
    }
}
