//! Least-privilege NetworkPolicies from the service graph (issue 4).
//!
//! The central test runs the binary on the AI Interviewer stack and feeds its NetworkPolicies to
//! a small evaluator of Kubernetes NetworkPolicy semantics (default deny once a pod is selected,
//! source egress AND destination ingress, namespaceSelector/podSelector, ipBlock with except,
//! numbered and named ports), then compares every allowed (source, destination, port) with the
//! flows the migration plan lists.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use serde_json::{Value, json};

use crate::util;

// ---------------------------------------------------------------------------------------------
// Helpers

fn testdata(name: &str) -> String {
    let path = util::root().join("tests/testdata/netpol").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fixture_items() -> Vec<Value> {
    util::yaml_docs(&testdata("ai-interviewer.yaml"))
}

fn fixture_config() -> Value {
    util::yaml(&testdata("ai-interviewer-config.yaml"))
}

use crate::util::fn_config as config;

/// Runs function mode; returns the output items, the results, and what the function said
/// (results and stderr: the text that must never quote a Secret value).
fn function(items: &[Value], fc: Option<&Value>) -> (Vec<Value>, Vec<Value>, String) {
    let run = util::run(&[], &util::resource_list(items, fc)).expect_code(0);
    let rl = util::yaml(&run.stdout);
    let items = rl["items"].as_array().cloned().unwrap_or_default();
    let results = rl["results"].as_array().cloned().unwrap_or_default();
    let said = format!(
        "{}\n{}",
        serde_json::to_string(&results).unwrap(),
        run.stderr
    );
    (items, results, said)
}

fn policies(items: &[Value]) -> BTreeMap<(String, String), Value> {
    items
        .iter()
        .filter(|i| i["kind"] == "NetworkPolicy")
        .map(|p| {
            let ns = p["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            (
                (
                    ns,
                    p["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ),
                p.clone(),
            )
        })
        .collect()
}

fn policy<'a>(items: &'a [Value], ns: &str, name: &str) -> &'a Value {
    items
        .iter()
        .find(|i| {
            i["kind"] == "NetworkPolicy"
                && i["metadata"]["name"] == name
                && i["metadata"]["namespace"].as_str().unwrap_or_default() == ns
        })
        .unwrap_or_else(|| {
            panic!(
                "no NetworkPolicy {ns}/{name} among {:?}",
                policies(items).keys().collect::<Vec<_>>()
            )
        })
}

fn warnings(results: &[Value]) -> Vec<String> {
    results
        .iter()
        .filter(|r| r["severity"] == "warning")
        .map(|r| r["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

pub(crate) fn deployment(ns: &str, name: &str, port: Option<(&str, i64)>, env: Value) -> Value {
    let ports = port.map_or(json!([]), |(n, p)| json!([{"name": n, "containerPort": p}]));
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
        "spec": {"selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}},
        "spec": {"containers": [{"name": "main", "image": "example/app:1", "ports": ports, "env": env}]}}}})
}

pub(crate) fn service(ns: &str, name: &str, port: i64, target: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
        "spec": {"selector": {"app": name}, "ports": [{"name": "main", "port": port, "targetPort": target}]}})
}

// ---------------------------------------------------------------------------------------------
// A NetworkPolicy evaluator (networking.k8s.io/v1 semantics)

#[derive(Debug, Clone)]
pub(crate) struct Pod {
    pub(crate) ns: String,
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
    /// (name, number, protocol)
    pub(crate) ports: Vec<(Option<String>, i32, String)>,
    pub(crate) ip: [u8; 4],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Pod(usize),
    Ip([u8; 4]),
}

pub(crate) struct Cluster {
    pub(crate) pods: Vec<Pod>,
    pub(crate) policies: Vec<Value>,
}

pub(crate) fn str_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string()),
            )
        })
        .collect()
}

/// A LabelSelector against labels: every matchLabels pair and every matchExpression.
fn selector_matches(sel: &Value, labels: &BTreeMap<String, String>) -> bool {
    let pairs_ok = str_map(&sel["matchLabels"])
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v));
    let exprs_ok = sel["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|e| {
            let key = e["key"].as_str().unwrap_or_default();
            let values: Vec<&str> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let v = labels.get(key).map(String::as_str);
            match e["operator"].as_str().unwrap_or_default() {
                "In" => v.is_some_and(|v| values.contains(&v)),
                "NotIn" => v.is_none_or(|v| !values.contains(&v)),
                "Exists" => v.is_some(),
                "DoesNotExist" => v.is_none(),
                other => panic!("unknown operator {other}"),
            }
        });
    pairs_ok && exprs_ok
}

fn parse_v4(s: &str) -> Option<[u8; 4]> {
    let parts: Vec<u8> = s
        .split('.')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    parts.try_into().ok()
}

fn in_cidr(ip: [u8; 4], cidr: &str) -> bool {
    let Some((addr, len)) = cidr.split_once('/') else {
        return false;
    };
    let (Some(net), Ok(len)) = (parse_v4(addr), len.parse::<u32>()) else {
        return false; // IPv6 blocks never hold an IPv4 address
    };
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    (u32::from_be_bytes(ip) & mask) == (u32::from_be_bytes(net) & mask)
}

impl Cluster {
    fn ns_labels(ns: &str) -> BTreeMap<String, String> {
        [("kubernetes.io/metadata.name".to_string(), ns.to_string())].into()
    }

    fn selecting(&self, pod: &Pod, ty: &str) -> Vec<&Value> {
        self.policies
            .iter()
            .filter(|p| p["metadata"]["namespace"].as_str().unwrap_or_default() == pod.ns)
            .filter(|p| {
                let types: Vec<&str> = match p["spec"]["policyTypes"].as_array() {
                    Some(t) => t.iter().filter_map(Value::as_str).collect(),
                    None if p["spec"].get("egress").is_some() => vec!["Ingress", "Egress"],
                    None => vec!["Ingress"],
                };
                types.contains(&ty)
            })
            .filter(|p| selector_matches(&p["spec"]["podSelector"], &pod.labels))
            .collect()
    }

    fn peer_matches(&self, peer: &Value, policy_ns: &str, ep: Endpoint) -> bool {
        if let Some(block) = peer.get("ipBlock") {
            let ip = match ep {
                Endpoint::Ip(ip) => ip,
                Endpoint::Pod(p) => self.pods[p].ip,
            };
            let excepted = block["except"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .any(|e| in_cidr(ip, e));
            return in_cidr(ip, block["cidr"].as_str().unwrap_or_default()) && !excepted;
        }
        let Endpoint::Pod(p) = ep else { return false };
        let pod = &self.pods[p];
        let ns_ok = match peer.get("namespaceSelector") {
            None => pod.ns == policy_ns,
            Some(sel) => selector_matches(sel, &Self::ns_labels(&pod.ns)),
        };
        let pod_ok = peer
            .get("podSelector")
            .is_none_or(|sel| selector_matches(sel, &pod.labels));
        ns_ok && pod_ok
    }

    fn ports_match(&self, ports: &Value, dst: Endpoint, proto: &str, port: i32) -> bool {
        let Some(list) = ports.as_array().filter(|l| !l.is_empty()) else {
            return true;
        };
        list.iter().any(|p| {
            let proto_ok = p["protocol"].as_str().unwrap_or("TCP") == proto;
            let port_ok = match &p["port"] {
                Value::Null => true,
                Value::Number(n) => {
                    let n = n.as_i64().unwrap() as i32;
                    let end = p["endPort"].as_i64().map_or(n, |e| e as i32);
                    (n..=end).contains(&port)
                }
                Value::String(name) => match dst {
                    Endpoint::Pod(d) => self.pods[d].ports.iter().any(|(pn, num, pr)| {
                        pn.as_deref() == Some(name) && *num == port && pr == proto
                    }),
                    Endpoint::Ip(_) => false,
                },
                other => panic!("bad port {other}"),
            };
            proto_ok && port_ok
        })
    }

    pub(crate) fn allowed(&self, src: Endpoint, dst: Endpoint, proto: &str, port: i32) -> bool {
        let egress_ok = match src {
            Endpoint::Ip(_) => true,
            Endpoint::Pod(s) => {
                let pols = self.selecting(&self.pods[s], "Egress");
                pols.is_empty()
                    || pols.iter().any(|pol| {
                        let ns = pol["metadata"]["namespace"].as_str().unwrap_or_default();
                        pol["spec"]["egress"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .any(|rule| {
                                let to_ok =
                                    rule["to"].as_array().filter(|t| !t.is_empty()).is_none_or(
                                        |t| t.iter().any(|peer| self.peer_matches(peer, ns, dst)),
                                    );
                                to_ok && self.ports_match(&rule["ports"], dst, proto, port)
                            })
                    })
            }
        };
        let ingress_ok = match dst {
            Endpoint::Ip(_) => true,
            Endpoint::Pod(d) => {
                let pols = self.selecting(&self.pods[d], "Ingress");
                pols.is_empty()
                    || pols.iter().any(|pol| {
                        let ns = pol["metadata"]["namespace"].as_str().unwrap_or_default();
                        pol["spec"]["ingress"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .any(|rule| {
                                let from_ok = rule["from"]
                                    .as_array()
                                    .filter(|t| !t.is_empty())
                                    .is_none_or(|t| {
                                        t.iter().any(|peer| self.peer_matches(peer, ns, src))
                                    });
                                from_ok && self.ports_match(&rule["ports"], dst, proto, port)
                            })
                    })
            }
        };
        egress_ok && ingress_ok
    }
}

/// One pod per workload of the output, plus pods and addresses outside the stack.
pub(crate) fn cluster_of(items: &[Value]) -> Cluster {
    let mut pods = Vec::new();
    for item in items {
        let template = match item["kind"].as_str().unwrap_or_default() {
            "Deployment" | "StatefulSet" | "DaemonSet" => &item["spec"]["template"],
            _ => continue,
        };
        let ports = template["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|c| c["ports"].as_array().cloned().unwrap_or_default())
            .map(|p| {
                (
                    p["name"].as_str().map(str::to_string),
                    p["containerPort"].as_i64().unwrap() as i32,
                    p["protocol"].as_str().unwrap_or("TCP").to_string(),
                )
            })
            .collect();
        pods.push(Pod {
            ns: item["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            name: item["metadata"]["name"].as_str().unwrap().to_string(),
            labels: str_map(&template["metadata"]["labels"]),
            ports,
            ip: [10, 244, 0, pods.len() as u8 + 10],
        });
    }
    let extra = [
        (
            "ingress-nginx",
            "ingress",
            json!({"app.kubernetes.io/name": "ingress-nginx"}),
            vec![(80, "TCP")],
        ),
        (
            "kube-system",
            "dns",
            json!({"k8s-app": "kube-dns"}),
            vec![(53, "UDP"), (53, "TCP")],
        ),
        (
            "kube-system",
            "traefik",
            json!({"app.kubernetes.io/name": "traefik"}),
            vec![(80, "TCP")],
        ),
        (
            "other",
            "stranger",
            json!({"app": "stranger"}),
            vec![(8080, "TCP")],
        ),
        (
            "monitoring",
            "prometheus",
            json!({"app.kubernetes.io/name": "prometheus"}),
            vec![(9090, "TCP")],
        ),
    ];
    for (ns, name, labels, ports) in extra {
        pods.push(Pod {
            ns: ns.into(),
            name: name.into(),
            labels: str_map(&labels),
            ports: ports
                .into_iter()
                .map(|(p, pr)| (None, p, pr.to_string()))
                .collect(),
            ip: [10, 245, 0, pods.len() as u8],
        });
    }
    Cluster {
        pods,
        policies: items
            .iter()
            .filter(|i| i["kind"] == "NetworkPolicy")
            .cloned()
            .collect(),
    }
}

/// Addresses outside the cluster, by name.
const OUTSIDE: [(&str, [u8; 4]); 3] = [
    ("internet", [1, 1, 1, 1]),
    ("private", [10, 1, 2, 3]),
    ("metadata", [169, 254, 169, 254]),
];

/// A named endpoint and the ports probed on it.
type Probe = (String, Endpoint, Vec<(i32, String)>);

/// Changes one client Deployment so it names the Service its own way.
type Tweak = Box<dyn Fn(&mut Value)>;

/// Every allowed (source, destination, "port/proto") where one end is a pod of `stack_ns`.
fn allowed_flows(c: &Cluster, stack_ns: &[&str]) -> BTreeSet<(String, String, String)> {
    let mut endpoints: Vec<Probe> = Vec::new();
    for (i, p) in c.pods.iter().enumerate() {
        let mut ports: Vec<(i32, String)> =
            p.ports.iter().map(|(_, n, pr)| (*n, pr.clone())).collect();
        ports.push((1234, "TCP".into()));
        endpoints.push((p.name.clone(), Endpoint::Pod(i), ports));
    }
    for (name, ip) in OUTSIDE {
        endpoints.push((
            name.into(),
            Endpoint::Ip(ip),
            vec![(443, "TCP".into()), (80, "TCP".into()), (53, "UDP".into())],
        ));
    }
    let in_stack =
        |e: Endpoint| matches!(e, Endpoint::Pod(i) if stack_ns.contains(&c.pods[i].ns.as_str()));
    let mut out = BTreeSet::new();
    for (sn, s, _) in &endpoints {
        for (dn, d, ports) in &endpoints {
            if sn == dn || !(in_stack(*s) || in_stack(*d)) {
                continue;
            }
            for (port, proto) in ports {
                if c.allowed(*s, *d, proto, *port) {
                    out.insert((sn.clone(), dn.clone(), format!("{port}/{proto}")));
                }
            }
        }
    }
    out
}

fn assert_same_flows(
    actual: &BTreeSet<(String, String, String)>,
    expected: &BTreeSet<(String, String, String)>,
) {
    let extra: Vec<_> = actual.difference(expected).collect();
    let missing: Vec<_> = expected.difference(actual).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "allowed but not expected: {extra:#?}\nexpected but not allowed: {missing:#?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The AI Interviewer stack

/// The flows of the migration plan, as pod ports.
fn plan_flows() -> BTreeSet<(String, String, String)> {
    let p = |s: &str| format!("ai-interviewer-{s}");
    let agents = [
        "pdf-extractor",
        "interview-agent",
        "claude-llm-agent",
        "openai-llm-agent",
    ]
    .map(p);
    let llm = ["claude-llm-agent", "openai-llm-agent"].map(p);
    let mut e: Vec<(String, String, &str)> = vec![
        ("ingress".into(), "nginx-gateway".into(), "8080/TCP"),
        ("nginx-gateway".into(), p("backend"), "8080/TCP"),
        (p("backend"), p("registry"), "8000/TCP"),
        (p("backend"), p("postgres"), "5432/TCP"),
        (p("backend"), p("redis"), "6379/TCP"),
        (p("backend"), p("minio"), "9000/TCP"),
        (p("registry"), p("postgres"), "5432/TCP"),
        (p("registry"), p("redis"), "6379/TCP"),
        (p("pdf-extractor"), p("minio"), "9000/TCP"),
        (p("claude-llm-agent"), p("openai-llm-agent"), "8090/TCP"),
        (p("grafana"), p("tempo"), "3200/TCP"),
    ];
    for a in &agents {
        e.push((a.clone(), p("registry"), "8000/TCP"));
        e.push((a.clone(), p("redis"), "6379/TCP"));
        e.push((p("backend"), a.clone(), "8090/TCP"));
        e.push((p("registry"), a.clone(), "8090/TCP"));
    }
    for l in &llm {
        e.push((p("interview-agent"), l.clone(), "8090/TCP"));
        e.push((l.clone(), "internet".into(), "443/TCP"));
    }
    let workloads = [
        "backend", "registry", "postgres", "redis", "minio", "grafana", "tempo",
    ]
    .map(p)
    .into_iter()
    .chain(agents)
    .chain(["nginx-gateway".to_string()]);
    for w in workloads {
        e.push((w.clone(), "dns".into(), "53/UDP"));
        e.push((w, "dns".into(), "53/TCP"));
    }
    e.into_iter()
        .map(|(a, b, c)| (a, b, c.to_string()))
        .collect()
}

#[test]
fn ai_interviewer_policies_allow_exactly_the_plans_flows() {
    let (items, _, _) = function(&fixture_items(), Some(&fixture_config()));
    let cluster = cluster_of(&items);
    assert_eq!(
        cluster.pods.len(),
        12 + 5,
        "12 workloads of the plan plus the outside pods"
    );
    assert_same_flows(&allowed_flows(&cluster, &["ai-interviewer"]), &plan_flows());
}

#[test]
fn ai_interviewer_policies_have_the_expected_shape() {
    let (items, results, all_output) = function(&fixture_items(), Some(&fixture_config()));
    let pols = policies(&items);
    assert_eq!(pols.len(), 12 + 2, "{:?}", pols.keys().collect::<Vec<_>>());
    let net_warnings: Vec<String> = warnings(&results)
        .into_iter()
        .filter(|w| w.contains("Service") || w.contains("NetworkPolicy"))
        .collect();
    // Nothing in the plan calls Grafana (people reach it by port-forward, which no
    // NetworkPolicy sees): issue 14 wants exactly that reported, once on the Service and once
    // on its workload. Every other Service has a caller, so nothing else may be said.
    let (uncalled, others): (Vec<String>, Vec<String>) = net_warnings
        .into_iter()
        .partition(|w| w.contains("no caller in the manifests"));
    assert!(others.is_empty(), "{others:#?}");
    assert_eq!(uncalled.len(), 2, "{uncalled:#?}");
    assert!(
        uncalled
            .iter()
            .all(|w| w.contains("Service ai-interviewer/ai-interviewer-grafana ")),
        "{uncalled:#?}"
    );
    for item in items
        .iter()
        .filter(|i| i["kind"] == "Deployment" || i["kind"] == "StatefulSet")
    {
        let name = item["metadata"]["name"].as_str().unwrap();
        let p = policy(&items, "ai-interviewer", &format!("{name}-netpol"));
        assert_eq!(p["apiVersion"], "networking.k8s.io/v1");
        assert_eq!(
            p["spec"]["podSelector"]["matchLabels"], item["spec"]["template"]["metadata"]["labels"],
            "{name}"
        );
        assert_eq!(p["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
        assert!(
            !p["spec"]["egress"].as_array().unwrap().is_empty(),
            "{name}: Polaris wants an egress rule"
        );
        let a = &p["metadata"]["annotations"];
        assert_eq!(a["apply-defaults.dev/generated"], "true");
        assert_eq!(
            a["internal.config.kubernetes.io/path"],
            format!("networkpolicy_{name}-netpol.yaml")
        );
        assert_eq!(
            a["config.kubernetes.io/path"],
            a["internal.config.kubernetes.io/path"]
        );
    }
    let deny = policy(&items, "ai-interviewer", "default-deny");
    assert_eq!(
        deny["spec"],
        json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
    );
    let dns = policy(&items, "ai-interviewer", "allow-dns");
    assert_eq!(
        dns["spec"]["egress"][0]["to"][0],
        json!({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}})
    );
    // Named target port: Service postgres port 5432 -> targetPort `postgres` -> container 5432;
    // nginx-gateway's Service port 80 -> `http` -> 8080.
    let gw = policy(&items, "ai-interviewer", "nginx-gateway-netpol");
    assert_eq!(
        gw["spec"]["ingress"][0]["ports"],
        json!([{"port": 8080, "protocol": "TCP"}])
    );
    assert_eq!(
        gw["spec"]["ingress"][0]["from"][0],
        json!({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}})
    );
    // Secret values are read (the registry's DATABASE_URL) but never printed.
    for secret in [
        "changeme-registry",
        "changeme-backend",
        "sk-ant-not-a-real-key",
        "mcpmesh:",
    ] {
        assert!(!all_output.contains(secret), "{secret} printed");
    }
}

#[test]
fn second_run_changes_nothing() {
    let input = testdata("ai-interviewer.yaml");
    let cfg = util::tempdir();
    let cfg_path = cfg.path().join("config.yaml");
    std::fs::write(&cfg_path, testdata("ai-interviewer-config.yaml")).unwrap();
    let cfg_arg = format!("--config={}", cfg_path.display());
    let first = util::run(&["stream", &cfg_arg], &input).expect_code(0);
    let second = util::run(&["stream", &cfg_arg], &first.stdout).expect_code(0);
    assert_eq!(
        first.stdout, second.stdout,
        "stream: the second run changed its own output"
    );
    assert_eq!(
        util::yaml_docs(&first.stdout)
            .iter()
            .filter(|d| d["kind"] == "NetworkPolicy")
            .count(),
        14
    );

    let (items1, _, _) = function(&fixture_items(), Some(&fixture_config()));
    let (items2, results2, _) = function(&items1, Some(&fixture_config()));
    assert_eq!(
        items1, items2,
        "function mode: the second run changed items"
    );
    assert!(
        !results2.iter().any(|r| r["message"]
            .as_str()
            .unwrap_or_default()
            .contains("generated NetworkPolicy")),
        "{results2:#?}"
    );
}

#[test]
fn graph_renders_mermaid_and_dot() {
    let cfg = util::tempdir();
    let cfg_path = cfg.path().join("config.yaml");
    std::fs::write(&cfg_path, testdata("ai-interviewer-config.yaml")).unwrap();
    let cfg_arg = format!("--config={}", cfg_path.display());
    let input = testdata("ai-interviewer.yaml");
    let mermaid = util::run(&["graph", "--format", "mermaid", &cfg_arg], &input).expect_code(0);
    util::assert_golden("netpol/ai-interviewer.mmd", &mermaid.stdout);
    let dot = util::run(&["graph", "--format", "dot", &cfg_arg], &input).expect_code(0);
    util::assert_golden("netpol/ai-interviewer.dot", &dot.stdout);
    if let Some(dot_tool) = util::which("dot") {
        let svg = util::run_cmd(
            std::process::Command::new(dot_tool).arg("-Tsvg"),
            &dot.stdout,
        )
        .expect_code(0);
        assert!(svg.stdout.contains("<svg"));
    }
}

// ---------------------------------------------------------------------------------------------
// Reference forms, ports, namespaces

/// One client per way of naming a Service; each must reach `db` (namespace data, Service port
/// 5432 -> targetPort `pg` -> container 15432) and nothing else.
#[test]
fn every_reference_form_is_found() {
    let b64 = |s: &str| {
        // Kubernetes Secret data is standard base64; encode with the tool users have.
        let out = util::run_cmd(std::process::Command::new("base64").arg("-w0"), s).expect_code(0);
        out.stdout
    };
    let mut items = vec![
        deployment("data", "db", Some(("pg", 15432)), json!([])),
        service("data", "db", 5432, json!("pg")),
        deployment("app", "cache", Some(("redis", 6379)), json!([])),
        service("app", "cache", 6379, json!(6379)),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "app"},
            "data": {"DB_HOST": "db.data.svc", "app.ini": "[db]\nurl = postgresql://db.data.svc.cluster.local:5432/app\n"}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec", "namespace": "app"},
            "data": {"DATABASE_URL": b64("postgres://u:hunter2@db.data:5432/app")},
            "stringData": {"REPLICA": "db-0.db.data.svc.cluster.local"}}),
    ];
    let env = |name: &str, value: &str| json!([{"name": name, "value": value}]);
    let mut clients: Vec<(&str, Value)> = vec![
        ("short-same-ns", env("CACHE_HOST", "cache")),
        ("ns-form", env("DB_HOST", "db.data")),
        ("svc-form", env("DB_HOST", "db.data.svc")),
        ("fqdn-form", env("DB_HOST", "db.data.svc.cluster.local")),
        (
            "fqdn-root-dot",
            env("DB_HOST", "db.data.svc.cluster.local."),
        ),
        (
            "url-form",
            env(
                "DB_URL",
                "postgresql://app@db.data:5432/app?sslmode=disable",
            ),
        ),
        ("host-port", env("DB_ADDR", "db.data:5432")),
        (
            "cm-key-ref",
            json!([{"name": "DB_HOST", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "DB_HOST"}}}]),
        ),
        (
            "secret-key-ref",
            json!([{"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "DATABASE_URL"}}}]),
        ),
    ];
    let mut special: Vec<(&str, Tweak)> = vec![
        (
            "args-form",
            Box::new(|d: &mut Value| {
                d["spec"]["template"]["spec"]["containers"][0]["args"] =
                    json!(["--db", "db.data.svc:5432"])
            }),
        ),
        (
            "command-form",
            Box::new(|d: &mut Value| {
                d["spec"]["template"]["spec"]["containers"][0]["command"] =
                    json!(["sh", "-c", "until pg_isready -h db.data; do sleep 1; done"])
            }),
        ),
        (
            "env-from-cm",
            Box::new(|d: &mut Value| {
                d["spec"]["template"]["spec"]["containers"][0]["envFrom"] =
                    json!([{"configMapRef": {"name": "cm"}}])
            }),
        ),
        (
            "env-from-secret",
            Box::new(|d: &mut Value| {
                d["spec"]["template"]["spec"]["containers"][0]["envFrom"] =
                    json!([{"secretRef": {"name": "sec"}}])
            }),
        ),
        (
            "mounted-file",
            Box::new(
                |d: &mut Value| d["spec"]["template"]["spec"]["volumes"] = json!([{"name": "conf", "configMap": {"name": "cm", "items": [{"key": "app.ini", "path": "app.ini"}]}}]),
            ),
        ),
        (
            "projected-secret",
            Box::new(|d: &mut Value| {
                d["spec"]["template"]["spec"]["volumes"] =
                    json!([{"name": "p", "projected": {"sources": [{"secret": {"name": "sec"}}]}}])
            }),
        ),
        (
            "statefulset-pod-dns",
            Box::new(
                |d: &mut Value| d["spec"]["template"]["spec"]["volumes"] = json!([{"name": "s", "secret": {"secretName": "sec", "items": [{"key": "REPLICA", "path": "r"}]}}]),
            ),
        ),
    ];
    for (name, env) in clients.drain(..) {
        items.push(deployment("app", name, None, env));
    }
    let mut names: Vec<&str> = Vec::new();
    for (name, f) in special.drain(..) {
        let mut d = deployment("app", name, None, json!([]));
        f(&mut d);
        items.push(d);
        names.push(name);
    }
    let (out, results, all) = function(&items, None);
    assert!(!all.contains("hunter2"), "a Secret value was printed");
    let cluster = cluster_of(&out);
    let flows = allowed_flows(&cluster, &["app", "data"]);
    let mut expected: BTreeSet<(String, String, String)> = BTreeSet::new();
    for item in items.iter().filter(|i| i["kind"] == "Deployment") {
        let n = item["metadata"]["name"].as_str().unwrap().to_string();
        expected.insert((n.clone(), "dns".into(), "53/UDP".into()));
        expected.insert((n.clone(), "dns".into(), "53/TCP".into()));
        match n.as_str() {
            "db" | "cache" => {}
            "short-same-ns" => {
                expected.insert((n, "cache".into(), "6379/TCP".into()));
            }
            _ => {
                expected.insert((n, "db".into(), "15432/TCP".into()));
            }
        }
    }
    assert_same_flows(&flows, &expected);
    let w = warnings(&results);
    assert!(w.iter().all(|m| !m.contains("no Service")), "{w:#?}");
    // Cross-namespace peers carry the namespace label; default-deny and allow-dns per namespace.
    let db = policy(&out, "data", "db-netpol");
    assert_eq!(
        db["spec"]["ingress"][0]["ports"],
        json!([{"port": 15432, "protocol": "TCP"}])
    );
    assert_eq!(
        db["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "app"
    );
    for ns in ["app", "data"] {
        policy(&out, ns, "default-deny");
        policy(&out, ns, "allow-dns");
    }
    let paths: Vec<&str> = out
        .iter()
        .filter(|i| i["kind"] == "NetworkPolicy")
        .map(|i| {
            i["metadata"]["annotations"]["internal.config.kubernetes.io/path"]
                .as_str()
                .unwrap()
        })
        .collect();
    let unique: BTreeSet<&&str> = paths.iter().collect();
    assert_eq!(
        unique.len(),
        paths.len(),
        "two generated policies share a file: {paths:?}"
    );
}

#[test]
fn service_port_80_with_named_target_becomes_the_container_port() {
    let items = vec![
        deployment("web", "api", Some(("http", 8080)), json!([])),
        service("web", "api", 80, json!("http")),
        deployment(
            "web",
            "client",
            None,
            json!([{"name": "API_URL", "value": "http://api/v1"}]),
        ),
    ];
    let (out, _, _) = function(&items, None);
    let client = policy(&out, "web", "client-netpol");
    assert_eq!(
        client["spec"]["egress"][1]["ports"],
        json!([{"port": 8080, "protocol": "TCP"}])
    );
    assert_eq!(
        client["spec"]["egress"][1]["to"],
        json!([{"podSelector": {"matchLabels": {"app": "api"}}}])
    );
    let api = policy(&out, "web", "api-netpol");
    assert_eq!(
        api["spec"]["ingress"],
        json!([{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}], "ports": [{"port": 8080, "protocol": "TCP"}]}])
    );
    // Nobody calls the client: it accepts nothing.
    assert_eq!(client["spec"]["ingress"], json!([]));
}

#[test]
fn routes_configured_controllers_and_monitoring() {
    let mut items = vec![
        deployment("web", "site", Some(("http", 3000)), json!([])),
        service("web", "site", 80, json!("http")),
        json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "site", "namespace": "web"},
            "spec": {"rules": [{"backendRefs": [{"name": "site", "port": 80}]}]}}),
    ];
    items[0]["spec"]["template"]["spec"]["containers"][0]["ports"] = json!([{"name": "http", "containerPort": 3000}, {"name": "metrics", "containerPort": 9100}]);
    let fc = config(json!({"networkPolicy": {
        "ingressControllers": [{"namespace": "kube-system", "podLabels": {"app.kubernetes.io/name": "traefik"}}],
        "monitoring": [{"namespace": "monitoring", "podLabels": {"app.kubernetes.io/name": "prometheus"}}]}}));
    let (out, _, _) = function(&items, Some(&fc));
    let flows = allowed_flows(&cluster_of(&out), &["web"]);
    let expected: BTreeSet<(String, String, String)> = [
        ("traefik", "site", "3000/TCP"),
        ("prometheus", "site", "9100/TCP"),
        ("site", "dns", "53/UDP"),
        ("site", "dns", "53/TCP"),
    ]
    .into_iter()
    .map(|(a, b, c)| (a.into(), b.into(), c.into()))
    .collect();
    assert_same_flows(&flows, &expected);
}

// ---------------------------------------------------------------------------------------------
// User policies, opt-outs, warnings

#[test]
fn user_policies_are_kept_or_added_to() {
    let user = json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "mine", "namespace": "web"},
        "spec": {"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress"], "ingress": [{}]}});
    let user_deny = json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny", "namespace": "web"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}});
    let items = vec![
        deployment("web", "api", Some(("http", 8080)), json!([])),
        service("web", "api", 8080, json!("http")),
        deployment(
            "web",
            "client",
            None,
            json!([{"name": "API_HOST", "value": "api"}]),
        ),
        user.clone(),
        user_deny,
    ];
    let (out, _, _) = function(&items, None);
    let names: Vec<String> = policies(&out).into_keys().map(|(_, n)| n).collect();
    assert_eq!(
        names,
        [
            "allow-dns",
            "api-egress-netpol",
            "client-netpol",
            "default-deny",
            "deny",
            "mine"
        ],
        "keep: no api-netpol; a user default-deny selects no one in particular; api's own policy \
         is Ingress-only, so our default-deny would cut its egress: an egress-only policy keeps it"
    );
    assert_eq!(
        policy(&out, "web", "api-egress-netpol")["spec"]["policyTypes"],
        json!(["Egress"]),
        "the user's policy alone decides api's ingress"
    );
    assert_eq!(
        policy(&out, "web", "mine"),
        &user,
        "the user's policy is untouched"
    );

    let (out, _, _) = function(
        &items,
        Some(&config(json!({"networkPolicy": {"userPolicies": "add"}}))),
    );
    assert!(policies(&out).contains_key(&("web".to_string(), "api-netpol".to_string())));
}

#[test]
fn opted_out_workloads_get_no_policy_and_keep_their_namespace_open() {
    let mut legacy = deployment("web", "legacy", Some(("http", 8080)), json!([]));
    legacy["metadata"]["annotations"] = json!({"apply-defaults.dev/skip": "network-policy"});
    let items = vec![
        deployment(
            "web",
            "api",
            Some(("http", 8080)),
            json!([{"name": "LEGACY_URL", "value": "http://legacy:8080"}]),
        ),
        service("web", "legacy", 8080, json!("http")),
        legacy,
        deployment("other", "lonely", None, json!([])),
    ];
    let (out, results, _) = function(
        &items,
        Some(&config(json!({"exclude": [{"namespaces": ["other"]}]}))),
    );
    let names: Vec<(String, String)> = policies(&out).into_keys().collect();
    assert_eq!(
        names,
        [
            ("web".to_string(), "allow-dns".to_string()),
            ("web".to_string(), "api-netpol".to_string())
        ]
    );
    let api = policy(&out, "web", "api-netpol");
    assert_eq!(
        api["spec"]["egress"][1]["to"][0]["podSelector"]["matchLabels"]["app"], "legacy",
        "calls to an opted-out workload stay allowed"
    );
    let w = warnings(&results);
    assert!(
        w.iter()
            .any(|m| m.contains("no default-deny") && m.contains("legacy")),
        "{w:#?}"
    );
}

#[test]
fn unknown_references_warn_only_when_they_clearly_are_addresses() {
    let items = vec![
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "web"},
            "stringData": {"CACHE_URL": "redis://:topsecret@secret-cache:6379"}}),
        deployment(
            "web",
            "api",
            None,
            json!([
                {"name": "PAYMENTS_HOST", "value": "payments"},
                {"name": "SEARCH_URL", "value": "http://search.web.svc.cluster.local:9200"},
                {"name": "OPENAI_URL", "value": "https://api.openai.com/v1"},
                {"name": "GREETING", "value": "hello world from the api"},
                {"name": "LOCAL_ADDR", "value": "localhost:9000"},
                {"name": "MODE", "value": "payments"},
                {"name": "CACHE_URL", "valueFrom": {"secretKeyRef": {"name": "s", "key": "CACHE_URL"}}},
            ]),
        ),
    ];
    let (_, results, all) = function(&items, None);
    let w: Vec<String> = warnings(&results)
        .into_iter()
        .filter(|m| m.contains("no Service"))
        .collect();
    assert_eq!(w.len(), 3, "{w:#?}");
    assert!(
        w.iter()
            .any(|m| m.contains("PAYMENTS_HOST") && m.contains("`payments`")),
        "{w:#?}"
    );
    assert!(
        w.iter()
            .any(|m| m.contains("SEARCH_URL") && m.contains("search.web.svc.cluster.local")),
        "{w:#?}"
    );
    assert!(
        w.iter()
            .any(|m| m.contains("CACHE_URL") && m.contains("not shown")),
        "{w:#?}"
    );
    assert!(
        !all.contains("secret-cache") && !all.contains("topsecret"),
        "a Secret value was printed"
    );
}

#[test]
fn declared_edges_to_unknown_names_warn() {
    let items = vec![deployment("web", "api", Some(("http", 8080)), json!([]))];
    let fc = config(
        json!({"networkPolicy": {"edges": [{"from": "api", "to": "nowhere"}, {"from": "ghost", "to": "api"}]}}),
    );
    let (_, results, _) = function(&items, Some(&fc));
    // Each end that names nothing is warned about once, at the field that names it.
    let at = |path: &str, name: &str| {
        results
            .iter()
            .filter(|r| r["severity"] == "warning")
            .filter(|r| r["message"].as_str().unwrap_or_default().contains(name))
            .filter(|r| r["field"]["path"] == path)
            .count()
    };
    assert_eq!(
        at("spec.networkPolicy.edges[0].to", "nowhere"),
        1,
        "{results:#?}"
    );
    assert_eq!(
        at("spec.networkPolicy.edges[1].from", "ghost"),
        1,
        "{results:#?}"
    );
    let w = warnings(&results);
    assert_eq!(
        w.iter().filter(|m| m.contains("ghost")).count(),
        1,
        "{w:#?}"
    );
}

#[test]
fn external_services_by_cidr() {
    let mut items = vec![deployment("web", "billing", None, json!([]))];
    items[0]["metadata"]["annotations"] = json!({"apply-defaults.dev/class": "payments"});
    let fc = config(json!({
        "classes": {"payments": {"network": {"egress": [{"to": "psp", "ports": [8443]}]}}},
        "networkPolicy": {"external": [{"name": "psp", "cidrs": ["1.1.0.0/16"], "except": ["1.1.1.0/24"]}]}}));
    let (out, _, _) = function(&items, Some(&fc));
    let c = cluster_of(&out);
    let billing = Endpoint::Pod(0);
    assert!(c.allowed(billing, Endpoint::Ip([1, 1, 2, 2]), "TCP", 8443));
    assert!(
        !c.allowed(billing, Endpoint::Ip([1, 1, 1, 1]), "TCP", 8443),
        "except is honoured"
    );
    assert!(!c.allowed(billing, Endpoint::Ip([1, 1, 2, 2]), "TCP", 443));
}

// ---------------------------------------------------------------------------------------------
// Scale

/// 10,000 workloads, each with its own Service and a reference to the next one's: the graph must
/// be built in linear time (indexes, no pairwise scans).
#[test]
fn ten_thousand_workloads_stay_linear() {
    fn stack(n: usize) -> Vec<Value> {
        let mut items = Vec::with_capacity(2 * n);
        for i in 0..n {
            let next = format!("svc-{}", (i + 1) % n);
            items.push(deployment(
                "big",
                &format!("svc-{i}"),
                Some(("http", 8080)),
                json!([{"name": "NEXT_URL", "value": format!("http://{next}:80")}]),
            ));
            items.push(service("big", &format!("svc-{i}"), 80, json!("http")));
        }
        items
    }
    let config = apply_defaults::Config::shipped();
    let time = |n: usize| {
        let items = stack(n);
        let start = Instant::now();
        let out = apply_defaults::generate_network_policies(&items, &config);
        let took = start.elapsed();
        assert_eq!(out.resources.len(), n + 2);
        took
    };
    let small = time(1_000);
    let large = time(10_000);
    eprintln!("graph::generate: 1,000 workloads {small:?}; 10,000 workloads {large:?}");
    assert!(
        large < small * 30,
        "10x the workloads took {:.1}x the time",
        large.as_secs_f64() / small.as_secs_f64()
    );
}

/// kustomize and kpt send the same package in different item orders (a regression: peers used to
/// follow item order, so the container and exec renders of the stacks disagreed).
#[test]
fn policies_do_not_depend_on_item_order() {
    let items = fixture_items();
    let mut reversed = items.clone();
    reversed.reverse();
    let fc = fixture_config();
    let (a, _, _) = function(&items, Some(&fc));
    let (b, _, _) = function(&reversed, Some(&fc));
    assert_eq!(policies(&a), policies(&b));
}

// ---------------------------------------------------------------------------------------------
// Property: on random stacks the emitted policies allow exactly the flows the manifests show.
// Each workload has its own `app` label (no label set is a superset of another's), so every
// allowed flow must be one of the references generated, and every reference must be allowed.

mod flows_property {
    use super::*;
    use proptest::prelude::*;

    /// How a caller names the callee's Service (every DNS and URL form).
    fn address(form: u8, name: &str, ns: &str, same_ns: bool) -> String {
        match form % 6 {
            0 if same_ns => name.to_string(),
            0 | 1 => format!("{name}.{ns}"),
            2 => format!("{name}.{ns}.svc"),
            3 => format!("{name}.{ns}.svc.cluster.local"),
            4 => format!("http://{name}.{ns}:80/api"),
            _ => format!("{name}.{ns}.svc:80"),
        }
    }

    fn stack() -> impl Strategy<Value = (Vec<bool>, Vec<(usize, usize, u8)>)> {
        (2usize..6).prop_flat_map(|n| {
            (
                proptest::collection::vec(any::<bool>(), n),
                proptest::collection::vec((0..n, 0..n, any::<u8>()), 0..8),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn policies_allow_exactly_the_referenced_flows((in_b, refs) in stack()) {
            let n = in_b.len();
            let ns = |i: usize| if in_b[i] { "b" } else { "a" };
            let name = |i: usize| format!("w{i}");
            let mut env: Vec<Vec<Value>> = vec![Vec::new(); n];
            let mut expected = BTreeSet::new();
            for (from, to, form) in refs {
                if from == to {
                    continue;
                }
                let value = address(form, &name(to), ns(to), ns(from) == ns(to));
                env[from].push(json!({"name": format!("TARGET_{to}_HOST"), "value": value}));
                expected.insert((name(from), name(to), "8080/TCP".to_string()));
            }
            let mut items = Vec::new();
            for (i, vars) in env.iter().enumerate() {
                // One env entry per callee: several forms for one callee would repeat the name.
                let mut seen = BTreeSet::new();
                let vars: Vec<Value> = vars.iter().filter(|e| seen.insert(e["name"].to_string())).cloned().collect();
                items.push(deployment(ns(i), &name(i), Some(("http", 8080)), json!(vars)));
                items.push(service(ns(i), &name(i), 80, json!("http")));
            }
            for i in 0..n {
                for proto in ["53/UDP", "53/TCP"] {
                    expected.insert((name(i), "dns".to_string(), proto.to_string()));
                }
            }
            let fc = util::configmap(&[("defaults", "network-policy")]);
            let (out, _, said) = function(&items, Some(&fc));
            let allowed = allowed_flows(&cluster_of(&out), &["a", "b"]);
            let extra: Vec<_> = allowed.difference(&expected).collect();
            let missing: Vec<_> = expected.difference(&allowed).collect();
            prop_assert!(extra.is_empty() && missing.is_empty(),
                "allowed but not in the manifests: {extra:?}\nin the manifests but not allowed: {missing:?}\n{said}");
        }
    }
}
