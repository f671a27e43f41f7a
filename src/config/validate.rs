//! Checks of the merged config that the schema cannot express. Every problem is reported at
//! once, each with the field it is about.

use std::collections::BTreeSet;

use serde_json::Value;

use super::types::*;
use super::{ConfigProblem, DEFAULT_ENVIRONMENT};
use crate::quantity::Quantity;

/// The environment followed by its `basedOn` ancestors (cycles cut).
pub fn environment_chain(spec: &Spec, env: &str) -> Vec<String> {
    let mut chain = vec![env.to_string()];
    let mut current = env;
    while let Some(next) = spec
        .environments
        .get(current)
        .and_then(|e| e.based_on.as_deref())
    {
        if chain.iter().any(|c| c == next) {
            break;
        }
        chain.push(next.to_string());
        current = next;
    }
    chain
}

pub fn validate(spec: &Spec) -> Result<(), Vec<ConfigProblem>> {
    let mut p = Vec::new();
    check_environments(spec, &mut p);
    check_fallback_class(spec, &mut p);
    check_classes(spec, &mut p);
    check_edges(spec, &mut p);
    check_network_peers(spec, &mut p);
    check_external_services(spec, &mut p);
    check_workload_kinds(spec, &mut p);
    if p.is_empty() { Ok(()) } else { Err(p) }
}

/// Names of the defined environments, for messages.
fn environment_names(spec: &Spec) -> Vec<&str> {
    spec.environments.keys().map(String::as_str).collect()
}

/// The chosen environment exists; every `basedOn` names one, without a cycle.
fn check_environments(spec: &Spec, p: &mut Vec<ConfigProblem>) {
    let env = spec.environment.as_deref().unwrap_or(DEFAULT_ENVIRONMENT);
    let defined = environment_names(spec);
    if !spec.environments.contains_key(env) {
        p.push(ConfigProblem::new(
            "spec.environment",
            format!(
                "unknown environment `{env}`; defined environments: {}",
                if defined.is_empty() {
                    "none".to_string()
                } else {
                    defined.join(", ")
                }
            ),
        ));
    }
    for (name, e) in &spec.environments {
        if let Some(base) = &e.based_on {
            if !spec.environments.contains_key(base) {
                p.push(ConfigProblem::new(
                    format!("spec.environments.{name}.basedOn"),
                    format!(
                        "unknown environment `{base}`; defined environments: {}",
                        defined.join(", ")
                    ),
                ));
            }
            let chain = environment_chain(spec, name);
            if chain
                .last()
                .and_then(|l| spec.environments.get(l))
                .and_then(|e| e.based_on.as_ref())
                .is_some()
            {
                p.push(ConfigProblem::new(
                    format!("spec.environments.{name}.basedOn"),
                    format!("environments form a cycle: {}", chain.join(" -> ")),
                ));
            }
        }
    }
}

/// The fallback class exists.
fn check_fallback_class(spec: &Spec, p: &mut Vec<ConfigProblem>) {
    let fallback = spec.fallback_class.as_deref().unwrap_or("default");
    if !spec.classes.contains_key(fallback) {
        p.push(ConfigProblem::new(
            "spec.fallbackClass",
            format!(
                "unknown class `{fallback}`; defined classes: {}",
                class_names(spec)
            ),
        ));
    }
}

/// Each class: its environments exist and their settings hold, its probes and security settings
/// hold, its egress names a defined external service.
fn check_classes(spec: &Spec, p: &mut Vec<ConfigProblem>) {
    let defined = environment_names(spec);
    let externals: BTreeSet<&str> = spec
        .network_policy
        .external
        .iter()
        .map(|e| e.name.as_str())
        .chain(["internet"])
        .collect();
    for (name, class) in &spec.classes {
        let at = format!("spec.classes.{name}");
        for (env_name, s) in &class.environments {
            if !spec.environments.contains_key(env_name) {
                p.push(ConfigProblem::new(
                    format!("{at}.environments.{env_name}"),
                    format!(
                        "unknown environment `{env_name}`; defined environments: {}",
                        defined.join(", ")
                    ),
                ));
            }
            check_env_settings(&format!("{at}.environments.{env_name}"), s, p);
        }
        check_probes(&format!("{at}.probes"), &class.probes, p);
        check_security(&format!("{at}.security"), &class.security, p);
        for (i, e) in class.network.egress.iter().enumerate() {
            if !externals.contains(e.to.as_str()) {
                p.push(ConfigProblem::new(
                    format!("{at}.network.egress[{i}].to"),
                    format!(
                        "unknown external service `{}`; define it under spec.networkPolicy.external (known: {})",
                        e.to,
                        externals.iter().copied().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            if e.ports.contains(&0) {
                p.push(ConfigProblem::new(
                    format!("{at}.network.egress[{i}].ports"),
                    "port 0 is not a port",
                ));
            }
        }
    }
}

/// Declared edges name a class that exists or a non-empty name, on valid ports.
fn check_edges(spec: &Spec, p: &mut Vec<ConfigProblem>) {
    for (i, e) in spec.network_policy.edges.iter().enumerate() {
        for (side, v) in [("from", &e.from), ("to", &e.to)] {
            // A peer outside the render is checked by its shape (PeerSpec) alone.
            let Some(v) = v.as_name() else { continue };
            if let Some(class) = v.strip_prefix("class:") {
                if !spec.classes.contains_key(class) {
                    p.push(ConfigProblem::new(
                        format!("spec.networkPolicy.edges[{i}].{side}"),
                        format!(
                            "unknown class `{class}`; defined classes: {}",
                            class_names(spec)
                        ),
                    ));
                }
            } else if v.is_empty() {
                p.push(ConfigProblem::new(
                    format!("spec.networkPolicy.edges[{i}].{side}"),
                    "must not be empty",
                ));
            }
        }
        check_ports(&format!("spec.networkPolicy.edges[{i}].ports"), &e.ports, p);
    }
}

/// Monitoring peers, ingress controllers and the DNS peer are valid peers.
fn check_network_peers(spec: &Spec, p: &mut Vec<ConfigProblem>) {
    for (i, m) in spec.network_policy.monitoring.iter().enumerate() {
        check_ports(
            &format!("spec.networkPolicy.monitoring[{i}].ports"),
            &m.ports,
            p,
        );
        check_peer(&format!("spec.networkPolicy.monitoring[{i}]"), &m.peer, p);
    }
    for (i, c) in spec
        .network_policy
        .ingress_controllers
        .iter()
        .flatten()
        .enumerate()
    {
        check_peer(&format!("spec.networkPolicy.ingressControllers[{i}]"), c, p);
    }
    if let Some(dns) = &spec.network_policy.dns {
        check_peer("spec.networkPolicy.dns", dns, p);
    }
}

/// External services: not the predefined `internet`, CIDRs that parse.
fn check_external_services(spec: &Spec, p: &mut Vec<ConfigProblem>) {
    for (i, x) in spec.network_policy.external.iter().enumerate() {
        if x.name == "internet" {
            p.push(ConfigProblem::new(
                format!("spec.networkPolicy.external[{i}].name"),
                "`internet` is predefined",
            ));
        }
        for (j, c) in x.cidrs.iter().chain(&x.except).enumerate() {
            if !is_cidr(c) {
                p.push(ConfigProblem::new(
                    format!("spec.networkPolicy.external[{i}]"),
                    format!("`{c}` (entry {j}) is not a CIDR such as 10.0.0.0/8 or 2001:db8::/32"),
                ));
            }
        }
    }
}

/// Extra workload kinds say their kind and pod template path.
fn check_workload_kinds(spec: &Spec, p: &mut Vec<ConfigProblem>) {
    for (i, k) in spec.workload_kinds.iter().enumerate() {
        if k.kind.is_empty() || k.pod_template_path.is_empty() {
            p.push(ConfigProblem::new(
                format!("spec.workloadKinds[{i}]"),
                "kind and podTemplatePath are required",
            ));
        }
    }
}

fn class_names(spec: &Spec) -> String {
    spec.classes.keys().cloned().collect::<Vec<_>>().join(", ")
}

fn check_env_settings(at: &str, s: &ClassEnvSettings, p: &mut Vec<ConfigProblem>) {
    if let Some(r) = s.replicas {
        if r < 0 {
            p.push(ConfigProblem::new(
                format!("{at}.replicas"),
                format!("{r} is negative"),
            ));
        }
    }
    if let Some(res) = &s.resources {
        for (which, map) in [("requests", &res.requests), ("limits", &res.limits)] {
            for (name, q) in map {
                if !matches!(name.as_str(), "cpu" | "memory" | "ephemeral-storage")
                    && !name.contains('/')
                {
                    p.push(ConfigProblem::new(
                        format!("{at}.resources.{which}.{name}"),
                        "unknown resource; use cpu, memory, ephemeral-storage or an extended resource (vendor/name)",
                    ));
                }
                if let Err(e) = Quantity::parse(q) {
                    p.push(ConfigProblem::new(
                        format!("{at}.resources.{which}.{name}"),
                        e.to_string(),
                    ));
                }
            }
        }
        for (name, req) in &res.requests {
            if let (Ok(r), Some(Ok(l))) = (
                Quantity::parse(req),
                res.limits.get(name).map(|l| Quantity::parse(l)),
            ) {
                if l.value() < r.value() {
                    p.push(ConfigProblem::new(
                        format!("{at}.resources.limits.{name}"),
                        format!("limit {l} is below the request {r}"),
                    ));
                }
            }
        }
    }
    if let Some(a) = &s.autoscaling {
        if a.min_replicas < 1 {
            p.push(ConfigProblem::new(
                format!("{at}.autoscaling.minReplicas"),
                "must be at least 1",
            ));
        }
        if a.max_replicas < a.min_replicas {
            p.push(ConfigProblem::new(
                format!("{at}.autoscaling.maxReplicas"),
                format!("{} is below minReplicas {}", a.max_replicas, a.min_replicas),
            ));
        }
        for (f, v) in [
            (
                "targetCPUUtilizationPercentage",
                a.target_cpu_utilization_percentage,
            ),
            (
                "targetMemoryUtilizationPercentage",
                a.target_memory_utilization_percentage,
            ),
        ] {
            if v.is_some_and(|v| v < 1) {
                p.push(ConfigProblem::new(
                    format!("{at}.autoscaling.{f}"),
                    "must be at least 1",
                ));
            }
        }
        if a.target_cpu_utilization_percentage.is_none()
            && a.target_memory_utilization_percentage.is_none()
        {
            p.push(ConfigProblem::new(
                format!("{at}.autoscaling"),
                "needs targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage",
            ));
        }
    }
    if let Some(d) = &s.disruption_budget {
        match (&d.max_unavailable, &d.min_available) {
            (Some(_), Some(_)) | (None, None) => p.push(ConfigProblem::new(
                format!("{at}.disruptionBudget"),
                "set exactly one of maxUnavailable and minAvailable",
            )),
            (Some(v), None) => {
                if !is_int_or_percent(v) {
                    p.push(ConfigProblem::new(
                        format!("{at}.disruptionBudget.maxUnavailable"),
                        "must be a count or a percentage like \"25%\"",
                    ));
                } else if v == &Value::from(0) || v == "0%" {
                    p.push(ConfigProblem::new(
                        format!("{at}.disruptionBudget.maxUnavailable"),
                        "0 allows no disruption and blocks node drains",
                    ));
                }
            }
            (None, Some(v)) => {
                if !is_int_or_percent(v) {
                    p.push(ConfigProblem::new(
                        format!("{at}.disruptionBudget.minAvailable"),
                        "must be a count or a percentage like \"50%\"",
                    ));
                } else if v == "100%" {
                    p.push(ConfigProblem::new(
                        format!("{at}.disruptionBudget.minAvailable"),
                        "100% allows no disruption and blocks node drains",
                    ));
                }
            }
        }
        if let Some(policy) = &d.unhealthy_pod_eviction_policy {
            if policy != "IfHealthyBudget" && policy != "AlwaysAllow" {
                p.push(ConfigProblem::new(
                    format!("{at}.disruptionBudget.unhealthyPodEvictionPolicy"),
                    format!("`{policy}` is not IfHealthyBudget or AlwaysAllow"),
                ));
            }
        }
    }
}

fn check_probes(at: &str, s: &ProbeSettings, p: &mut Vec<ConfigProblem>) {
    if let Some(path) = &s.path {
        if !path.starts_with('/') {
            p.push(ConfigProblem::new(
                format!("{at}.path"),
                format!("`{path}` must start with /"),
            ));
        }
    }
    for (f, v) in [
        (
            "readinessInitialDelaySeconds",
            s.readiness_initial_delay_seconds,
        ),
        (
            "livenessInitialDelaySeconds",
            s.liveness_initial_delay_seconds,
        ),
        ("startupSeconds", s.startup_seconds),
    ] {
        if v.is_some_and(|v| v < 0) {
            p.push(ConfigProblem::new(
                format!("{at}.{f}"),
                "must not be negative",
            ));
        }
    }
    for (f, v) in [
        ("readinessPeriodSeconds", s.readiness_period_seconds),
        ("livenessPeriodSeconds", s.liveness_period_seconds),
        ("timeoutSeconds", s.timeout_seconds),
        ("failureThreshold", s.failure_threshold),
    ] {
        if v.is_some_and(|v| v < 1) {
            p.push(ConfigProblem::new(
                format!("{at}.{f}"),
                "must be at least 1",
            ));
        }
    }
}

fn check_security(at: &str, s: &SecuritySettings, p: &mut Vec<ConfigProblem>) {
    for (f, v) in [
        ("runAsUser", s.run_as_user),
        ("runAsGroup", s.run_as_group),
        ("fsGroup", s.fs_group),
    ] {
        if v.is_some_and(|v| v < 0) {
            p.push(ConfigProblem::new(
                format!("{at}.{f}"),
                "must not be negative",
            ));
        }
    }
    if s.run_as_user == Some(0) {
        p.push(ConfigProblem::new(
            format!("{at}.runAsUser"),
            "0 is root, which Pod Security restricted forbids",
        ));
    }
    for (i, w) in s.writable_paths.iter().enumerate() {
        if !w.starts_with('/') {
            p.push(ConfigProblem::new(
                format!("{at}.writablePaths[{i}]"),
                format!("`{w}` must be an absolute path"),
            ));
        }
    }
}

/// A peer with no namespace, namespace labels or pod labels would be every pod of the cluster:
/// almost certainly a mistake in a least-privilege policy.
fn check_peer(at: &str, peer: &crate::config::PeerSpec, p: &mut Vec<ConfigProblem>) {
    if peer.namespace.as_deref().is_none_or(str::is_empty)
        && peer.namespace_labels.is_empty()
        && peer.pod_labels.is_empty()
    {
        p.push(ConfigProblem::new(
            at,
            "names no namespace, namespaceLabels or podLabels, so it would admit every pod of the cluster",
        ));
    }
}

fn check_ports(at: &str, ports: &[Value], p: &mut Vec<ConfigProblem>) {
    for (i, port) in ports.iter().enumerate() {
        let ok = match port {
            Value::Number(n) => n.as_u64().is_some_and(|n| (1..=65535).contains(&n)),
            Value::String(s) => !s.is_empty() && s.len() <= 15,
            _ => false,
        };
        if !ok {
            p.push(ConfigProblem::new(
                format!("{at}[{i}]"),
                format!("`{port}` is not a port number (1-65535) or port name"),
            ));
        }
    }
}

fn is_int_or_percent(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.as_u64().is_some(),
        Value::String(s) => s
            .strip_suffix('%')
            .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n <= 100)),
        _ => false,
    }
}

/// A loose CIDR check (address parse plus prefix length in range).
pub fn is_cidr(s: &str) -> bool {
    let Some((addr, len)) = s.split_once('/') else {
        return false;
    };
    let Ok(len) = len.parse::<u8>() else {
        return false;
    };
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => len <= 32,
        Ok(std::net::IpAddr::V6(_)) => len <= 128,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use serde_json::json;

    fn load(spec: Value) -> Vec<ConfigProblem> {
        let fc = json!({"apiVersion": API_VERSION, "kind": KIND, "spec": spec});
        Config::load(Some(&fc)).err().unwrap_or_default()
    }

    #[test]
    fn network_peers_must_select_something() {
        let errs =
            load(json!({"networkPolicy": {"ingressControllers": [{}], "dns": {"namespace": ""}}}));
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "spec.networkPolicy.ingressControllers[0]",
                "spec.networkPolicy.dns"
            ],
            "{errs:?}"
        );
    }

    #[test]
    fn bad_values_are_named() {
        let errs = load(json!({"classes": {"backend": {"environments": {"prod": {
            "replicas": -1,
            "resources": {"requests": {"cpu": "1.5.0Gi"}},
            "autoscaling": {"minReplicas": 5, "maxReplicas": 2, "targetCPUUtilizationPercentage": 70},
        }}}}}));
        let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
        let all = text.join("\n");
        assert!(all.contains("prod.replicas: -1 is negative"), "{all}");
        assert!(all.contains("1.5.0Gi"), "{all}");
        assert!(
            all.contains("maxReplicas: 2 is below minReplicas 5"),
            "{all}"
        );
    }

    #[test]
    fn string_for_a_number_is_a_type_error_with_path() {
        let errs = load(
            json!({"classes": {"backend": {"environments": {"prod": {"replicas": "three"}}}}}),
        );
        assert!(errs[0].field.ends_with("prod.replicas"), "{errs:?}");
    }

    #[test]
    fn zero_disruption_is_refused() {
        let errs = load(
            json!({"classes": {"backend": {"environments": {"prod": {"disruptionBudget": {"maxUnavailable": 0}}}}}}),
        );
        assert!(errs[0].message.contains("blocks node drains"), "{errs:?}");
    }

    #[test]
    fn cidrs() {
        assert!(is_cidr("10.0.0.0/8"));
        assert!(is_cidr("2001:db8::/32"));
        assert!(!is_cidr("10.0.0.0"));
        assert!(!is_cidr("10.0.0.0/33"));
    }
}
