//! The Services of the input: their ports (with `targetPort` resolved the way the API server
//! defaults it) and the workloads their selectors pick.

use serde_json::Value;

/// A port on a pod, as NetworkPolicies name it: protocol and number.
pub type PortProto = (String, i32);

/// `targetPort` of a Service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetPort {
    Number(i32),
    Name(String),
}

/// A port of a Service.
#[derive(Debug, Clone)]
pub struct ServicePort {
    pub name: Option<String>,
    pub port: i32,
    pub target: TargetPort,
    pub protocol: String,
}

/// A Service of the input.
#[derive(Debug, Clone)]
pub struct Service {
    pub item: usize,
    pub namespace: String,
    pub name: String,
    pub ports: Vec<ServicePort>,
    /// Workloads whose pods the selector selects (empty for Services without a selector).
    pub backends: Vec<usize>,
    /// The Service has a selector (ExternalName and manual-Endpoints Services have none).
    pub has_selector: bool,
    /// Its own labels (string values: what a ServiceMonitor's selector can match).
    pub labels: std::collections::BTreeMap<String, String>,
}

impl Service {
    /// The Service as the model holds it, before its selector is resolved.
    pub(super) fn read(i: usize, item: &Value, namespace: String, name: String) -> Service {
        let ports = item["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                let port = port_number(&p["port"])?;
                let target = match &p["targetPort"] {
                    // Absent or 0: the API server defaults it to the Service port.
                    Value::Null => TargetPort::Number(port),
                    Value::Number(n) if n.as_i64() == Some(0) => TargetPort::Number(port),
                    v => match port_number(v) {
                        Some(n) => TargetPort::Number(n),
                        None => TargetPort::Name(v.as_str()?.to_string()),
                    },
                };
                Some(ServicePort {
                    name: p["name"].as_str().map(str::to_string),
                    port,
                    target,
                    protocol: protocol(p),
                })
            })
            .collect();
        Service {
            item: i,
            namespace,
            name,
            ports,
            backends: Vec::new(),
            has_selector: false,
            labels: item["metadata"]["labels"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect(),
        }
    }
}

/// A scalar as text (label values and ports are sometimes written as numbers or booleans).
pub fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A port number written as a number or a numeric string.
pub fn port_number(v: &Value) -> Option<i32> {
    match v {
        Value::Number(n) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|p| (1..=65535).contains(p))
}

/// The `protocol` of a port entry (TCP when unset, as the API server defaults it).
pub fn protocol(v: &Value) -> String {
    v["protocol"].as_str().unwrap_or("TCP").to_string()
}
