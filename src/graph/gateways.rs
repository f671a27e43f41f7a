//! Which pods carry a route's traffic to its backends (issue 14, item 2): the ingress
//! controller an Ingress's class names, or the Gateway API implementation behind a route's
//! parent Gateway, chosen by class name or by the controller an IngressClass (`spec.controller`)
//! or GatewayClass (`spec.controllerName`) of the input names.
//!
//! Presets, from each project's own install manifests and charts:
//!
//! | class / controller | proxy pods |
//! | --- | --- |
//! | `nginx`, `k8s.io/ingress-nginx` | every pod of namespace `ingress-nginx` (deploy/static and the chart install there; the default controller, also for an Ingress without a class) |
//! | `nginx.org/ingress-controller` (F5 NGINX Ingress Controller) | namespace `nginx-ingress` (its manifests), `app.kubernetes.io/name: nginx-ingress` in any namespace (its chart) |
//! | `traefik`, `traefik.io/ingress-controller`, `traefik.io/gateway-controller` | `app.kubernetes.io/name: traefik` in any namespace (the chart installs where it is told; k3s uses `kube-system`) |
//! | `haproxy`, `haproxy.org/ingress-controller/haproxy`, `haproxy-ingress.github.io/controller` | `app.kubernetes.io/name: kubernetes-ingress` (haproxytech chart) or `haproxy-ingress` (jcmoraisjr chart) in any namespace, or namespace `haproxy-controller` (haproxytech deploy/) |
//! | `contour`, `projectcontour.io/ingress-controller`, `projectcontour.io/gateway-controller` | namespace `projectcontour`, `app: envoy` (quickstart) |
//! | `kong`, `ingress-controllers.konghq.com/kong`, `konghq.com/kic-gateway-controller` | `app.kubernetes.io/name: kong` in any namespace (chart) |
//! | `istio` Ingress, `istio.io/ingress-controller` | namespace `istio-system`, `istio: ingressgateway` |
//! | `istio` Gateway, `istio.io/gateway-controller` | the Gateway's own namespace, `gateway.networking.k8s.io/gateway-name: <gateway>` (egress to istiod, `istio-system`, `app: istiod`, 15012) |
//! | `nginx` Gateway, `gateway.nginx.org/nginx-gateway-controller` | the Gateway's own namespace, `gateway.networking.k8s.io/gateway-name` (NGINX Gateway Fabric 2; egress to its control plane in `nginx-gateway` on 443), and namespace `nginx-gateway`, `app.kubernetes.io/name: nginx-gateway` (1.x) |
//! | `projectcontour.io/gateway-provisioner` | the Gateway's own namespace, `gateway.networking.k8s.io/gateway-name` |
//! | `eg`, `gateway.envoyproxy.io/gatewayclass-controller` | namespace `envoy-gateway-system`, `gateway.envoyproxy.io/owning-gateway-name` + `-namespace` |
//! | `cilium`, `cilium.io/ingress-controller`, `io.cilium/gateway-controller` | none: Cilium's Envoy carries the reserved `ingress` identity, which no Kubernetes NetworkPolicy selects (warned) |
//!
//! Proxies in the Gateway's namespace are pods the input does not show: they get a policy of
//! their own ([`super::unseen`]) with ingress from any address on the listener ports and egress
//! to the routes' backends. `spec.networkPolicy.ingressControllers`, when set, replaces the
//! presets for every route (the user's value wins); an unknown class is reported with that key.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use k8s_openapi::api::networking::v1::NetworkPolicyPeer;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::Value;

use super::infer::Graph;
use super::unseen::UnseenPods;
use crate::config::{Config, PeerSpec};
use crate::krm::{FnResult, annotations};
use crate::model::{PortProto, Service};
use crate::workload;

/// The label Gateway API implementations put on the proxy pods they run for a Gateway.
pub const GATEWAY_NAME_LABEL: &str = "gateway.networking.k8s.io/gateway-name";

const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn pods(namespace: Option<&str>, pairs: &[(&str, &str)]) -> PeerSpec {
    PeerSpec {
        namespace: namespace.map(str::to_string),
        pod_labels: labels(pairs),
        ..Default::default()
    }
}

/// Where an implementation's proxies run.
#[derive(Debug, Clone, Default)]
struct Placement {
    /// Proxy pods elsewhere in the cluster.
    peers: Vec<PeerSpec>,
    /// Proxy pods in the Gateway's namespace, labelled [`GATEWAY_NAME_LABEL`].
    in_namespace: bool,
    /// Their control plane (xDS), which the in-namespace proxies call.
    control_plane: Option<(PeerSpec, i32)>,
    /// Envoy Gateway's proxies, in `envoy-gateway-system`, labelled by owning Gateway.
    envoy_gateway: bool,
    /// No NetworkPolicy can select the proxies: why.
    unselectable: Option<&'static str>,
}

const CILIUM: &str = "Cilium's Envoy reaches backends with the reserved `ingress` identity, which no Kubernetes NetworkPolicy can select; allow it with a CiliumNetworkPolicy (`fromEntities: [ingress]`)";

/// The preset of an Ingress class (its name, or the controller its IngressClass names).
fn ingress_preset(class: &str, controller: Option<&str>) -> Option<Placement> {
    // The controller a class object names decides; the class name only without one (F5's
    // NGINX Ingress Controller also calls its class `nginx`).
    let key = |names: &[&str]| match controller {
        Some(c) => names.contains(&c),
        None => names.contains(&class),
    };
    let peers = |p: Vec<PeerSpec>| {
        Some(Placement {
            peers: p,
            ..Default::default()
        })
    };
    if key(&["nginx", "k8s.io/ingress-nginx"]) {
        return peers(vec![pods(
            Some("ingress-nginx"),
            &[
                ("app.kubernetes.io/name", "ingress-nginx"),
                ("app.kubernetes.io/component", "controller"),
            ],
        )]);
    }
    if key(&["nginx.org/ingress-controller"]) {
        return peers(vec![
            PeerSpec {
                namespace: Some("nginx-ingress".into()),
                ..Default::default()
            },
            pods(None, &[("app.kubernetes.io/name", "nginx-ingress")]),
        ]);
    }
    if key(&["traefik", "traefik.io/ingress-controller"]) {
        return peers(vec![pods(None, &[("app.kubernetes.io/name", "traefik")])]);
    }
    if key(&[
        "haproxy",
        "haproxy.org/ingress-controller/haproxy",
        "haproxy-ingress.github.io/controller",
    ]) {
        return peers(haproxy());
    }
    if key(&["contour", "projectcontour.io/ingress-controller"]) {
        return peers(vec![pods(Some("projectcontour"), &[("app", "envoy")])]);
    }
    if key(&["kong", "ingress-controllers.konghq.com/kong"]) {
        return peers(vec![pods(None, &[("app.kubernetes.io/name", "kong")])]);
    }
    if key(&["istio", "istio.io/ingress-controller"]) {
        return peers(vec![pods(
            Some("istio-system"),
            &[("istio", "ingressgateway")],
        )]);
    }
    if key(&["cilium", "cilium.io/ingress-controller"]) {
        return Some(Placement {
            unselectable: Some(CILIUM),
            ..Default::default()
        });
    }
    None
}

fn haproxy() -> Vec<PeerSpec> {
    vec![
        pods(None, &[("app.kubernetes.io/name", "kubernetes-ingress")]),
        pods(None, &[("app.kubernetes.io/name", "haproxy-ingress")]),
        PeerSpec {
            namespace: Some("haproxy-controller".into()),
            ..Default::default()
        },
    ]
}

/// The preset of a GatewayClass (its name, or its `controllerName`).
fn gateway_preset(class: &str, controller: Option<&str>) -> Option<Placement> {
    // The controller a class object names decides; the class name only without one (F5's
    // NGINX Ingress Controller also calls its class `nginx`).
    let key = |names: &[&str]| match controller {
        Some(c) => names.contains(&c),
        None => names.contains(&class),
    };
    if key(&["istio", "istio.io/gateway-controller"]) {
        return Some(Placement {
            in_namespace: true,
            control_plane: Some((pods(Some("istio-system"), &[("app", "istiod")]), 15012)),
            ..Default::default()
        });
    }
    if key(&[
        "eg",
        "envoy-gateway",
        "gateway.envoyproxy.io/gatewayclass-controller",
    ]) {
        return Some(Placement {
            envoy_gateway: true,
            ..Default::default()
        });
    }
    if key(&["nginx", "gateway.nginx.org/nginx-gateway-controller"]) {
        let control = pods(
            Some("nginx-gateway"),
            &[("app.kubernetes.io/name", "nginx-gateway")],
        );
        return Some(Placement {
            in_namespace: true,
            peers: vec![control.clone()],
            control_plane: Some((control, 443)),
            ..Default::default()
        });
    }
    if key(&["projectcontour.io/gateway-provisioner"]) {
        return Some(Placement {
            in_namespace: true,
            ..Default::default()
        });
    }
    if key(&["contour", "projectcontour.io/gateway-controller"]) {
        return Some(Placement {
            peers: vec![pods(Some("projectcontour"), &[("app", "envoy")])],
            ..Default::default()
        });
    }
    if key(&["traefik", "traefik.io/gateway-controller"]) {
        return Some(Placement {
            peers: vec![pods(None, &[("app.kubernetes.io/name", "traefik")])],
            ..Default::default()
        });
    }
    if key(&["kong", "konghq.com/kic-gateway-controller"]) {
        return Some(Placement {
            peers: vec![pods(None, &[("app.kubernetes.io/name", "kong")])],
            ..Default::default()
        });
    }
    if key(&["cilium", "io.cilium/gateway-controller"]) {
        return Some(Placement {
            unselectable: Some(CILIUM),
            ..Default::default()
        });
    }
    None
}

/// The pods that proxy Ingress traffic: the configured controllers; else the preset of every
/// IngressClass in the input (ingress-nginx's narrows to its controller pods, leaving its
/// admission Jobs out); else the default controller.
pub fn controller_peers(items: &[Value], config: &Config) -> Vec<PeerSpec> {
    if config.network.ingress_controllers.is_some() {
        return super::ingress_controllers(config);
    }
    let mut out: Vec<PeerSpec> = Vec::new();
    for item in items.iter().filter(|i| live(i)) {
        if !(group(item) == "networking.k8s.io" && item["kind"] == "IngressClass") {
            continue;
        }
        let controller = item["spec"]["controller"].as_str();
        for peer in ingress_preset(crate::object::name(item), controller)
            .map(|p| p.peers)
            .unwrap_or_default()
        {
            if !out.contains(&peer) {
                out.push(peer);
            }
        }
    }
    if out.is_empty() {
        out = super::ingress_controllers(config);
    }
    out
}

/// How a route's backends are reached.
pub enum Via {
    /// By the configured (or default) ingress controllers, as without presets.
    Configured,
    /// By these peers, and by these in-namespace proxies (indexes into `Graph::unseen`).
    Peers {
        peers: Vec<NetworkPolicyPeer>,
        proxies: Vec<usize>,
    },
}

/// The classes and Gateways of one run.
pub struct Routing {
    /// The user named the controllers: presets are off.
    configured: bool,
    ingress_classes: HashMap<String, (Option<String>, bool)>,
    /// (namespace, name) of a Gateway -> its peers and in-namespace proxies.
    gateways: HashMap<(String, String), (Vec<NetworkPolicyPeer>, Vec<usize>)>,
    warned: HashSet<String>,
}

fn live(item: &Value) -> bool {
    item.is_object() && !annotations::is_local_config(item)
}

fn group(item: &Value) -> &str {
    workload::group_of(item["apiVersion"].as_str().unwrap_or_default())
}

fn any_address() -> Vec<NetworkPolicyPeer> {
    ["0.0.0.0/0", "::/0"]
        .into_iter()
        .map(|c| NetworkPolicyPeer {
            ip_block: Some(k8s_openapi::api::networking::v1::IPBlock {
                cidr: c.into(),
                except: None,
            }),
            ..Default::default()
        })
        .collect()
}

impl Routing {
    /// Reads IngressClasses, GatewayClasses and Gateways; in-namespace Gateway proxies become
    /// unseen pods of the graph, unknown classes warnings.
    pub fn new(items: &[Value], config: &Config, g: &mut Graph) -> Routing {
        let mut r = Routing {
            configured: config.network.ingress_controllers.is_some(),
            ingress_classes: HashMap::new(),
            gateways: HashMap::new(),
            warned: HashSet::new(),
        };
        let mut gateway_classes: HashMap<String, Option<String>> = HashMap::new();
        for item in items.iter().filter(|i| live(i)) {
            let name = crate::object::name(item).to_string();
            match (group(item), item["kind"].as_str().unwrap_or_default()) {
                ("networking.k8s.io", "IngressClass") => {
                    let default = item["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"]
                        == "true";
                    let controller = item["spec"]["controller"].as_str().map(str::to_string);
                    r.ingress_classes.insert(name, (controller, default));
                }
                (GATEWAY_GROUP, "GatewayClass") => {
                    gateway_classes.insert(
                        name,
                        item["spec"]["controllerName"].as_str().map(str::to_string),
                    );
                }
                _ => {}
            }
        }
        if r.configured {
            return r;
        }
        for (i, item) in items.iter().enumerate().filter(|(_, i)| live(i)) {
            if !(group(item) == GATEWAY_GROUP && item["kind"] == "Gateway") {
                continue;
            }
            let ns = crate::object::namespace(item).to_string();
            let name = crate::object::name(item).to_string();
            let class = item["spec"]["gatewayClassName"]
                .as_str()
                .unwrap_or_default();
            let controller = gateway_classes.get(class).cloned().flatten();
            let Some(place) = gateway_preset(class, controller.as_deref()) else {
                let what = controller
                    .map(|c| format!(" (controller {c})"))
                    .unwrap_or_default();
                g.results.push(
                    FnResult::warning(format!(
                        "Gateway {name} has gatewayClassName `{class}`{what}, an implementation the function has no preset for: no NetworkPolicy admits its proxies to the routes' backends; name its pods under spec.networkPolicy.ingressControllers"
                    ))
                    .about(item),
                );
                r.gateways.insert((ns, name), (Vec::new(), Vec::new()));
                continue;
            };
            if let Some(why) = place.unselectable {
                g.results.push(
                    FnResult::warning(format!(
                        "Gateway {name} (class `{class}`): {why}; the generated NetworkPolicies drop its traffic to the routes' backends (spec.networkPolicy.ingressControllers names other peers)"
                    ))
                    .about(item),
                );
            }
            let mut peers: Vec<NetworkPolicyPeer> =
                place.peers.iter().map(super::policy::peer_of).collect();
            if place.envoy_gateway {
                peers.push(super::policy::peer_of(&pods(
                    Some("envoy-gateway-system"),
                    &[
                        ("gateway.envoyproxy.io/owning-gateway-name", &name),
                        ("gateway.envoyproxy.io/owning-gateway-namespace", &ns),
                    ],
                )));
            }
            let mut proxies = Vec::new();
            if place.in_namespace {
                let own = labels(&[(GATEWAY_NAME_LABEL, &name)]);
                peers.push(super::policy::peer_of(&PeerSpec {
                    namespace: (!ns.is_empty()).then(|| ns.clone()),
                    pod_labels: own.clone(),
                    ..Default::default()
                }));
                let mut listen: BTreeSet<PortProto> = BTreeSet::new();
                for l in item["spec"]["listeners"].as_array().into_iter().flatten() {
                    if let Some(p) = crate::model::port_number(&l["port"]) {
                        let proto = if l["protocol"] == "UDP" { "UDP" } else { "TCP" };
                        listen.insert((proto.to_string(), p));
                    }
                }
                let ingress = any_address()
                    .into_iter()
                    .map(|p| (p, listen.clone()))
                    .collect();
                let egress = place
                    .control_plane
                    .iter()
                    .map(|(peer, port)| {
                        (
                            super::policy::peer_of(peer),
                            [("TCP".to_string(), *port)].into(),
                        )
                    })
                    .collect();
                proxies.push(g.unseen.len());
                g.unseen.push(UnseenPods {
                    item: i,
                    namespace: ns.clone(),
                    name: format!("{name}-gateway"),
                    selected_by: own.clone(),
                    named_ports: Vec::new(),
                    labels: own,
                    ingress,
                    egress,
                    any_egress: false,
                });
            }
            r.gateways.insert((ns, name), (peers, proxies));
        }
        r
    }

    /// How the backends of this Ingress or route are reached.
    pub fn via(&mut self, item: &Value, g: &mut Graph) -> Via {
        if self.configured {
            return Via::Configured;
        }
        let ns = crate::object::namespace(item);
        if item["kind"] == "Ingress" {
            let class = item["spec"]["ingressClassName"]
                .as_str()
                .or_else(|| item["metadata"]["annotations"]["kubernetes.io/ingress.class"].as_str())
                .map(str::to_string)
                .or_else(|| {
                    self.ingress_classes
                        .iter()
                        .find(|(_, (_, default))| *default)
                        .map(|(n, _)| n.clone())
                });
            let Some(class) = class else {
                return Via::Configured;
            };
            let controller = self
                .ingress_classes
                .get(&class)
                .and_then(|(c, _)| c.clone());
            // ingress-nginx is the default controller (its whole namespace): as without a class.
            let nginx = "k8s.io/ingress-nginx";
            if controller.as_deref() == Some(nginx) || (class == "nginx" && controller.is_none()) {
                return Via::Configured;
            }
            let Some(place) = ingress_preset(&class, controller.as_deref()) else {
                if self.warned.insert(format!("ingress:{class}")) {
                    let what = controller
                        .map(|c| format!(" (controller {c})"))
                        .unwrap_or_default();
                    g.results.push(
                        FnResult::warning(format!(
                            "Ingress {} has ingressClassName `{class}`{what}, a controller the function has no preset for: no NetworkPolicy admits it to the Ingress backends; name its pods under spec.networkPolicy.ingressControllers",
                            crate::object::name(item)
                        ))
                        .about(item),
                    );
                }
                return Via::Peers {
                    peers: Vec::new(),
                    proxies: Vec::new(),
                };
            };
            if let Some(why) = place.unselectable
                && self.warned.insert(format!("ingress:{class}"))
            {
                g.results.push(
                    FnResult::warning(format!(
                        "Ingress {} (class `{class}`): {why}; the generated NetworkPolicies drop its traffic to the backends",
                        crate::object::name(item)
                    ))
                    .about(item),
                );
            }
            return Via::Peers {
                peers: place.peers.iter().map(super::policy::peer_of).collect(),
                proxies: Vec::new(),
            };
        }
        let mut peers = Vec::new();
        let mut proxies = Vec::new();
        let mut known = false;
        for p in item["spec"]["parentRefs"].as_array().into_iter().flatten() {
            if p["kind"].as_str().is_some_and(|k| k != "Gateway") {
                continue;
            }
            let pns = p["namespace"].as_str().unwrap_or(ns).to_string();
            let Some(name) = p["name"].as_str() else {
                continue;
            };
            if let Some((pe, px)) = self.gateways.get(&(pns, name.to_string())) {
                known = true;
                peers.extend(pe.iter().cloned());
                proxies.extend(px.iter().copied());
            }
        }
        if !known {
            // The parent Gateway is not in the input (another app's render): the default
            // controllers, said, since a Gateway's proxies are rarely ingress-nginx's.
            let kind = item["kind"].as_str().unwrap_or_default();
            let name = crate::object::name(item);
            if self.warned.insert(format!("route:{kind}:{ns}:{name}")) {
                g.results.push(
                    FnResult::warning(format!(
                        "{kind} {name}: its parent Gateway is not in the input, so the implementation carrying its traffic is unknown; its backends accept the default ingress controller (namespace ingress-nginx) only: name the Gateway's proxy pods under spec.networkPolicy.ingressControllers"
                    ))
                    .about(item),
                );
            }
            return Via::Configured;
        }
        Via::Peers { peers, proxies }
    }
}

/// A workload's pods as a peer of a policy in namespace `ns`.
pub(crate) fn workload_peer(g: &Graph, w: usize, ns: &str) -> NetworkPolicyPeer {
    let wl = &g.model.workloads[w];
    NetworkPolicyPeer {
        namespace_selector: (wl.namespace != ns).then(|| LabelSelector {
            match_labels: (!wl.namespace.is_empty())
                .then(|| labels(&[(super::policy::NAMESPACE_LABEL, &wl.namespace)])),
            ..Default::default()
        }),
        pod_selector: Some(LabelSelector {
            match_labels: Some(wl.labels.clone()),
            ..Default::default()
        }),
        ip_block: None,
    }
}

/// The backends of a Service on the chosen ports accept these peers; in-namespace proxies may
/// call them.
pub fn admit(g: &mut Graph, svc: &Service, chosen: &[usize], via: &Via) {
    let Via::Peers { peers, proxies } = via else {
        return;
    };
    for &b in &svc.backends {
        let ports = super::platform::backend_ports(g, svc, chosen, b);
        if ports.is_empty() {
            continue;
        }
        let list = g.extra_ingress.entry(b).or_default();
        for p in peers {
            list.push((p.clone(), ports.clone()));
        }
        for &u in proxies {
            let peer = workload_peer(g, b, &g.unseen[u].namespace.clone());
            g.unseen[u].egress.push((peer, ports.clone()));
        }
    }
}
