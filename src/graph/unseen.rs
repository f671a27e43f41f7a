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
