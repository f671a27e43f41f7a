//! The graph as NetworkPolicies, built with k8s-openapi types.
//!
//! - `default-deny` per namespace (ingress and egress; `networkPolicy.defaultDeny: false` turns
//!   it off). It is left out, with a warning, in a namespace where a workload has no policy
//!   (opted out, excluded by the selector, or without pod labels): it would cut that workload
//!   off.
//! - `allow-dns` per namespace: egress to cluster DNS on UDP and TCP 53.
//! - `<workload>-netpol` per workload: `podSelector.matchLabels` equal to its pod labels, both
//!   policyTypes, ingress from exactly its callers and egress to exactly its callees on their pod
//!   ports (a Service's `targetPort` name resolved to the container port), plus DNS, so each
//!   policy works on its own. The `-netpol` suffix keeps it apart from a user's policy named
//!   after the workload.
//!
//! Peers in the same namespace are selected by pod labels alone; peers elsewhere also by the
//! `kubernetes.io/metadata.name` namespace label. A peer without a namespace in the input
//! (it lands wherever it is applied) is matched in any namespace.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::infer::{ANY_PORT, Graph};
use crate::config::{Config, PeerSpec, UserPolicies};
use crate::generated;
use crate::krm::FnResult;
use crate::model::{PortProto, Workload};

/// The namespace label every namespace carries (Kubernetes 1.21+).
pub const NAMESPACE_LABEL: &str = "kubernetes.io/metadata.name";
/// Private, shared, link-local and loopback ranges: `internet` excludes them.
pub const PRIVATE_V4: [&str; 6] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "127.0.0.0/8",
];
/// Unique-local, link-local and loopback IPv6 ranges.
pub const PRIVATE_V6: [&str; 3] = ["fc00::/7", "fe80::/10", "::1/128"];

/// Cluster DNS: the configured peer, or kube-dns in kube-system.
pub fn dns_peer(config: &Config) -> PeerSpec {
    config.network.dns.clone().unwrap_or_else(|| PeerSpec {
        namespace: Some("kube-system".into()),
        pod_labels: [("k8s-app".to_string(), "kube-dns".to_string())].into(),
        ..Default::default()
    })
}

fn selector(labels: &BTreeMap<String, String>) -> LabelSelector {
    LabelSelector {
        match_labels: Some(labels.clone()),
        ..Default::default()
    }
}

fn namespace_selector(ns: &str) -> LabelSelector {
    selector(&[(NAMESPACE_LABEL.to_string(), ns.to_string())].into())
}

/// A configured peer (ingress controller, monitoring, DNS).
pub(crate) fn peer_of(spec: &PeerSpec) -> NetworkPolicyPeer {
    let mut ns_labels = spec.namespace_labels.clone();
    if let Some(ns) = &spec.namespace {
        ns_labels.insert(NAMESPACE_LABEL.into(), ns.clone());
    }
    NetworkPolicyPeer {
        namespace_selector: Some(if ns_labels.is_empty() {
            LabelSelector::default()
        } else {
            selector(&ns_labels)
        }),
        pod_selector: (!spec.pod_labels.is_empty()).then(|| selector(&spec.pod_labels)),
        ip_block: None,
    }
}

/// A workload as seen from a policy in namespace `ns`.
fn workload_peer(w: &Workload, ns: &str) -> NetworkPolicyPeer {
    let namespace_selector = if w.namespace == ns {
        None
    } else if w.namespace.is_empty() {
        Some(LabelSelector::default())
    } else {
        Some(namespace_selector(&w.namespace))
    };
    NetworkPolicyPeer {
        namespace_selector,
        pod_selector: Some(selector(&w.labels)),
        ip_block: None,
    }
}

/// Ports of a rule; None (every port) when the set holds [`ANY_PORT`].
fn ports_of(set: &BTreeSet<PortProto>) -> Option<Vec<NetworkPolicyPort>> {
    if set.iter().any(|(p, n)| p == ANY_PORT.0 && *n == ANY_PORT.1) {
        return None;
    }
    Some(
        set.iter()
            .map(|(proto, port)| NetworkPolicyPort {
                port: Some(IntOrString::Int(*port)),
                protocol: Some(proto.clone()),
                end_port: None,
            })
            .collect(),
    )
}

fn dns_rule(config: &Config) -> NetworkPolicyEgressRule {
    let set: BTreeSet<PortProto> = [("UDP".to_string(), 53), ("TCP".to_string(), 53)].into();
    NetworkPolicyEgressRule {
        to: Some(vec![peer_of(&dns_peer(config))]),
        ports: ports_of(&set),
    }
}

/// The ipBlocks of an external service (`internet` is predefined).
fn ip_blocks(config: &Config, name: &str) -> Vec<NetworkPolicyPeer> {
    let blocks: Vec<IPBlock> = if name == "internet" {
        vec![
            IPBlock {
                cidr: "0.0.0.0/0".into(),
                except: Some(PRIVATE_V4.map(String::from).to_vec()),
            },
            IPBlock {
                cidr: "::/0".into(),
                except: Some(PRIVATE_V6.map(String::from).to_vec()),
            },
        ]
    } else {
        config
            .network
            .external
            .iter()
            .filter(|x| x.name == name)
            .flat_map(|x| {
                x.cidrs.iter().map(|c| IPBlock {
                    cidr: c.clone(),
                    // An except must lie inside its cidr: keep those of the same address family.
                    except: Some(
                        x.except
                            .iter()
                            .filter(|e| e.contains(':') == c.contains(':'))
                            .cloned()
                            .collect::<Vec<_>>(),
                    )
                    .filter(|v| !v.is_empty()),
                })
            })
            .collect()
    };
    blocks
        .into_iter()
        .map(|b| NetworkPolicyPeer {
            ip_block: Some(b),
            ..Default::default()
        })
        .collect()
}

fn policy(name: &str, ns: &str, spec: NetworkPolicySpec) -> NetworkPolicy {
    NetworkPolicy {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: (!ns.is_empty()).then(|| ns.to_string()),
            ..Default::default()
        },
        spec: Some(spec),
    }
}

/// Groups peers by their port sets, so callers on the same ports share one rule.
fn group(
    peers: Vec<(NetworkPolicyPeer, BTreeSet<PortProto>)>,
) -> Vec<(Vec<NetworkPolicyPeer>, BTreeSet<PortProto>)> {
    let mut by_ports: BTreeMap<BTreeSet<PortProto>, Vec<NetworkPolicyPeer>> = BTreeMap::new();
    for (peer, ports) in peers {
        by_ports.entry(ports).or_default().push(peer);
    }
    // Peers are sorted by content, not by item index: kustomize and kpt send items in different
    // orders, and the same package must give the same policy either way.
    by_ports
        .into_iter()
        .map(|(ports, mut peers)| {
            peers.sort_by_cached_key(|p| serde_json::to_string(p).unwrap_or_default());
            peers.dedup_by(|a, b| a == b);
            (peers, ports)
        })
        .collect()
}

/// What policy generation produced: resources and warnings.
pub struct Policies {
    pub resources: Vec<Value>,
    pub results: Vec<FnResult>,
}

/// Emits the policies of a graph, sorted by namespace and name.
pub fn emit(items: &[Value], config: &Config, g: &Graph) -> Policies {
    let ix = g.model;
    let mut results = Vec::new();
    let keep = config.network.user_policies.unwrap_or(UserPolicies::Keep) == UserPolicies::Keep;
    let user = if keep {
        ix.user_covered()
    } else {
        BTreeSet::new()
    };
    let user_egress = ix.user_covered_egress();

    let (mut ingress, mut egress) = peers_by_workload(config, g);

    // (namespace, name) -> policy; BTreeMap keeps the output sorted.
    let mut out: BTreeMap<(String, String), (Value, String)> = BTreeMap::new();
    let mut covered_ns: BTreeSet<String> = BTreeSet::new();
    let mut uncovered: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut names: HashSet<(String, String)> = HashSet::new();
    // The namespace whose `allow-dns`/`default-deny` covers a workload: its own, or for a
    // namespace-less object of a `helm template` stream the release namespace it will land in
    // (a second, namespace-less pair would be a duplicate object under `helm install -n`).
    let home = |wl: &crate::model::Workload| match (&g.release_namespace, wl.namespace.as_str()) {
        (Some(release), "") => release.clone(),
        _ => wl.namespace.clone(),
    };
    for (w, wl) in ix.workloads.iter().enumerate() {
        if !wl.managed {
            uncovered.entry(home(wl)).or_default().push(wl.name.clone());
            continue;
        }
        // Left to the user's policies; if none of them restricts egress, the namespace
        // default-deny would cut all of it (Argo CD ships Ingress-only policies), so an
        // egress-only policy of ours keeps it open, as their policies leave it: `keep` means
        // their policies decide, and Argo CD's callees (repo-server, redis, dex, git hosts) are
        // compiled-in defaults no manifest shows.
        let theirs_cover_egress = user_egress.contains(&w);
        if user.contains(&w) && (theirs_cover_egress || wl.labels.is_empty()) {
            covered_ns.insert(home(wl));
            continue;
        }
        if wl.labels.is_empty() {
            results.push(
                FnResult::warning(format!(
                    "{} has no pod labels, so no NetworkPolicy can select its pods; none generated",
                    wl.display()
                ))
                .about(&items[wl.item]),
            );
            uncovered.entry(home(wl)).or_default().push(wl.name.clone());
            continue;
        }
        let egress_only = user.contains(&w);
        let name = policy_name(&mut names, wl, egress_only);
        let spec = workload_spec(
            config,
            g,
            w,
            egress_only,
            ingress.remove(&w).unwrap_or_default(),
            egress.remove(&w).unwrap_or_default(),
        );
        let path = generated::generated_path(Some(&items[wl.item]), "NetworkPolicy", &name);
        out.insert(
            (wl.namespace.clone(), name.clone()),
            (to_value(policy(&name, &wl.namespace, spec)), path),
        );
        covered_ns.insert(home(wl));
    }

    namespace_policies(
        items,
        config,
        g,
        &covered_ns,
        &uncovered,
        &mut out,
        &mut results,
    );

    unseen_policies(items, config, g, &mut out);
    let denied: BTreeSet<String> = out
        .keys()
        .filter(|(_, name)| name == "default-deny")
        .map(|(ns, _)| ns.clone())
        .collect();
    let covered: Vec<usize> = g.unseen.iter().map(|u| u.item).collect();
    results.extend(super::unseen::operator_warnings(
        items, config, &denied, &covered,
    ));

    Policies {
        resources: marked(out),
        results,
    }
}

/// `<workload>-netpol` (`-egress-netpol` for an egress-only one); two workloads of one name and
/// namespace (a Deployment and a StatefulSet) get their kind in the name too.
fn policy_name(
    names: &mut HashSet<(String, String)>,
    wl: &crate::model::Workload,
    egress_only: bool,
) -> String {
    let name = if egress_only {
        format!("{}-egress-netpol", wl.name)
    } else {
        format!("{}-netpol", wl.name)
    };
    if names.insert((wl.namespace.clone(), name.clone())) {
        return name;
    }
    let name = format!("{}-{}-netpol", wl.name, wl.kind.kind.to_lowercase());
    names.insert((wl.namespace.clone(), name.clone()));
    name
}

/// The policies in (namespace, name) order, each marked as generated with a file of its own.
fn marked(out: BTreeMap<(String, String), (Value, String)>) -> Vec<Value> {
    let mut used: HashSet<String> = HashSet::new();
    out.into_iter()
        .map(|((ns, name), (mut v, path))| {
            let path = unique_path(&mut used, path, &ns, &name);
            generated::mark_generated(&mut v, &path);
            v
        })
        .collect()
}

/// The peers (and ports) of every workload: who may call it, whom it may call.
type PeersOf = BTreeMap<usize, Vec<(NetworkPolicyPeer, BTreeSet<PortProto>)>>;

/// Ingress and egress peers per workload, from the graph's flows, the ingress controllers,
/// the callers and callees without pods, and the monitoring scrapers.
fn peers_by_workload(config: &Config, g: &Graph) -> (PeersOf, PeersOf) {
    let ix = g.model;
    let controllers = super::ingress_controllers(config);
    let mut ingress = PeersOf::new();
    let mut egress = PeersOf::new();
    for (&(from, to), ports) in &g.flows {
        let (f, t) = (&ix.workloads[from], &ix.workloads[to]);
        if f.labels.is_empty() || t.labels.is_empty() {
            continue;
        }
        ingress
            .entry(to)
            .or_default()
            .push((workload_peer(f, &t.namespace), ports.clone()));
        egress
            .entry(from)
            .or_default()
            .push((workload_peer(t, &f.namespace), ports.clone()));
    }
    for (&(c, w), ports) in &g.controllers {
        ingress
            .entry(w)
            .or_default()
            .push((peer_of(&controllers[c]), ports.clone()));
    }
    for (&w, peers) in &g.extra_ingress {
        ingress.entry(w).or_default().extend(peers.iter().cloned());
    }
    for (&w, peers) in &g.extra_egress {
        egress.entry(w).or_default().extend(peers.iter().cloned());
    }
    for (&(m, w), ports) in &g.monitoring {
        ingress
            .entry(w)
            .or_default()
            .push((peer_of(&config.network.monitoring[m].peer), ports.clone()));
    }
    (ingress, egress)
}

/// The policy of one workload: its callers and callees with DNS and its external services, or
/// (when the user's own policies decide its ingress) an egress-only policy that keeps egress
/// open as theirs leave it.
fn workload_spec(
    config: &Config,
    g: &Graph,
    w: usize,
    egress_only: bool,
    ingress: Vec<(NetworkPolicyPeer, BTreeSet<PortProto>)>,
    egress: Vec<(NetworkPolicyPeer, BTreeSet<PortProto>)>,
) -> NetworkPolicySpec {
    let wl = &g.model.workloads[w];
    let ingress_rules = group(ingress)
        .into_iter()
        .map(|(from, ports)| NetworkPolicyIngressRule {
            from: Some(from),
            ports: ports_of(&ports),
        })
        .collect();
    let mut egress_rules = vec![dns_rule(config)];
    egress_rules.extend(
        group(egress)
            .into_iter()
            .map(|(to, ports)| NetworkPolicyEgressRule {
                to: Some(to),
                ports: ports_of(&ports),
            }),
    );
    for ((_, ext), ports) in g
        .external
        .range((w, String::new())..)
        .take_while(|((x, _), _)| *x == w)
    {
        egress_rules.push(NetworkPolicyEgressRule {
            to: Some(ip_blocks(config, ext)),
            ports: ports_of(ports),
        });
    }
    if egress_only {
        NetworkPolicySpec {
            pod_selector: Some(selector(&wl.labels)),
            policy_types: Some(vec!["Egress".into()]),
            ingress: None,
            // One empty rule: every destination, every port.
            egress: Some(vec![NetworkPolicyEgressRule::default()]),
        }
    } else {
        NetworkPolicySpec {
            pod_selector: Some(selector(&wl.labels)),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(ingress_rules),
            egress: Some(egress_rules),
        }
    }
}

/// The namespace-wide policies of every namespace a workload policy was written for:
/// `allow-dns`, and `default-deny` unless a workload there has no policy of its own (it would
/// lose all traffic: warned instead) or the config switches it off.
fn namespace_policies(
    items: &[Value],
    config: &Config,
    g: &Graph,
    covered_ns: &BTreeSet<String>,
    uncovered: &BTreeMap<String, Vec<String>>,
    out: &mut BTreeMap<(String, String), (Value, String)>,
    results: &mut Vec<FnResult>,
) {
    let ix = g.model;
    for ns in covered_ns {
        let anchor = ix.namespace_objects.get(ns).map(|&i| &items[i]);
        let dns = NetworkPolicySpec {
            pod_selector: Some(LabelSelector::default()),
            policy_types: Some(vec!["Egress".into()]),
            egress: Some(vec![dns_rule(config)]),
            ingress: None,
        };
        let path = generated::generated_path(anchor, "NetworkPolicy", "allow-dns");
        out.insert(
            (ns.clone(), "allow-dns".into()),
            (to_value(policy("allow-dns", ns, dns)), path),
        );
        if config.network.default_deny == Some(false) {
            continue;
        }
        if let Some(left_out) = uncovered.get(ns) {
            results.push(FnResult::warning(format!(
                "no default-deny NetworkPolicy in namespace `{}`: {} would lose all traffic (no generated policy: opted out, excluded or unlabelled)",
                if ns.is_empty() { "<default>" } else { ns },
                left_out.join(", ")
            )));
            continue;
        }
        let deny = NetworkPolicySpec {
            pod_selector: Some(LabelSelector::default()),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ..Default::default()
        };
        let path = generated::generated_path(anchor, "NetworkPolicy", "default-deny");
        out.insert(
            (ns.clone(), "default-deny".into()),
            (to_value(policy("default-deny", ns, deny)), path),
        );
    }
}

/// Policies for pods the input does not show but makes a controller create
/// ([`super::unseen`]), in the namespaces that get a default-deny (elsewhere nothing isolates
/// them).
fn unseen_policies(
    items: &[Value],
    config: &Config,
    g: &Graph,
    out: &mut BTreeMap<(String, String), (Value, String)>,
) {
    let keep = config.network.user_policies.unwrap_or(UserPolicies::Keep) == UserPolicies::Keep;
    for u in &g.unseen {
        if !out.contains_key(&(u.namespace.clone(), "default-deny".to_string()))
            || (keep && super::unseen::user_selects(items, u))
        {
            continue;
        }
        let name = format!("{}-netpol", u.name);
        let key = (u.namespace.clone(), name.clone());
        if out.contains_key(&key) {
            continue;
        }
        let ingress = group(u.ingress.clone())
            .into_iter()
            .map(|(from, ports)| NetworkPolicyIngressRule {
                from: Some(from),
                ports: ports_of(&ports),
            })
            .collect();
        let mut egress = vec![dns_rule(config)];
        egress.extend(group(u.egress.clone()).into_iter().map(|(to, ports)| {
            NetworkPolicyEgressRule {
                to: Some(to),
                ports: ports_of(&ports),
            }
        }));
        if u.any_egress {
            egress = vec![NetworkPolicyEgressRule::default()];
        }
        let spec = NetworkPolicySpec {
            pod_selector: Some(selector(&u.labels)),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(ingress),
            egress: Some(egress),
        };
        let path = generated::generated_path(Some(&items[u.item]), "NetworkPolicy", &name);
        out.insert(key, (to_value(policy(&name, &u.namespace, spec)), path));
    }
}

/// Two namespaces' `default-deny` (or two workloads of one name) would share a file: the
/// later one gets the namespace in its file name.
fn unique_path(used: &mut HashSet<String>, path: String, ns: &str, name: &str) -> String {
    if used.insert(path.clone()) {
        return path;
    }
    let (dir, _) = path
        .rsplit_once('/')
        .map_or(("", path.as_str()), |(d, f)| (d, f));
    let dir = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    let mut n = 1;
    loop {
        let candidate = if n == 1 {
            format!("{dir}networkpolicy_{ns}_{name}.yaml")
        } else {
            format!("{dir}networkpolicy_{ns}_{name}_{n}.yaml")
        };
        if used.insert(candidate.clone()) {
            return candidate;
        }
        n += 1;
    }
}

fn to_value(p: NetworkPolicy) -> Value {
    serde_json::to_value(p).expect("NetworkPolicy serializes")
}
