//! Readiness, liveness and startup probes derived from what the container declares: HTTP on
//! its http port with the class's health path, native gRPC on a grpc port, the documented
//! checks of well-known images, TCP otherwise. Liveness never repeats the readiness check
//! (kube-score counts the same HTTP path and port, TCP port or command as identical): a
//! liveness probe that fails whenever readiness fails restarts pods that are merely busy or
//! waiting for a dependency. A container with nothing to check gets no invented probe and a
//! warning instead. Jobs, CronJobs and init containers get none; sidecars only when they
//! declare ports.

use k8s_openapi::api::core::v1::{ExecAction, GRPCAction, HTTPGetAction, Probe, TCPSocketAction};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Map, Value};

use super::{Outcome, WorkloadCtx};
use crate::config::{DefaultKind, ProbeSettings};
use crate::images::{self, Check, KnownImage};
use crate::workload::{self, ContainerRole};

const D: DefaultKind = DefaultKind::Probes;
const HANDLERS: [&str; 4] = ["httpGet", "tcpSocket", "grpc", "exec"];
/// Period of the startup probe; its failureThreshold stretches it to the startup budget.
const STARTUP_PERIOD: i32 = 10;

pub fn apply(ctx: &WorkloadCtx, item: &mut Value, out: &mut Outcome) {
    if !ctx.wants(D) || ctx.kind().runs_to_completion() {
        return;
    }
    let settings = &ctx.class.spec.probes;
    let enforce = ctx.enforces(D);
    let kind = ctx.kind();
    let Some(spec) = workload::pod_spec_mut(item, kind) else {
        return;
    };
    workload::for_each_container_mut(spec, |role, c| {
        if role == ContainerRole::Init || !ctx.wants_container(D, c) {
            return;
        }
        let path = workload::container_path(kind, role, c);
        probe_container(c, role, settings, enforce, &path, out);
    });
}

/// A TCP port the container declares (UDP and SCTP ports cannot be probed).
#[derive(Debug, Clone)]
struct Port {
    number: i32,
    name: Option<String>,
    app_protocol: Option<String>,
}

impl Port {
    fn named(&self, f: impl Fn(&str) -> bool) -> bool {
        self.name.as_deref().is_some_and(&f) || self.app_protocol.as_deref().is_some_and(&f)
    }
    fn is_grpc(&self) -> bool {
        self.named(|n| n == "grpc" || n.starts_with("grpc-") || n.ends_with("-grpc"))
    }
    fn is_https(&self) -> bool {
        self.named(|n| n == "https" || n.starts_with("https-"))
    }
    fn is_http(&self) -> bool {
        self.is_https()
            || self.named(|n| {
                n == "http"
                    || n == "web"
                    || n == "h2c"
                    || n.starts_with("http-")
                    || n.ends_with("-http")
                    || n == "kubernetes.io/h2c"
            })
    }
}

fn declared_ports(c: &Value) -> Vec<Port> {
    let Some(list) = c.get("ports").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter(|p| {
            p.get("protocol")
                .and_then(Value::as_str)
                .is_none_or(|s| s == "TCP")
        })
        .filter_map(|p| {
            let number = i32::try_from(p.get("containerPort")?.as_i64()?).ok()?;
            let s = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_string);
            Some(Port {
                number,
                name: s("name"),
                app_protocol: s("appProtocol"),
            })
        })
        .collect()
}

/// The probes worth having for a container, best first.
#[derive(Debug, Default)]
struct Candidates {
    readiness: Vec<Probe>,
    liveness: Vec<Probe>,
    startup_seconds: Option<i32>,
    timeout_seconds: Option<i32>,
}

fn http(path: &str, port: &Port) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_string()),
            port: IntOrString::Int(port.number),
            scheme: port.is_https().then(|| "HTTPS".to_string()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn tcp(port: &Port) -> Probe {
    Probe {
        tcp_socket: Some(TCPSocketAction {
            port: IntOrString::Int(port.number),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn grpc(port: &Port) -> Probe {
    Probe {
        grpc: Some(GRPCAction {
            port: port.number,
            service: None,
        }),
        ..Default::default()
    }
}

fn exec(command: &[&str], port: Option<i32>) -> Probe {
    let port = port.map(|p| p.to_string()).unwrap_or_default();
    Probe {
        exec: Some(ExecAction {
            command: Some(command.iter().map(|a| a.replace("{port}", &port)).collect()),
        }),
        ..Default::default()
    }
}

fn from_check(check: Check, target: Option<&Port>, default_port: Option<i32>) -> Option<Probe> {
    match check {
        Check::Http(path) => target.map(|p| http(path, p)),
        Check::Tcp => target.map(tcp),
        Check::Exec(cmd) => Some(exec(cmd, target.map(|p| p.number).or(default_port))),
    }
}

fn candidates(ports: &[Port], known: Option<&KnownImage>, settings: &ProbeSettings) -> Candidates {
    let mut c = Candidates {
        startup_seconds: settings
            .startup_seconds
            .filter(|s| *s > 0)
            .or(known.and_then(|k| k.startup_seconds)),
        timeout_seconds: settings
            .timeout_seconds
            .or(known.and_then(|k| k.timeout_seconds)),
        ..Default::default()
    };
    let grpc_port = ports.iter().find(|p| p.is_grpc());
    // The port the health path is served on: a port that says it speaks HTTP, else (when the
    // class names a path) the first port that is not gRPC.
    let http_port = ports.iter().find(|p| p.is_http()).or_else(|| {
        settings
            .path
            .as_ref()
            .and_then(|_| ports.iter().find(|p| !p.is_grpc()))
    });
    let primary = known
        .and_then(|k| ports.iter().find(|p| Some(p.number) == k.port))
        .or(http_port)
        .or(grpc_port)
        .or(ports.first());
    if let Some(k) = known {
        c.readiness.extend(
            k.readiness
                .iter()
                .filter_map(|&x| from_check(x, primary, k.port)),
        );
        c.liveness.extend(
            k.liveness
                .iter()
                .filter_map(|&x| from_check(x, primary, k.port)),
        );
    } else {
        if let (Some(path), Some(p)) = (&settings.path, http_port) {
            c.readiness.push(http(path, p));
        }
        if let Some(p) = grpc_port {
            c.readiness.push(grpc(p));
        }
    }
    // TCP on the primary port, then on the others: the fallbacks for both.
    let mut ordered: Vec<&Port> = primary.into_iter().collect();
    ordered.extend(
        ports
            .iter()
            .filter(|p| Some(p.number) != primary.map(|x| x.number)),
    );
    for p in ordered {
        c.readiness.push(tcp(p));
        c.liveness.push(tcp(p));
    }
    c
}

/// The port a probe handler targets, resolved through the container's port names.
fn resolve_port(v: &Value, ports: &[Port]) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok().or_else(|| {
            ports
                .iter()
                .find(|p| p.name.as_deref() == Some(s))
                .map(|p| i64::from(p.number))
        }),
        _ => None,
    }
}

/// kube-score's notion of identical probes (same HTTP path and port, same TCP port, same
/// command), plus the same gRPC port and service; named and numbered ports are compared after
/// resolving names.
fn identical(a: &Value, b: &Value, ports: &[Port]) -> bool {
    let port = |h: &Value| resolve_port(&h["port"], ports);
    if let (Some(x), Some(y)) = (a.get("httpGet"), b.get("httpGet")) {
        let path = |h: &Value| {
            h.get("path")
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty())
                .unwrap_or("/")
                .to_string()
        };
        return path(x) == path(y) && port(x) == port(y);
    }
    if let (Some(x), Some(y)) = (a.get("tcpSocket"), b.get("tcpSocket")) {
        return port(x) == port(y);
    }
    if let (Some(x), Some(y)) = (a.get("grpc"), b.get("grpc")) {
        return port(x) == port(y) && x.get("service") == y.get("service");
    }
    if let (Some(x), Some(y)) = (a.get("exec"), b.get("exec")) {
        return x.get("command") == y.get("command");
    }
    false
}

fn has_handler(probe: Option<&Value>) -> bool {
    probe.is_some_and(|p| HANDLERS.iter().any(|h| p.get(*h).is_some()))
}

fn to_value(p: &Probe) -> Value {
    serde_json::to_value(p).unwrap_or(Value::Null)
}

fn probe_container(
    c: &mut Value,
    role: ContainerRole,
    settings: &ProbeSettings,
    enforce: bool,
    path: &str,
    out: &mut Outcome,
) {
    let ports = declared_ports(c);
    let known = c
        .get("image")
        .and_then(Value::as_str)
        .and_then(images::lookup);
    if role == ContainerRole::Sidecar && ports.is_empty() {
        return;
    }
    let cand = candidates(&ports, known, settings);
    let user_r = c
        .get("readinessProbe")
        .filter(|_| !enforce)
        .filter(|p| has_handler(Some(p)))
        .cloned();
    let user_l = c
        .get("livenessProbe")
        .filter(|_| !enforce)
        .filter(|p| has_handler(Some(p)))
        .cloned();

    if cand.readiness.is_empty() && user_r.is_none() && user_l.is_none() {
        out.warn(format!(
            "{path}: no probes added: the container declares no TCP port and its image is not a known one, \
             so there is nothing to check without inventing a command; declare its containerPort or write \
             readinessProbe and livenessProbe"
        ));
        return;
    }

    // Readiness: the user's, else the best candidate that differs from the user's liveness.
    let readiness = match &user_r {
        Some(r) => Some(r.clone()),
        None => cand
            .readiness
            .iter()
            .map(to_value)
            .find(|r| user_l.as_ref().is_none_or(|l| !identical(r, l, &ports))),
    };
    // Liveness: the user's, else the best candidate that differs from readiness.
    let liveness = match &user_l {
        Some(l) => Some(l.clone()),
        None => cand
            .liveness
            .iter()
            .map(to_value)
            .find(|l| readiness.as_ref().is_none_or(|r| !identical(r, l, &ports))),
    };

    let timings = Timings {
        settings,
        timeout_seconds: cand.timeout_seconds,
    };
    let to = Target { enforce, path };
    fill_probe(
        c,
        "readinessProbe",
        user_r.is_some(),
        readiness.as_ref(),
        &timings.readiness(),
        &to,
        out,
    );
    if !fill_probe(
        c,
        "livenessProbe",
        user_l.is_some(),
        liveness.as_ref(),
        &timings.liveness(),
        &to,
        out,
    ) {
        out.warn(format!(
            "{path}: no livenessProbe added: the only check available is the one readiness uses, and a \
             liveness probe identical to readiness restarts pods that are merely busy; set the class's \
             probes.path for an HTTP readiness check, declare a second port, or write a livenessProbe"
        ));
    }
    if let (Some(r), Some(l)) = (&user_r, &user_l) {
        if identical(r, l, &ports) {
            out.warn(format!(
                "{path}: readinessProbe and livenessProbe are identical (kept as written); a failing \
                 dependency then restarts the container instead of only taking it out of the Service: \
                 point livenessProbe at a cheaper check, e.g. tcpSocket on the same port"
            ));
        }
    }
    if let Some(seconds) = cand.startup_seconds {
        fill_startup(c, seconds, cand.timeout_seconds, enforce, path, out);
    }
}

/// The class's probe timings, with the timeout the candidates chose.
struct Timings<'a> {
    settings: &'a ProbeSettings,
    timeout_seconds: Option<i32>,
}

impl Timings<'_> {
    fn probe(&self, delay: Option<i32>, period: Option<i32>) -> Probe {
        Probe {
            initial_delay_seconds: delay,
            period_seconds: period,
            timeout_seconds: self.timeout_seconds,
            failure_threshold: self.settings.failure_threshold,
            ..Default::default()
        }
    }

    fn readiness(&self) -> Probe {
        let s = self.settings;
        self.probe(
            s.readiness_initial_delay_seconds,
            s.readiness_period_seconds,
        )
    }

    fn liveness(&self) -> Probe {
        let s = self.settings;
        self.probe(s.liveness_initial_delay_seconds, s.liveness_period_seconds)
    }
}

/// The user's probe gets the missing timings (a probe they wrote is never replaced here);
/// without one, the chosen candidate. False when there is neither.
fn fill_probe(
    c: &mut Value,
    key: &str,
    user: bool,
    chosen: Option<&Value>,
    timings: &Probe,
    to: &Target,
    out: &mut Outcome,
) -> bool {
    match (user, chosen) {
        (true, _) => fill(c, key, None, timings, false, to.path, out),
        (false, Some(p)) => fill(c, key, Some(p), timings, to.enforce, to.path, out),
        (false, None) => return false,
    }
    true
}

/// Where probes are filled and whether the class's values overwrite the manifest's.
struct Target<'a> {
    enforce: bool,
    path: &'a str,
}

/// A startup probe for a slow starter: it guards liveness, so it asks the same question.
fn fill_startup(
    c: &mut Value,
    seconds: i32,
    timeout_seconds: Option<i32>,
    enforce: bool,
    path: &str,
    out: &mut Outcome,
) {
    let handler = c
        .get("livenessProbe")
        .or(c.get("readinessProbe"))
        .filter(|p| has_handler(Some(p)))
        .cloned();
    let startup = Probe {
        period_seconds: Some(STARTUP_PERIOD),
        failure_threshold: Some((seconds + STARTUP_PERIOD - 1) / STARTUP_PERIOD),
        timeout_seconds,
        ..Default::default()
    };
    let keep_user = c.get("startupProbe").is_some_and(|p| has_handler(Some(p))) && !enforce;
    if keep_user {
        fill(c, "startupProbe", None, &startup, false, path, out);
    } else if let Some(h) = handler {
        fill(c, "startupProbe", Some(&h), &startup, enforce, path, out);
    }
}

/// Merges a probe into the container field by field: the handler only when the probe has
/// none (or when enforcing), timings only where missing (or differing, when enforcing).
fn fill(
    c: &mut Value,
    key: &str,
    handler: Option<&Value>,
    timings: &Probe,
    enforce: bool,
    path: &str,
    out: &mut Outcome,
) {
    let Some(obj) = c.as_object_mut() else { return };
    let exists = obj.get(key).is_some_and(Value::is_object);
    if !exists && handler.is_none() {
        return;
    }
    let probe = obj
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !probe.is_object() {
        // Not a mapping: the user's data is reported, never overwritten.
        out.warn(format!("{path}.{key} is not a mapping; left as it is"));
        return;
    }
    let Some(p) = probe.as_object_mut() else {
        return;
    };
    let mut wanted = to_value(timings).as_object().cloned().unwrap_or_default();
    if let Some(h) = handler.and_then(Value::as_object) {
        let has = HANDLERS.iter().any(|k| p.contains_key(*k));
        if enforce || !has {
            for k in HANDLERS {
                if h.get(k).is_none() && enforce && p.remove(k).is_some() {
                    out.set(D, format!("{path}.{key}.{k}"), Value::Null);
                }
            }
            for k in HANDLERS {
                if let Some(v) = h.get(k) {
                    wanted.insert(k.to_string(), v.clone());
                }
            }
        }
    }
    // Handler first, then timings, in the order the API documents them.
    let mut ordered: Vec<(String, Value)> = HANDLERS
        .iter()
        .filter_map(|k| wanted.remove(*k).map(|v| (k.to_string(), v)))
        .collect();
    ordered.extend(wanted);
    for (k, v) in ordered {
        let differs = p.get(&k) != Some(&v);
        if (!p.contains_key(&k) || enforce) && differs {
            p.insert(k.clone(), v.clone());
            out.set(D, format!("{path}.{key}.{k}"), v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(path: Option<&str>) -> ProbeSettings {
        ProbeSettings {
            path: path.map(str::to_string),
            readiness_initial_delay_seconds: Some(10),
            readiness_period_seconds: Some(10),
            liveness_initial_delay_seconds: Some(30),
            liveness_period_seconds: Some(15),
            ..Default::default()
        }
    }

    fn run(c: &mut Value, s: &ProbeSettings, enforce: bool) -> Outcome {
        let mut out = Outcome::default();
        probe_container(c, ContainerRole::App, s, enforce, "c", &mut out);
        out
    }

    #[test]
    fn http_readiness_and_tcp_liveness_on_the_http_port() {
        let mut c = json!({"name": "app", "image": "mcpmesh/python-runtime:0.5.3", "ports": [{"containerPort": 8080}]});
        let out = run(&mut c, &settings(Some("/health")), false);
        assert_eq!(
            c["readinessProbe"]["httpGet"],
            json!({"path": "/health", "port": 8080})
        );
        assert_eq!(c["readinessProbe"]["initialDelaySeconds"], 10);
        assert_eq!(c["livenessProbe"]["tcpSocket"], json!({"port": 8080}));
        assert_eq!(c["livenessProbe"]["periodSeconds"], 15);
        assert!(out.results.is_empty());
        let keys: Vec<_> = c["readinessProbe"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys[0], "httpGet");
    }

    #[test]
    fn grpc_port_gets_native_grpc_readiness_and_tcp_liveness() {
        let mut c = json!({"name": "app", "image": "x/y", "ports": [{"name": "grpc", "containerPort": 9090}]});
        run(&mut c, &settings(None), false);
        assert_eq!(c["readinessProbe"]["grpc"], json!({"port": 9090}));
        assert_eq!(c["livenessProbe"]["tcpSocket"], json!({"port": 9090}));
        let mut c = json!({"name": "app", "image": "x/y", "ports": [{"name": "api", "appProtocol": "grpc", "containerPort": 50051}]});
        run(&mut c, &settings(Some("/health")), false);
        assert_eq!(c["readinessProbe"]["grpc"], json!({"port": 50051}));
    }

    #[test]
    fn known_images_use_their_own_checks() {
        let mut pg = json!({"name": "db", "image": "postgres:16-alpine", "ports": [{"containerPort": 5432}]});
        run(&mut pg, &settings(None), false);
        assert_eq!(
            pg["readinessProbe"]["exec"]["command"],
            json!([
                "pg_isready",
                "-U",
                "postgres",
                "-h",
                "127.0.0.1",
                "-p",
                "5432"
            ])
        );
        assert_eq!(pg["readinessProbe"]["timeoutSeconds"], 5);
        assert_eq!(pg["livenessProbe"]["tcpSocket"]["port"], 5432);
        let mut minio = json!({"name": "minio", "image": "minio/minio:latest", "ports": [{"name": "api", "containerPort": 9000}, {"name": "console", "containerPort": 9001}]});
        run(&mut minio, &settings(None), false);
        assert_eq!(
            minio["readinessProbe"]["httpGet"],
            json!({"path": "/minio/health/ready", "port": 9000})
        );
        assert_eq!(
            minio["livenessProbe"]["httpGet"],
            json!({"path": "/minio/health/live", "port": 9000})
        );
        let mut ollama = json!({"name": "ollama", "image": "ollama/ollama", "ports": [{"containerPort": 11434}]});
        run(&mut ollama, &settings(None), false);
        assert_eq!(ollama["startupProbe"]["tcpSocket"]["port"], 11434);
        assert_eq!(ollama["startupProbe"]["failureThreshold"], 30);
    }

    #[test]
    fn postgres_without_a_port_still_gets_distinct_exec_checks() {
        let mut pg = json!({"name": "db", "image": "postgres:15-alpine"});
        let out = run(&mut pg, &settings(None), false);
        assert!(out.results.is_empty());
        assert!(!identical(&pg["readinessProbe"], &pg["livenessProbe"], &[]));
        assert_eq!(
            pg["livenessProbe"]["exec"]["command"][4],
            "/var/run/postgresql"
        );
    }

    #[test]
    fn pairing_is_never_identical() {
        for c in [
            json!({"name": "a", "image": "x", "ports": [{"containerPort": 80}]}),
            json!({"name": "a", "image": "x", "ports": [{"containerPort": 80}, {"containerPort": 9100}]}),
            json!({"name": "a", "image": "redis:7", "ports": [{"containerPort": 6379}]}),
            json!({"name": "a", "image": "grafana/grafana:11.4.0", "ports": [{"name": "http", "containerPort": 3000}]}),
        ] {
            let mut c = c;
            run(&mut c, &settings(Some("/health")), false);
            if c.get("livenessProbe").is_some() {
                assert!(
                    !identical(
                        &c["readinessProbe"],
                        &c["livenessProbe"],
                        &declared_ports(&c)
                    ),
                    "{c}"
                );
            }
        }
    }

    #[test]
    fn single_tcp_port_without_path_gets_readiness_only_and_a_warning() {
        let mut c = json!({"name": "a", "image": "x", "ports": [{"containerPort": 3000}]});
        let out = run(&mut c, &settings(None), false);
        assert_eq!(c["readinessProbe"]["tcpSocket"]["port"], 3000);
        assert!(c.get("livenessProbe").is_none());
        assert_eq!(out.results.len(), 1);
        let mut two = json!({"name": "a", "image": "x", "ports": [{"containerPort": 3000}, {"name": "metrics", "containerPort": 9100}]});
        run(&mut two, &settings(None), false);
        assert_eq!(two["livenessProbe"]["tcpSocket"]["port"], 9100);
    }

    #[test]
    fn user_probe_is_kept_completed_and_paired() {
        let mut c = json!({"name": "app", "image": "x", "ports": [{"name": "http", "containerPort": 8000}],
            "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}}});
        run(&mut c, &settings(Some("/health")), false);
        assert_eq!(
            c["readinessProbe"]["httpGet"],
            json!({"path": "/ready", "port": "http"})
        );
        assert_eq!(c["readinessProbe"]["periodSeconds"], 10);
        assert_eq!(c["livenessProbe"]["tcpSocket"]["port"], 8000);
        // The user's liveness is TCP on the only port: readiness must not repeat it.
        let mut c = json!({"name": "app", "image": "x", "ports": [{"containerPort": 8000}],
            "livenessProbe": {"tcpSocket": {"port": 8000}, "periodSeconds": 3}});
        run(&mut c, &settings(Some("/health")), false);
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/health");
        assert_eq!(c["livenessProbe"]["periodSeconds"], 3);
    }

    #[test]
    fn identical_user_probes_are_kept_with_a_warning() {
        let h = json!({"httpGet": {"path": "/health", "port": 8000}});
        let mut c = json!({"name": "app", "image": "x", "ports": [{"containerPort": 8000}], "readinessProbe": h, "livenessProbe": h});
        let out = run(&mut c, &settings(Some("/health")), false);
        assert_eq!(c["livenessProbe"]["httpGet"], h["httpGet"]);
        assert_eq!(out.results.len(), 1, "{:?}", out.results);
    }

    #[test]
    fn enforce_replaces_handlers_and_timings() {
        let mut c = json!({"name": "app", "image": "x", "ports": [{"containerPort": 8000}],
            "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 1}});
        run(&mut c, &settings(Some("/health")), true);
        assert!(c["readinessProbe"].get("exec").is_none());
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/health");
        assert_eq!(c["readinessProbe"]["periodSeconds"], 10);
    }

    #[test]
    fn no_port_and_unknown_image_warns_and_invents_nothing() {
        let mut c = json!({"name": "worker", "image": "acme/worker:1"});
        let out = run(&mut c, &settings(Some("/health")), false);
        assert!(c.get("readinessProbe").is_none() && c.get("livenessProbe").is_none());
        assert_eq!(out.results.len(), 1);
        assert!(out.changes.is_empty());
    }

    #[test]
    fn portless_sidecars_are_left_alone_quietly() {
        let mut c = json!({"name": "log", "image": "fluent/fluent-bit", "restartPolicy": "Always"});
        let mut out = Outcome::default();
        probe_container(
            &mut c,
            ContainerRole::Sidecar,
            &settings(None),
            false,
            "c",
            &mut out,
        );
        assert!(out.results.is_empty() && out.changes.is_empty());
    }

    #[test]
    fn second_run_changes_nothing() {
        for c in [
            json!({"name": "app", "image": "x", "ports": [{"containerPort": 8080}]}),
            json!({"name": "db", "image": "postgres:16"}),
            json!({"name": "ol", "image": "ollama/ollama", "ports": [{"containerPort": 11434}]}),
        ] {
            let mut c = c;
            run(&mut c, &settings(Some("/health")), false);
            let again = run(&mut c, &settings(Some("/health")), false);
            assert!(again.changes.is_empty(), "{:?}", again.changes);
            let enforced = run(&mut c, &settings(Some("/health")), true);
            assert!(enforced.changes.is_empty(), "{:?}", enforced.changes);
        }
    }
}
