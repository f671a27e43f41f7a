//! The objects of the input that point at Services and workloads, parsed once: routes (Ingress
//! and Gateway API backends), the API server's callers (admission webhooks, CRD conversion
//! webhooks, APIServices), ServiceMonitors (the Services they select) and PodMonitors (the
//! workloads they select). Each workload's view lists the links that reach it; the graph turns
//! them into flows.

use serde_json::Value;

use super::Model;
use super::services::port_number;
use crate::krm::annotations;
use crate::object;

/// What kind of object points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pointer {
    /// An Ingress, HTTPRoute, GRPCRoute, TCPRoute, TLSRoute or UDPRoute backend.
    Route,
    /// A Validating/MutatingWebhookConfiguration, a CRD conversion webhook or an APIService:
    /// the API server calls the Service.
    ApiServer,
    /// A ServiceMonitor selecting the Service.
    ServiceMonitor,
    /// A PodMonitor selecting the workload.
    PodMonitor,
}

/// One object pointing at one Service (or, for a PodMonitor, one workload).
#[derive(Debug, Clone)]
pub struct Link {
    pub pointer: Pointer,
    /// The pointing object's input index.
    pub item: usize,
    /// The Service as the object names it (routes and API-server callers).
    pub namespace: String,
    pub name: String,
    /// The port as written: a route's number or name (None: every port), an API-server
    /// caller's number (443 when unset).
    pub port: Option<Value>,
    /// The Service, when it is in the input.
    pub service: Option<usize>,
    /// The workload a PodMonitor selects.
    pub workload: Option<usize>,
}

const MONITORING_GROUP: &str = "monitoring.coreos.com";

/// Every link of the input, in item order.
pub(super) fn read(items: &[Value], m: &Model) -> Vec<Link> {
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if !item.is_object() || annotations::is_local_config(item) {
            continue;
        }
        let named = |pointer, (namespace, name, port): (String, String, Option<Value>)| Link {
            pointer,
            item: i,
            service: m.resolve_service(&namespace, &name),
            namespace,
            name,
            port,
            workload: None,
        };
        if let Some(backends) = route_backends(item) {
            out.extend(backends.into_iter().map(|b| named(Pointer::Route, b)));
        } else if let Some(refs) = api_server_refs(item) {
            out.extend(refs.into_iter().map(|r| named(Pointer::ApiServer, r)));
        } else if object::group(item) == MONITORING_GROUP {
            monitor_links(i, item, m, &mut out);
        }
    }
    out
}

/// A route object of the input (Ingress or a Gateway API route), not local config.
pub fn is_route(item: &Value) -> bool {
    item.is_object() && !annotations::is_local_config(item) && is_route_kind(item)
}

/// An Ingress or a Gateway API route, by group and kind.
fn is_route_kind(item: &Value) -> bool {
    matches!(
        (object::group(item), object::kind(item)),
        ("networking.k8s.io" | "extensions", "Ingress")
            | (
                "gateway.networking.k8s.io",
                "HTTPRoute" | "GRPCRoute" | "TCPRoute" | "TLSRoute" | "UDPRoute"
            )
    )
}

/// The (namespace, Service, port) backends of a route, None for other kinds.
fn route_backends(item: &Value) -> Option<Vec<(String, String, Option<Value>)>> {
    let ns = object::namespace(item);
    let mut backends = Vec::new();
    match (object::group(item), object::kind(item)) {
        ("networking.k8s.io" | "extensions", "Ingress") => {
            let spec = &item["spec"];
            let mut refs: Vec<&Value> = vec![&spec["defaultBackend"], &spec["backend"]];
            for rule in spec["rules"].as_array().into_iter().flatten() {
                refs.extend(
                    rule["http"]["paths"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|p| &p["backend"]),
                );
            }
            for b in refs {
                let s = &b["service"];
                if let Some(name) = s["name"].as_str() {
                    let port = s["port"]["number"].clone();
                    let port = if port.is_null() {
                        s["port"]["name"].clone()
                    } else {
                        port
                    };
                    backends.push((
                        ns.to_string(),
                        name.to_string(),
                        Some(port).filter(|p| !p.is_null()),
                    ));
                } else if let Some(name) = b["serviceName"].as_str() {
                    backends.push((
                        ns.to_string(),
                        name.to_string(),
                        Some(b["servicePort"].clone()).filter(|p| !p.is_null()),
                    ));
                }
            }
        }
        (
            "gateway.networking.k8s.io",
            "HTTPRoute" | "GRPCRoute" | "TCPRoute" | "TLSRoute" | "UDPRoute",
        ) => {
            for rule in item["spec"]["rules"].as_array().into_iter().flatten() {
                for r in rule["backendRefs"].as_array().into_iter().flatten() {
                    let is_service = r["kind"].as_str().is_none_or(|k| k == "Service")
                        && r["group"].as_str().is_none_or(str::is_empty);
                    if let (true, Some(name)) = (is_service, r["name"].as_str()) {
                        let bns = r["namespace"].as_str().unwrap_or(ns);
                        backends.push((
                            bns.to_string(),
                            name.to_string(),
                            Some(r["port"].clone()).filter(|p| !p.is_null()),
                        ));
                    }
                }
            }
        }
        _ => return None,
    }
    Some(backends)
}

/// The Services the API server calls for this object (webhooks, conversion, aggregated APIs),
/// with the port (443 when unset); None for other kinds.
fn api_server_refs(item: &Value) -> Option<Vec<(String, String, Option<Value>)>> {
    let mut refs: Vec<&Value> = Vec::new();
    match (object::group(item), object::kind(item)) {
        (
            "admissionregistration.k8s.io",
            "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration",
        ) => {
            for h in item["webhooks"].as_array().into_iter().flatten() {
                refs.push(&h["clientConfig"]["service"]);
            }
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            refs.push(&item["spec"]["conversion"]["webhook"]["clientConfig"]["service"]);
            // apiextensions v1beta1 kept the client config one level up.
            refs.push(&item["spec"]["conversion"]["webhookClientConfig"]["service"]);
        }
        ("apiregistration.k8s.io", "APIService") => refs.push(&item["spec"]["service"]),
        _ => return None,
    }
    Some(
        refs.into_iter()
            .filter_map(|s| {
                Some((
                    s["namespace"].as_str().unwrap_or_default().to_string(),
                    s["name"].as_str()?.to_string(),
                    Some(Value::from(port_number(&s["port"]).unwrap_or(443))),
                ))
            })
            .collect(),
    )
}

/// The namespaces a monitor looks in: `namespaceSelector.any` (None), `matchNames`, or its own.
pub fn monitor_namespaces(m: &Value) -> Option<Vec<String>> {
    let sel = &m["spec"]["namespaceSelector"];
    if sel["any"] == true {
        return None;
    }
    let names: Vec<String> = sel["matchNames"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    Some(if names.is_empty() {
        vec![object::namespace(m).to_string()]
    } else {
        names
    })
}

/// A ServiceMonitor's Services (in its namespaces, by their labels) or a PodMonitor's workloads
/// (by their pod labels).
fn monitor_links(i: usize, monitor: &Value, m: &Model, out: &mut Vec<Link>) {
    let service_monitor = match object::kind(monitor) {
        "ServiceMonitor" => true,
        "PodMonitor" => false,
        _ => return,
    };
    let within = monitor_namespaces(monitor);
    let in_scope = |ns: &str| {
        within
            .as_ref()
            .is_none_or(|list| list.iter().any(|n| n == ns))
    };
    let sel = &monitor["spec"]["selector"];
    let link = |service, workload| Link {
        pointer: if service_monitor {
            Pointer::ServiceMonitor
        } else {
            Pointer::PodMonitor
        },
        item: i,
        namespace: String::new(),
        name: String::new(),
        port: None,
        service,
        workload,
    };
    if service_monitor {
        for (s, svc) in m.services.iter().enumerate() {
            if in_scope(&svc.namespace)
                && crate::labels::selector_matches(sel, |k| svc.labels.get(k).map(String::as_str))
            {
                out.push(link(Some(s), None));
            }
        }
    } else {
        for (w, wl) in m.workloads.iter().enumerate() {
            if in_scope(&wl.namespace)
                && crate::labels::selector_matches(sel, |k| wl.labels.get(k).map(String::as_str))
            {
                out.push(link(None, Some(w)));
            }
        }
    }
}
