//! Config of NetworkPolicy generation (the graph module reads it; nothing else does).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// NetworkPolicy generation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NetworkPolicySpec {
    /// What to do for a workload that a NetworkPolicy in the input already selects: `keep`
    /// (the default) leaves it to the user's policy and generates none for it; `add` generates
    /// ours as well (policies are additive, so theirs can only widen what ours allow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_policies: Option<UserPolicies>,
    /// Emit a default-deny policy (ingress and egress) per namespace. Default true. It is left
    /// out, with a warning, of a namespace where some workload gets no policy (opted out or
    /// excluded), since it would cut that workload off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_deny: Option<bool>,
    /// Where ingress controllers run. Workloads that back an Ingress or a Gateway API route
    /// accept traffic from these peers on the backing port; set, they replace the presets the
    /// route's class chooses (ingress-nginx, Traefik, HAProxy, Contour, Kong, Istio, Envoy
    /// Gateway, NGINX Gateway Fabric) for every route. Default: the preset of the class; the
    /// namespace `ingress-nginx` without one. For k3s's Traefik:
    /// `[{namespace: kube-system, podLabels: {app.kubernetes.io/name: traefik}}]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_controllers: Option<Vec<PeerSpec>>,
    /// Monitoring systems allowed to scrape workloads, on the listed ports (port names or
    /// numbers; empty: ports named `metrics` or `http-metrics`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub monitoring: Vec<MonitoringSpec>,
    /// Where cluster DNS runs (egress on UDP and TCP 53 is allowed to it from every workload).
    /// Default: pods `k8s-app: kube-dns` in namespace `kube-system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<PeerSpec>,
    /// Flows the manifests do not show (e.g. agents that find each other through a registry).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edges: Vec<EdgeSpec>,
    /// Named services outside the cluster, referenced by classes' `network.egress`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external: Vec<ExternalServiceSpec>,
    /// Where the Kubernetes API server is. It calls admission, conversion and aggregated-API
    /// backends, and bound ServiceAccounts' pods call it (TCP 443 and 6443); it has no pod
    /// identity, so it is addressed by CIDR. Default: any address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_server: Option<ApiServerSpec>,
    /// What a Service gets whose callers the manifests do not show (each is reported by name,
    /// an error in check mode): `deny` (least privilege: its pods accept nothing the graph does
    /// not show) or `same-namespace` (ingress on its target ports from its own namespace).
    /// Default: `deny` in the `prod` environment, `same-namespace` in the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncalled_services: Option<UncalledServices>,
}

/// What Services with no caller in the manifests get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UncalledServices {
    /// Nothing: their pods accept only the flows the graph shows.
    Deny,
    /// Ingress on their target ports from every pod of their own namespace.
    SameNamespace,
}

/// The Kubernetes API server's addresses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApiServerSpec {
    /// CIDRs of the API server's endpoints (`kubectl get endpoints kubernetes`), e.g.
    /// `[172.18.0.2/32]`. Empty: any address (`0.0.0.0/0` and `::/0`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cidrs: Vec<String>,
}

/// How user-written NetworkPolicies are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UserPolicies {
    /// Generate no policy for a workload the user's policies already select.
    Keep,
    /// Generate ours in addition to theirs.
    Add,
}

/// Pods elsewhere in the cluster, by namespace and pod labels.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PeerSpec {
    /// Namespace name (selected through the `kubernetes.io/metadata.name` label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Namespace labels, instead of or besides `namespace`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub namespace_labels: BTreeMap<String, String>,
    /// Pod labels within those namespaces (empty: all pods there).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pod_labels: BTreeMap<String, String>,
}

/// A monitoring peer and the ports it scrapes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MonitoringSpec {
    /// Where the scraper runs.
    #[serde(flatten)]
    pub peer: PeerSpec,
    /// Port names or numbers it scrapes. A name is resolved on each workload's container ports
    /// (workloads without such a port are not scraped); a number is allowed on every workload.
    /// Empty: the ports named `metrics` or `http-metrics`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<serde_json::Value>,
}

/// A declared flow between workloads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EdgeSpec {
    /// Calling workloads: a workload name (in any namespace), `namespace/name`, or `class:NAME`
    /// for every workload of a class; or pods outside the render, as `{namespace,
    /// namespaceLabels, podLabels}`. `namespace/name` of no workload in the input selects the
    /// pods labelled `app.kubernetes.io/name: <name>` in that namespace.
    pub from: EdgeEnd,
    /// Called workloads: a Service name (its backends, on its target ports), a workload name,
    /// `namespace/name` of either, or `class:NAME`. A Service of that name wins over a workload.
    /// Pods outside the render as for `from`.
    pub to: EdgeEnd,
    /// Ports on the called pods (names or numbers); empty: every port the callee declares.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<serde_json::Value>,
}

/// One end of a declared edge: a name in the render (or `ns/name` outside it), or pods
/// elsewhere by namespace and labels (each Argo CD Application renders alone, so calls between
/// apps name peers the render does not hold).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum EdgeEnd {
    Name(String),
    Peer(PeerSpec),
}

impl Default for EdgeEnd {
    fn default() -> Self {
        EdgeEnd::Name(String::new())
    }
}

impl EdgeEnd {
    /// The name form, if this end is one.
    pub fn as_name(&self) -> Option<&str> {
        match self {
            EdgeEnd::Name(n) => Some(n),
            EdgeEnd::Peer(_) => None,
        }
    }
}

impl std::fmt::Display for EdgeEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EdgeEnd::Name(n) => f.write_str(n),
            EdgeEnd::Peer(p) => write!(f, "{}", serde_json::to_string(p).unwrap_or_default()),
        }
    }
}

/// A service outside the cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExternalServiceSpec {
    /// Name used in classes' `network.egress[].to`. `internet` is predefined: 0.0.0.0/0 and
    /// ::/0 except private, loopback and link-local ranges.
    pub name: String,
    /// CIDRs of the service.
    pub cidrs: Vec<String>,
    /// CIDRs carved out of `cidrs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub except: Vec<String>,
}

/// Network settings of a class.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClassNetworkSpec {
    /// Egress to services outside the cluster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub egress: Vec<EgressSpec>,
}

/// Egress from a class to an external service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EgressSpec {
    /// `internet` or the name of an entry of `networkPolicy.external`.
    pub to: String,
    /// TCP port numbers, e.g. `[443]`.
    pub ports: Vec<u16>,
}
