//! The service graph: who calls whom on which pod port, inferred from the manifests and
//! completed by the config.
//!
//! Inferred: host names in container env values, args and commands, in the ConfigMaps and
//! Secrets a pod consumes (env `valueFrom`, `envFrom`, mounted volumes, projected volumes),
//! resolved against the Services of the input in every DNS form (after `$(VAR)` expansion, see
//! [`super::names`]; files only where a value reads as an address, see [`super::precision`]);
//! Ingress and Gateway API route backends give edges from the ingress controllers
//! ([`super::gateways`]); ServiceMonitors and PodMonitors from Prometheus ([`super::monitors`]).
//! Declared: `networkPolicy.edges`, classes' `network.egress` to external services, and
//! monitoring scrapers.
//!
//! Secret values are decoded only to look for host names; no result ever quotes one.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use k8s_openapi::api::networking::v1::NetworkPolicyPeer;
use serde_json::Value;

use super::refs::{self, HostRef};
use crate::config::{Config, EdgeEnd, PeerSpec};
use crate::krm::FnResult;
use crate::model::{Model, PortProto, Service, TargetPort, Workload, port_number, scalar};
use crate::workload;

/// The label a declared `ns/name` peer outside the render is selected by (the recommended
/// name label).
pub const OUTSIDE_NAME_LABEL: &str = "app.kubernetes.io/name";

/// Stands for "every port" in a port set (a declared edge to a callee that declares none).
pub const ANY_PORT: (&str, i32) = ("*", 0);

/// The graph of one run. Workloads are indexes into `model.workloads`.
#[derive(Debug)]
pub struct Graph<'m> {
    /// The run's model of the input.
    pub model: &'m Model,
    /// (caller, callee) -> ports on the callee's pods.
    pub flows: BTreeMap<(usize, usize), BTreeSet<PortProto>>,
    /// (ingress controller entry, workload) -> ports.
    pub controllers: BTreeMap<(usize, usize), BTreeSet<PortProto>>,
    /// (monitoring entry, workload) -> ports.
    pub monitoring: BTreeMap<(usize, usize), BTreeSet<PortProto>>,
    /// (workload, external service name) -> TCP ports.
    pub external: BTreeMap<(usize, String), BTreeSet<PortProto>>,
    /// Workload -> callers with no pod in the input (the API server, clients outside the
    /// cluster), as NetworkPolicy peers, and the pod ports they call.
    pub extra_ingress: BTreeMap<usize, Vec<(NetworkPolicyPeer, BTreeSet<PortProto>)>>,
    /// Services whose callers the manifests do not show (reported; `--report` and `graph` list
    /// them).
    pub uncalled: Vec<usize>,
    /// Workload -> callees with no pod in the input (the API server) and their ports.
    pub extra_egress: BTreeMap<usize, Vec<(NetworkPolicyPeer, BTreeSet<PortProto>)>>,
    /// Pods that objects of the input make a controller create (operators, Gateway proxies).
    pub unseen: Vec<super::unseen::UnseenPods>,
    /// The namespace the namespace-less objects share with the namespaced ones (a `helm
    /// template` stream; see [`super::names::release_namespace`]).
    pub release_namespace: Option<String>,
    pub results: Vec<FnResult>,
}

impl Graph<'_> {
    /// The Service a reference names, in the namespace given. Objects without a namespace are
    /// found from the release namespace and the other way round: they land there.
    pub fn service(&self, ns: &str, name: &str) -> Option<usize> {
        self.model.resolve_service(ns, name)
    }
}

/// One string a pod consumes, and where it came from.
struct Text<'a> {
    text: std::borrow::Cow<'a, str>,
    /// The env var name it is the value of (values of `*_HOST`, `*_URL`... are clearly
    /// addresses).
    env: Option<String>,
    /// Where it is, for messages: `env POSTGRES_HOST of container app`.
    origin: String,
    /// It is a Secret value: never quoted in results.
    secret: bool,
    /// It is a file the pod mounts: only values that read as addresses count (item 8).
    file: bool,
}

/// Builds the graph of the items from the run's model of them.
pub fn build<'m>(items: &[Value], config: &Config, model: &'m Model) -> Graph<'m> {
    let mut g = Graph {
        model,
        flows: BTreeMap::new(),
        controllers: BTreeMap::new(),
        monitoring: BTreeMap::new(),
        external: BTreeMap::new(),
        extra_ingress: BTreeMap::new(),
        uncalled: Vec::new(),
        extra_egress: BTreeMap::new(),
        unseen: Vec::new(),
        release_namespace: model.release_namespace.clone(),
        results: Vec::new(),
    };
    // Before names are resolved: Services of the input may select these pods.
    super::monitors::operator_pods(items, &mut g);
    let mut warned: HashSet<(usize, String)> = HashSet::new();
    for w in 0..g.model.workloads.len() {
        let texts = texts_of(items, g.model, &g.model.workloads[w], &mut g.results);
        for t in &texts {
            // `POD_NAMESPACE=cert-manager` names a namespace, not the Service of that name.
            if t.env.as_deref().is_some_and(refs::is_namespace_key) {
                continue;
            }
            let hosts = if t.file {
                super::precision::file_hosts(&t.text)
            } else {
                refs::hosts(&t.text)
            };
            for (n, h) in hosts.into_iter().enumerate() {
                // In the value of an address variable the first name is the host; later ones
                // (`?sslmode=disable`) are not clearly addresses.
                let address = n == 0 && t.env.as_deref().is_some_and(refs::is_address_key);
                references(items, &mut g, w, t, &h, address, &mut warned);
            }
        }
    }
    routes(items, config, &mut g);
    declared(items, config, &mut g);
    super::monitors::monitors(items, config, &mut g);
    super::platform::api_server_callers(items, config, &mut g);
    super::platform::api_server_clients(items, config, &mut g);
    super::platform::outside_callers(items, &mut g);
    super::outbound::controller_egress(config, &mut g);
    super::outbound::controller_open_egress(items, config, &mut g);
    super::outbound::known_callers(items, &mut g);
    super::platform::uncalled_services(items, config, &mut g);
    g
}

/// Every string the pods of a workload consume.
fn texts_of<'a>(
    items: &'a [Value],
    ix: &Model,
    w: &Workload,
    results: &mut Vec<FnResult>,
) -> Vec<Text<'a>> {
    let item = &items[w.item];
    let mut out = Vec::new();
    let Some(spec) = workload::pod_spec(item, &w.kind) else {
        return out;
    };
    for (_, _, c) in workload::containers(spec) {
        let vars = env_texts(items, ix, w, c, results, &mut out);
        env_from_texts(items, ix, w, c, results, &mut out);
        command_texts(w, c, &vars, &mut out);
    }
    volume_texts(items, ix, w, spec, results, &mut out);
    out
}

/// The container's variables as the kubelet expands `$(VAR)`: envFrom first, then env in
/// order, each value expanded with the ones before it (item 7); every value is a text.
fn env_texts<'a>(
    items: &'a [Value],
    ix: &Model,
    w: &Workload,
    c: &Value,
    results: &mut Vec<FnResult>,
    out: &mut Vec<Text<'a>>,
) -> Vars {
    let cname = c["name"].as_str().unwrap_or("?");
    let mut vars = env_from_vars(items, ix, w, c);
    for env in c["env"].as_array().into_iter().flatten() {
        let name = env["name"].as_str().unwrap_or_default().to_string();
        if let Some(v) = env["value"].as_str() {
            let (text, secret) = expand_with(v, &vars);
            vars.insert(name.clone(), (text.clone(), secret));
            out.push(Text {
                text: text.into(),
                env: Some(name.clone()),
                origin: format!("env {name} of container {cname}"),
                secret,
                file: false,
            });
        }
        let from = &env["valueFrom"];
        if from["fieldRef"]["fieldPath"] == "metadata.namespace" && !w.namespace.is_empty() {
            vars.insert(name.clone(), (w.namespace.clone(), false));
        }
        for (field, kind) in [("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")] {
            let r = &from[field];
            if let (Some(src), Some(key)) = (r["name"].as_str(), r["key"].as_str()) {
                for (k, text) in
                    config_values(items, ix, kind, &w.namespace, src, Some(key), results)
                {
                    vars.insert(name.clone(), (text.to_string(), kind == "Secret"));
                    out.push(Text {
                        text,
                        env: Some(name.clone()),
                        origin: format!(
                            "env {name} of container {cname} (key {k} of {kind} {src})"
                        ),
                        secret: kind == "Secret",
                        file: false,
                    });
                }
            }
        }
    }
    vars
}

/// Every key of the ConfigMaps and Secrets a container takes whole (`envFrom`).
fn env_from_texts<'a>(
    items: &'a [Value],
    ix: &Model,
    w: &Workload,
    c: &Value,
    results: &mut Vec<FnResult>,
    out: &mut Vec<Text<'a>>,
) {
    let cname = c["name"].as_str().unwrap_or("?");
    for ef in c["envFrom"].as_array().into_iter().flatten() {
        let prefix = ef["prefix"].as_str().unwrap_or_default();
        for (field, kind) in [("configMapRef", "ConfigMap"), ("secretRef", "Secret")] {
            if let Some(src) = ef[field]["name"].as_str() {
                for (k, text) in config_values(items, ix, kind, &w.namespace, src, None, results) {
                    out.push(Text {
                        text,
                        env: Some(format!("{prefix}{k}")),
                        origin: format!("key {k} of {kind} {src} (envFrom of container {cname})"),
                        secret: kind == "Secret",
                        file: false,
                    });
                }
            }
        }
    }
}

/// The container's command and args, `$(VAR)` expanded; certificate SAN lists are no calls.
fn command_texts<'a>(w: &Workload, c: &Value, vars: &Vars, out: &mut Vec<Text<'a>>) {
    let cname = c["name"].as_str().unwrap_or("?");
    for field in ["command", "args"] {
        for a in c[field]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let (text, secret) = expand_with(a, vars);
            // Certificate SANs name the pod's own Services; they are no calls.
            let image = c["image"].as_str().unwrap_or_default();
            if super::precision::is_cert_generator(image)
                || super::precision::is_san_list(&text, &w.namespace)
            {
                continue;
            }
            out.push(Text {
                text: text.into(),
                env: None,
                origin: format!("{field} of container {cname}"),
                secret,
                file: false,
            });
        }
    }
}

/// The files of the ConfigMaps and Secrets the pod mounts (plain and projected volumes).
fn volume_texts<'a>(
    items: &'a [Value],
    ix: &Model,
    w: &Workload,
    spec: &Value,
    results: &mut Vec<FnResult>,
    out: &mut Vec<Text<'a>>,
) {
    for v in spec["volumes"].as_array().into_iter().flatten() {
        let mut sources = vec![v];
        sources.extend(v["projected"]["sources"].as_array().into_iter().flatten());
        for s in sources {
            let found = [
                (
                    "ConfigMap",
                    s["configMap"]["name"].as_str(),
                    &s["configMap"]["items"],
                ),
                (
                    "Secret",
                    s["secret"]["secretName"].as_str(),
                    &s["secret"]["items"],
                ),
                (
                    "Secret",
                    s["secret"]["name"].as_str(),
                    &s["secret"]["items"],
                ),
            ];
            for (kind, name, keys) in found {
                let Some(src) = name else { continue };
                let keys: Vec<Option<&str>> = match keys.as_array() {
                    Some(list) => list
                        .iter()
                        .map(|k| k["key"].as_str())
                        .filter(Option::is_some)
                        .collect(),
                    None => vec![None],
                };
                for key in keys {
                    for (k, text) in config_values(items, ix, kind, &w.namespace, src, key, results)
                    {
                        out.push(Text {
                            text,
                            env: None,
                            origin: format!(
                                "file {k} of {kind} {src} (volume {})",
                                v["name"].as_str().unwrap_or("?")
                            ),
                            secret: kind == "Secret",
                            file: true,
                        });
                    }
                }
            }
        }
    }
}

/// A container's variables: name -> (value, from a Secret).
type Vars = HashMap<String, (String, bool)>;

/// The variables a container's `envFrom` defines (ConfigMap and Secret keys, prefixed).
fn env_from_vars(items: &[Value], ix: &Model, w: &Workload, c: &Value) -> Vars {
    let mut vars = Vars::new();
    // Warnings about these sources are given once, when their texts are read.
    let mut ignored = Vec::new();
    for ef in c["envFrom"].as_array().into_iter().flatten() {
        let prefix = ef["prefix"].as_str().unwrap_or_default();
        for (field, kind) in [("configMapRef", "ConfigMap"), ("secretRef", "Secret")] {
            if let Some(src) = ef[field]["name"].as_str() {
                for (k, text) in
                    config_values(items, ix, kind, &w.namespace, src, None, &mut ignored)
                {
                    vars.insert(
                        format!("{prefix}{k}"),
                        (text.into_owned(), kind == "Secret"),
                    );
                }
            }
        }
    }
    vars
}

/// `$(VAR)` expanded with the variables; true when a Secret's value went in (the text is then
/// never quoted).
fn expand_with(text: &str, vars: &Vars) -> (String, bool) {
    let secret = std::cell::Cell::new(false);
    let (out, _) = super::names::expand(text, |name| {
        let (v, s) = vars.get(name)?;
        // A Secret's credentials (`$(POSTGRES_PASSWORD)`) name no host and could hold any
        // character the host finder trips on: only address variables of Secrets go in.
        if *s && !refs::is_address_key(name) {
            return None;
        }
        if *s {
            secret.set(true);
        }
        Some(v.clone())
    });
    (out, secret.get())
}

/// The values of a ConfigMap or Secret (one key, or all), Secret `data` decoded from base64.
fn config_values<'a>(
    items: &'a [Value],
    ix: &Model,
    kind: &'static str,
    ns: &str,
    name: &str,
    key: Option<&str>,
    results: &mut Vec<FnResult>,
) -> Vec<(String, std::borrow::Cow<'a, str>)> {
    let Some(&i) = ix
        .config_by_name
        .get(&(kind, ns.to_string(), name.to_string()))
    else {
        return Vec::new();
    };
    let item = &items[i];
    let mut out = Vec::new();
    let wanted = |k: &str| key.is_none_or(|want| want == k);
    for field in ["data", "stringData"] {
        for (k, v) in item[field]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| wanted(k))
        {
            let Some(text) = v.as_str() else { continue };
            if kind == "Secret" && field == "data" {
                match serde_json::from_value::<k8s_openapi::ByteString>(Value::String(text.to_string())) {
                    Ok(bytes) => out.push((k.clone(), String::from_utf8_lossy(&bytes.0).into_owned().into())),
                    Err(_) => results.push(
                        FnResult::warning(format!(
                            "key {k} of Secret {name} is not valid base64; it was not searched for Service names"
                        ))
                        .about(item)
                        .at(format!("data.{k}")),
                    ),
                }
            } else {
                out.push((k.clone(), text.into()));
            }
        }
    }
    out
}

/// Adds the flows one host reference gives, or warns about a reference that clearly names a
/// Service the input does not have.
fn references(
    items: &[Value],
    g: &mut Graph,
    w: usize,
    t: &Text,
    h: &HostRef,
    address: bool,
    warned: &mut HashSet<(usize, String)>,
) {
    let caller = &g.model.workloads[w];
    let target =
        refs::service_name(&h.host, &caller.namespace).and_then(|(ns, name)| g.service(&ns, &name));
    let Some(s) = target else {
        // A `.svc` name into a namespace the stream does not hold: another app's namespace.
        // Its pods are unknown, the namespace is not: egress to it on the port named.
        if let Some(ns) =
            super::names::outside_namespace(&h.host, |ns| g.model.namespaces.contains(ns))
        {
            let ports: BTreeSet<PortProto> = match h
                .port
                .or_else(|| super::names::scheme_port(&t.text, &h.host))
            {
                Some(p) => [("TCP".to_string(), p)].into(),
                None => [(ANY_PORT.0.to_string(), ANY_PORT.1)].into(),
            };
            let peer = super::policy::peer_of(&PeerSpec {
                namespace: Some(ns),
                ..Default::default()
            });
            g.extra_egress.entry(w).or_default().push((peer, ports));
            return;
        }
        let clear = address || h.in_url;
        if clear
            && refs::looks_in_cluster(&h.host, |ns| g.model.namespaces.contains(ns))
            && warned.insert((w, h.host.clone()))
        {
            let what = if t.secret {
                "names a host (not shown: Secret value)".to_string()
            } else {
                format!("names `{}`", h.host)
            };
            g.results.push(
                FnResult::warning(format!(
                    "{} {what}, which is no Service in the input; no NetworkPolicy allows {} to reach it",
                    t.origin,
                    caller.display()
                ))
                .about(&items[caller.item]),
            );
        }
        return;
    };
    let svc = &g.model.services[s];
    let callee_key = (w, format!("svc:{}", svc.name));
    if svc.has_selector && svc.backends.is_empty() {
        // Pods an operator creates (the input's Prometheus behind `prometheus-k8s`).
        let chosen: Vec<usize> = (0..svc.ports.len())
            .filter(|&i| h.port.is_none_or(|p| svc.ports[i].port == p))
            .collect();
        let svc = svc.clone();
        if super::unseen::call_unseen(items, g, w, &svc, &chosen) {
            return;
        }
    }
    let svc = &g.model.services[s];
    if !svc.has_selector || svc.backends.is_empty() {
        if warned.insert(callee_key) {
            let why = if svc.has_selector {
                "its selector matches no workload in the input"
            } else {
                "it has no selector, so its endpoints are unknown (declare them under spec.networkPolicy.external)"
            };
            g.results.push(
                FnResult::warning(format!(
                    "{} refers to Service {}, but {why}; no egress rule is generated for it",
                    caller.display(),
                    svc.name
                ))
                .about(&items[caller.item]),
            );
        }
        return;
    }
    let chosen: Vec<usize> = match h.port {
        Some(p) if svc.ports.iter().any(|sp| sp.port == p) => (0..svc.ports.len())
            .filter(|&i| svc.ports[i].port == p)
            .collect(),
        Some(p) => {
            if warned.insert((w, format!("port:{}:{p}", svc.name))) {
                g.results.push(
                    FnResult::warning(format!(
                        "{} names {}:{p}, but port {p} is not a port of Service {}; allowing all of its ports",
                        t.origin, svc.name, svc.name
                    ))
                    .about(&items[caller.item]),
                );
            }
            (0..svc.ports.len()).collect()
        }
        None => (0..svc.ports.len()).collect(),
    };
    let svc = svc.clone();
    add_service_flow(items, g, Callers::Workload(w), &svc, &chosen);
}

/// Who calls a Service.
#[derive(Clone, Copy)]
enum Callers {
    Workload(usize),
    Controller(usize),
}

/// Adds flows from a caller to every backend of a Service on the chosen Service ports,
/// resolved to the backends' pod ports.
fn add_service_flow(
    items: &[Value],
    g: &mut Graph,
    from: Callers,
    svc: &Service,
    chosen: &[usize],
) {
    for &b in &svc.backends {
        let mut ports = BTreeSet::new();
        for &pi in chosen {
            let sp = &svc.ports[pi];
            match &sp.target {
                TargetPort::Number(n) => {
                    ports.insert((sp.protocol.clone(), *n));
                }
                TargetPort::Name(name) => match g.model.workloads[b].port_named(name) {
                    Some(p) => {
                        ports.insert(p);
                    }
                    None => g.results.push(
                        FnResult::warning(format!(
                            "targetPort `{name}` of Service {} names no container port of {}; that port is not allowed",
                            svc.name,
                            g.model.workloads[b].display()
                        ))
                        .about(&items[svc.item]),
                    ),
                },
            }
        }
        if ports.is_empty() {
            continue;
        }
        match from {
            Callers::Workload(w) if w == b => {}
            Callers::Workload(w) => g.flows.entry((w, b)).or_default().extend(ports),
            Callers::Controller(c) => g.controllers.entry((c, b)).or_default().extend(ports),
        }
    }
}

/// Ingress and Gateway API routes: their backends accept traffic from every ingress controller.
fn routes(items: &[Value], config: &Config, g: &mut Graph) {
    let controllers = super::ingress_controllers(config).len();
    let mut routing = super::gateways::Routing::new(items, config, g);
    let model = g.model;
    // One route object at a time, every route (one without backends still has its class
    // checked): the way in is decided per route.
    for (i, item) in items.iter().enumerate() {
        if !crate::model::links::is_route(item) {
            continue;
        }
        let group = model.links_of(i);
        let via = routing.via(item, g);
        for link in group {
            let (name, port) = (&link.name, &link.port);
            let Some(s) = link.service else {
                g.results.push(
                    FnResult::warning(format!(
                        "{} routes to Service {name}, which is not in the input; no NetworkPolicy admits the ingress controller for it",
                        item["kind"].as_str().unwrap_or_default()
                    ))
                    .about(item),
                );
                continue;
            };
            let svc = g.model.services[s].clone();
            let chosen: Vec<usize> = (0..svc.ports.len())
                .filter(|&i| match &port {
                    None => true,
                    Some(p) => match port_number(p) {
                        Some(n) => svc.ports[i].port == n,
                        None => svc.ports[i].name.as_deref() == p.as_str(),
                    },
                })
                .collect();
            if chosen.is_empty() {
                g.results.push(
                    FnResult::warning(format!(
                        "{} routes to port {} of Service {name}, which has no such port",
                        item["kind"].as_str().unwrap_or_default(),
                        port.as_ref().and_then(scalar).unwrap_or_default()
                    ))
                    .about(item),
                );
                continue;
            }
            match via {
                super::gateways::Via::Configured => {
                    for c in 0..controllers {
                        add_service_flow(items, g, Callers::Controller(c), &svc, &chosen);
                    }
                }
                _ => super::gateways::admit(g, &svc, &chosen, &via),
            }
        }
    }
}

/// Declared edges, class egress to external services, and monitoring.
fn declared(items: &[Value], config: &Config, g: &mut Graph) {
    for e in &config.network.edges {
        declared_edge(g, e);
    }
    class_egress(config, g);
    monitoring_peers(config, g);
    scrape_annotations(items, config, g);
}

/// One `networkPolicy.edges` entry: flows between the workloads it names, and the half of a
/// flow this render owns when one end is outside it.
fn declared_edge(g: &mut Graph, e: &crate::config::EdgeSpec) {
    // An end outside the render: a PeerSpec, or `ns/name` of no workload or Service here.
    let outside = |end: &EdgeEnd, g: &Graph| -> Option<PeerSpec> {
        match end {
            EdgeEnd::Peer(p) => Some(p.clone()),
            EdgeEnd::Name(n) => {
                let (ns, name) = n.split_once('/')?;
                let known = !workloads_named(g.model, n).is_empty()
                    || !service_named(g.model, n).is_empty();
                (!known && !n.starts_with("class:")).then(|| PeerSpec {
                    namespace: Some(ns.to_string()),
                    pod_labels: [(OUTSIDE_NAME_LABEL.to_string(), name.to_string())].into(),
                    ..Default::default()
                })
            }
        }
    };
    let from_outside = outside(&e.from, g);
    let to_outside = outside(&e.to, g);
    let from = match (&from_outside, e.from.as_name()) {
        (None, Some(n)) => workloads_named(g.model, n),
        _ => Vec::new(),
    };
    // An end that names nothing is warned about once, by `unmatched` (with the names it
    // may have meant), not here again.
    let to_name = e.to.as_name().filter(|_| to_outside.is_none());
    let targets = edge_targets(g, e, to_name);
    let any = |mut ports: BTreeSet<PortProto>| {
        if ports.is_empty() {
            ports.insert((ANY_PORT.0.to_string(), ANY_PORT.1));
        }
        ports
    };
    for &f in &from {
        for (t, ports) in &targets {
            if f == *t {
                continue;
            }
            g.flows
                .entry((f, *t))
                .or_default()
                .extend(any(ports.clone()));
        }
    }
    // Peers outside the render: the half of the flow this render's policies own.
    if let Some(peer) = &from_outside {
        for (t, ports) in &targets {
            g.extra_ingress
                .entry(*t)
                .or_default()
                .push((super::policy::peer_of(peer), any(ports.clone())));
        }
    }
    if let Some(peer) = &to_outside {
        // Names cannot be resolved on pods the render does not hold: numbers only.
        let ports: BTreeSet<PortProto> = e
            .ports
            .iter()
            .filter_map(port_number)
            .map(|p| ("TCP".to_string(), p))
            .collect();
        for &f in &from {
            g.extra_egress
                .entry(f)
                .or_default()
                .push((super::policy::peer_of(peer), any(ports.clone())));
        }
    }
}

/// The workloads an edge's `to` names (through a Service, or directly), with the pod ports.
fn edge_targets(
    g: &Graph,
    e: &crate::config::EdgeSpec,
    to_name: Option<&str>,
) -> Vec<(usize, BTreeSet<PortProto>)> {
    let mut targets: Vec<(usize, BTreeSet<PortProto>)> = Vec::new();
    let services = to_name
        .map(|n| service_named(g.model, n))
        .unwrap_or_default();
    for &s in &services {
        let svc = &g.model.services[s];
        for &b in &svc.backends {
            let ports = if e.ports.is_empty() {
                svc.ports
                    .iter()
                    .filter_map(|sp| match &sp.target {
                        TargetPort::Number(n) => Some((sp.protocol.clone(), *n)),
                        TargetPort::Name(n) => g.model.workloads[b].port_named(n),
                    })
                    .collect()
            } else {
                edge_ports(&g.model.workloads[b], &e.ports)
            };
            targets.push((b, ports));
        }
    }
    if services.is_empty()
        && let Some(n) = to_name
    {
        for w in workloads_named(g.model, n) {
            let ports = if e.ports.is_empty() {
                g.model.workloads[w].all_ports()
            } else {
                edge_ports(&g.model.workloads[w], &e.ports)
            };
            targets.push((w, ports));
        }
    }
    targets
}

/// Each class's `network.egress` to external services.
fn class_egress(config: &Config, g: &mut Graph) {
    for w in 0..g.model.workloads.len() {
        let Some(class) = g.model.workloads[w]
            .class_name()
            .and_then(|c| config.class(c))
        else {
            continue;
        };
        for e in &class.spec.network.egress {
            let ports = e.ports.iter().map(|p| ("TCP".to_string(), i32::from(*p)));
            g.external
                .entry((w, e.to.clone()))
                .or_default()
                .extend(ports);
        }
    }
}

/// The configured monitoring scrapers, on each workload's metrics ports.
fn monitoring_peers(config: &Config, g: &mut Graph) {
    for (m, spec) in config.network.monitoring.iter().enumerate() {
        for w in 0..g.model.workloads.len() {
            let wl = &g.model.workloads[w];
            let ports: BTreeSet<PortProto> = if spec.ports.is_empty() {
                ["metrics", "http-metrics"]
                    .iter()
                    .filter_map(|n| wl.port_named(n))
                    .collect()
            } else {
                edge_ports(wl, &spec.ports)
            };
            if !ports.is_empty() {
                g.monitoring.insert((m, w), ports);
            }
        }
    }
}

/// `prometheus.io/scrape: "true"` on a pod template or on a Service selecting it (the
/// convention of Prometheus's `kubernetes-pods` and `kubernetes-service-endpoints` jobs): the
/// configured monitoring peers may scrape `prometheus.io/port` (every declared container port
/// without it). With no monitoring configured, a warning names the port and the config key,
/// since the generated policies would drop the scrapes.
fn scrape_annotations(items: &[Value], config: &Config, g: &mut Graph) {
    let mut wanted: BTreeMap<usize, BTreeSet<PortProto>> = BTreeMap::new();
    let mut asked = |w: usize, ann: &Value, g: &Graph| {
        if ann["prometheus.io/scrape"] != "true" {
            return;
        }
        let wl = &g.model.workloads[w];
        let ports = match port_number(&ann["prometheus.io/port"]) {
            Some(p) => [("TCP".to_string(), p)].into(),
            None => wl.all_ports(),
        };
        wanted.entry(w).or_default().extend(ports);
    };
    for w in 0..g.model.workloads.len() {
        let wl = &g.model.workloads[w];
        if let Some(t) = workload::pod_template(&items[wl.item], &wl.kind) {
            asked(w, &t["metadata"]["annotations"], g);
        }
    }
    for svc in &g.model.services {
        for &b in &svc.backends {
            asked(b, &items[svc.item]["metadata"]["annotations"], g);
        }
    }
    for (w, ports) in wanted {
        if ports.is_empty() {
            continue;
        }
        if config.network.monitoring.is_empty() {
            let wl = &g.model.workloads[w];
            let list: Vec<String> = ports.iter().map(|(_, p)| p.to_string()).collect();
            g.results.push(
                FnResult::warning(format!(
                    "{} asks to be scraped (prometheus.io/scrape) on port {}, but no scraper is known: the generated NetworkPolicies drop the scrapes; name the Prometheus pods under spec.networkPolicy.monitoring",
                    wl.display(),
                    list.join(", ")
                ))
                .about(&items[wl.item]),
            );
            continue;
        }
        for m in 0..config.network.monitoring.len() {
            g.monitoring
                .entry((m, w))
                .or_default()
                .extend(ports.iter().cloned());
        }
    }
}

/// Ports of an edge or a scraper on one workload: numbers as given (TCP), names resolved.
fn edge_ports(w: &Workload, ports: &[Value]) -> BTreeSet<PortProto> {
    ports
        .iter()
        .filter_map(|p| match port_number(p) {
            Some(n) => Some(("TCP".to_string(), n)),
            None => w.port_named(p.as_str()?),
        })
        .collect()
}

/// Workloads an edge end names: `class:NAME`, `namespace/name` or `name` (in any namespace).
fn workloads_named(ix: &Model, spec: &str) -> Vec<usize> {
    if let Some(class) = spec.strip_prefix("class:") {
        return (0..ix.workloads.len())
            .filter(|&w| ix.workloads[w].class_name() == Some(class))
            .collect();
    }
    match spec.split_once('/') {
        Some((ns, name)) => ix
            .workload_by_name
            .get(&(ns.to_string(), name.to_string()))
            .cloned()
            .unwrap_or_default(),
        None => (0..ix.workloads.len())
            .filter(|&w| ix.workloads[w].name == spec)
            .collect(),
    }
}

/// Services an edge end names: `namespace/name` or `name` (in any namespace).
fn service_named(ix: &Model, spec: &str) -> Vec<usize> {
    if spec.starts_with("class:") {
        return Vec::new();
    }
    match spec.split_once('/') {
        Some((ns, name)) => ix.service(ns, name).into_iter().collect(),
        None => (0..ix.services.len())
            .filter(|&s| ix.services[s].name == spec)
            .collect(),
    }
}
