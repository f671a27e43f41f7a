//! Flows with peers that have no pod in the input: the Kubernetes API server (as caller of
//! webhooks, conversion and aggregated APIs, and as callee of bound ServiceAccounts) and
//! clients outside the cluster (LoadBalancer, NodePort, `externalIPs`, `hostPort`).
//!
//! These peers are addressed by CIDR: the API server has no pod identity (issue 14, items 1, 3
//! and 4), and traffic from outside arrives from any address (or the Service's
//! `loadBalancerSourceRanges`).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::networking::v1::{IPBlock, NetworkPolicyPeer};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::Value;

use super::infer::{ANY_PORT, Graph};
use crate::config::{Config, Mode, UncalledServices, UserPolicies};
use crate::krm::FnResult;
use crate::model::links::Pointer;
use crate::model::{PortProto, Service, TargetPort, port_number};
use crate::workload;

/// The ports a pod reaches the API server on: the `kubernetes` Service port and the usual
/// endpoint port (policies see the endpoint after DNAT).
pub const API_SERVER_PORTS: [i32; 2] = [443, 6443];

fn block(cidr: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        ip_block: Some(IPBlock {
            cidr: cidr.to_string(),
            except: None,
        }),
        ..Default::default()
    }
}

/// Any address, IPv4 and IPv6.
fn anywhere() -> Vec<NetworkPolicyPeer> {
    vec![block("0.0.0.0/0"), block("::/0")]
}

/// The API server: the configured CIDRs, or any address.
pub fn api_server_peers(config: &Config) -> Vec<NetworkPolicyPeer> {
    match config.network.api_server.as_ref().map(|a| &a.cidrs) {
        Some(cidrs) if !cidrs.is_empty() => cidrs.iter().map(|c| block(c)).collect(),
        _ => anywhere(),
    }
}

/// The pod ports of backend `b` that Service ports `chosen` lead to.
pub(crate) fn backend_ports(
    g: &Graph,
    svc: &Service,
    chosen: &[usize],
    b: usize,
) -> BTreeSet<PortProto> {
    chosen
        .iter()
        .filter_map(|&pi| {
            let sp = &svc.ports[pi];
            match &sp.target {
                TargetPort::Number(n) => Some((sp.protocol.clone(), *n)),
                TargetPort::Name(name) => g.model.workloads[b].port_named(name),
            }
        })
        .collect()
}

fn add_ingress(g: &mut Graph, w: usize, peers: &[NetworkPolicyPeer], ports: BTreeSet<PortProto>) {
    if ports.is_empty() {
        return;
    }
    let list = g.extra_ingress.entry(w).or_default();
    for p in peers {
        list.push((p.clone(), ports.clone()));
    }
}

fn add_egress(g: &mut Graph, w: usize, peers: &[NetworkPolicyPeer], ports: BTreeSet<PortProto>) {
    let list = g.extra_egress.entry(w).or_default();
    for p in peers {
        list.push((p.clone(), ports.clone()));
    }
}

/// Item 3: the backends of webhooks, conversion webhooks and aggregated APIs accept the API
/// server on the target port. A webhook with `failurePolicy: Fail` whose pods the API server
/// cannot reach blocks every matching write in the cluster.
pub fn api_server_callers(items: &[Value], config: &Config, g: &mut Graph) {
    let peers = api_server_peers(config);
    let model = g.model;
    for link in model
        .links
        .iter()
        .filter(|l| l.pointer == Pointer::ApiServer)
    {
        let Some(s) = link.service else {
            continue;
        };
        let (ns, name) = (&link.namespace, &link.name);
        let port = link.port.as_ref().and_then(port_number).unwrap_or(443);
        let item = &items[link.item];
        let svc = &model.services[s];
        let chosen: Vec<usize> = (0..svc.ports.len())
            .filter(|&i| svc.ports[i].port == port)
            .collect();
        if chosen.is_empty() {
            g.results.push(
                FnResult::warning(format!(
                    "{} {} calls port {port} of Service {ns}/{name}, which has no such port; no NetworkPolicy admits the API server to it",
                    crate::object::kind(item),
                    crate::object::name(item)
                ))
                .about(item),
            );
            continue;
        }
        for &b in &svc.backends {
            let ports = backend_ports(g, svc, &chosen, b);
            add_ingress(g, b, &peers, ports);
        }
    }
}

/// Item 4: a workload whose ServiceAccount a (Cluster)RoleBinding in the input binds, or that
/// asks for its token (pod or account `automountServiceAccountToken: true`, a projected
/// `serviceAccountToken` volume), talks to the API server.
pub fn api_server_clients(items: &[Value], config: &Config, g: &mut Graph) {
    let peers = api_server_peers(config);
    let ports: BTreeSet<PortProto> = API_SERVER_PORTS
        .iter()
        .map(|p| ("TCP".to_string(), *p))
        .collect();
    for w in 0..g.model.workloads.len() {
        let wl = &g.model.workloads[w];
        let (Some(spec), Some(account)) =
            (workload::pod_spec(&items[wl.item], &wl.kind), &wl.account)
        else {
            continue;
        };
        let account = &account.account;
        let projected = spec["volumes"].as_array().into_iter().flatten().any(|v| {
            v["projected"]["sources"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|s| s.get("serviceAccountToken").is_some())
        });
        let certgen = workload::containers(spec).into_iter().any(|(_, _, c)| {
            super::precision::is_cert_generator(c["image"].as_str().unwrap_or_default())
        });
        let asks = certgen
            || spec["automountServiceAccountToken"] == true
            || (spec["automountServiceAccountToken"].is_null() && account.automount == Some(true))
            || projected;
        if !account.bindings.is_empty() || asks {
            add_egress(g, w, &peers, ports.clone());
        }
    }
}

/// Item 1: Services of type LoadBalancer or NodePort and Services with `externalIPs` accept
/// clients from outside (narrowed to `loadBalancerSourceRanges` when set) on their target
/// ports; so do container `hostPort`s. `hostNetwork` pods are outside NetworkPolicy: warned.
pub fn outside_callers(items: &[Value], g: &mut Graph) {
    for s in 0..g.model.services.len() {
        let svc = g.model.services[s].clone();
        let spec = &items[svc.item]["spec"];
        let ty = spec["type"].as_str().unwrap_or("ClusterIP");
        let external_ips = spec["externalIPs"]
            .as_array()
            .is_some_and(|a| !a.is_empty());
        if !(ty == "LoadBalancer" || ty == "NodePort" || external_ips) {
            continue;
        }
        let ranges: Vec<&str> = spec["loadBalancerSourceRanges"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        // The ranges bind a LoadBalancer only; its node ports stay open to any address, but the
        // ranges are what the user asked for and what a cloud load balancer enforces.
        let peers = if ranges.is_empty() {
            anywhere()
        } else {
            ranges.into_iter().map(block).collect()
        };
        let chosen: Vec<usize> = (0..svc.ports.len()).collect();
        for &b in &svc.backends {
            let ports = backend_ports(g, &svc, &chosen, b);
            add_ingress(g, b, &peers, ports);
        }
    }
    for w in 0..g.model.workloads.len() {
        let wl = g.model.workloads[w].clone();
        let Some(spec) = workload::pod_spec(&items[wl.item], &wl.kind) else {
            continue;
        };
        if spec["hostNetwork"] == true {
            g.results.push(
                FnResult::warning(format!(
                    "{} runs with hostNetwork: its pods use the node's network and no NetworkPolicy applies to them; the generated policy does not restrict them",
                    wl.display()
                ))
                .about(&items[wl.item]),
            );
            continue;
        }
        let ports: BTreeSet<PortProto> = workload::containers(spec)
            .into_iter()
            .flat_map(|(_, _, c)| c["ports"].as_array().into_iter().flatten())
            .filter(|p| port_number(&p["hostPort"]).is_some())
            .filter_map(|p| {
                Some((
                    p["protocol"].as_str().unwrap_or("TCP").to_string(),
                    port_number(&p["containerPort"])?,
                ))
            })
            .collect();
        add_ingress(g, w, &anywhere(), ports);
    }
}

/// The shipped choice for Services with no visible caller: least privilege in prod, where
/// check mode gates on the report; their own namespace elsewhere, so an app whose callers the
/// manifests do not show keeps working while it is being declared.
pub fn uncalled_mode(config: &Config) -> UncalledServices {
    config.network.uncalled_services.unwrap_or(
        if matches!(config.environment.as_str(), "prod" | "production") {
            UncalledServices::Deny
        } else {
            UncalledServices::SameNamespace
        },
    )
}

/// Services whose backends accept nothing on the Service's ports under the graph: reported on
/// the Service and its workloads (errors in check mode), and, with `same-namespace`, opened to
/// their own namespace. Run last, once every other source of ingress is in the graph.
pub fn uncalled_services(items: &[Value], config: &Config, g: &mut Graph) {
    let mode = uncalled_mode(config);
    let check = config.mode == Mode::Check;
    let mut ingress_ports: BTreeMap<usize, BTreeSet<PortProto>> = BTreeMap::new();
    for (&(_, to), ports) in &g.flows {
        ingress_ports
            .entry(to)
            .or_default()
            .extend(ports.iter().cloned());
    }
    for (&(_, to), ports) in g.controllers.iter().chain(&g.monitoring) {
        ingress_ports
            .entry(to)
            .or_default()
            .extend(ports.iter().cloned());
    }
    for (&to, peers) in &g.extra_ingress {
        for (_, ports) in peers {
            ingress_ports
                .entry(to)
                .or_default()
                .extend(ports.iter().cloned());
        }
    }
    let any = (ANY_PORT.0.to_string(), ANY_PORT.1);
    let keep = config.network.user_policies.unwrap_or(UserPolicies::Keep) == UserPolicies::Keep;
    let theirs = if keep {
        g.model.user_covered()
    } else {
        BTreeSet::new()
    };
    for s in 0..g.model.services.len() {
        let svc = g.model.services[s].clone();
        if !svc.has_selector || svc.backends.is_empty() {
            continue;
        }
        let chosen: Vec<usize> = (0..svc.ports.len()).collect();
        let mut uncalled = Vec::new();
        for &b in &svc.backends {
            // The user's own policies decide who reaches it (`userPolicies: keep`): what its pods
            // accept is theirs to say, not ours to report.
            if !g.model.workloads[b].managed || theirs.contains(&b) {
                continue;
            }
            let targets = backend_ports(g, &svc, &chosen, b);
            let seen = ingress_ports.get(&b);
            let called =
                seen.is_some_and(|p| p.contains(&any) || targets.iter().any(|t| p.contains(t)));
            if !called && !targets.is_empty() {
                uncalled.push((b, targets));
            }
        }
        if uncalled.is_empty() {
            continue;
        }
        let who = if svc.namespace.is_empty() {
            svc.name.clone()
        } else {
            format!("{}/{}", svc.namespace, svc.name)
        };
        let pods: Vec<String> = uncalled
            .iter()
            .map(|(b, _)| g.model.workloads[*b].display())
            .collect();
        let consequence = match mode {
            UncalledServices::Deny => {
                "its pods accept no traffic on its ports under the generated NetworkPolicies (networkPolicy.uncalledServices: deny)"
            }
            UncalledServices::SameNamespace => {
                "its pods accept traffic on its ports only from their own namespace (networkPolicy.uncalledServices: same-namespace)"
            }
        };
        let message = format!(
            "Service {who} has no caller in the manifests: {consequence} ({}); declare its callers in the config with `spec.networkPolicy.edges: [{{from: <caller>, to: {who}}}]`",
            pods.join(", ")
        );
        let result = |m: String| {
            if check {
                FnResult::error(m)
            } else {
                FnResult::warning(m)
            }
        };
        g.results
            .push(result(message.clone()).about(&items[svc.item]));
        for (b, _) in &uncalled {
            g.results
                .push(result(message.clone()).about(&items[g.model.workloads[*b].item]));
        }
        g.uncalled.push(s);
        if mode == UncalledServices::SameNamespace {
            let own = NetworkPolicyPeer {
                pod_selector: Some(LabelSelector::default()),
                ..Default::default()
            };
            for (b, targets) in uncalled {
                add_ingress(g, b, std::slice::from_ref(&own), targets);
            }
        }
    }
}
