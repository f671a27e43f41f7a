//! The NetworkPolicy oracle: an analyzer written by others says what the emitted policies allow,
//! and it must be exactly what the function meant.
//!
//! The analyzer is cyclonus (github.com/mattfenwick/cyclonus, pinned in
//! scripts/tool-versions.sh; np-guard's netpol-analyzer, the one issue 14 names, is refused by
//! the Go module proxy here). `cyclonus analyze --mode probe` evaluates the policies, with no
//! cluster, over a model of the pods: one pod per workload of the rendered output (its namespace,
//! its pod-template labels, its container ports, a private pod IP), its namespace labelled as the
//! API server labels it (`kubernetes.io/metadata.name`), one probe per container port. Its
//! "Combined" table (ingress and egress both allow) is the allowed pod-to-pod connectivity; a
//! pod's traffic to itself is left out.
//!
//! The intended graph is the function's own `apply-defaults graph` over the same input and
//! config: the one description of intent every input has (the prod overlay, the Interview Prep
//! Trainer stack and the examples alike), and the one users read in the README. That graph is
//! itself tied to the migration plan's flows by tests/netpol.rs and tests/netpol_flows.rs; this
//! test closes the loop from the graph to the policies with an evaluator we did not write.
//! Besides the workloads, the model has the peers the graph names that are pods: each ingress
//! controller (a pod of its peer spec) and cluster DNS (`kube-system`, `k8s-app: kube-dns`),
//! which the README's rule gives every pod on 53 TCP and UDP. The internet, named CIDRs, the API
//! server and monitoring peers have no pod in the model (tests/netpol.rs covers those).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::runners::record;
use crate::util;

/// (from pod, to pod, port, protocol); pods are `namespace/workload`.
type Flow = (String, String, i64, String);

/// A workload's pod, as the model gives it to cyclonus.
struct Pod {
    namespace: String,
    name: String,
    labels: Value,
    ports: Vec<(i64, String)>,
    /// Labels of its namespace beyond `kubernetes.io/metadata.name` (the peers' namespaces).
    namespace_labels: Value,
}

impl Pod {
    fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// Cluster DNS as the API server and kubeadm/k3s run it: `k8s-app: kube-dns` in kube-system.
fn kube_dns() -> Pod {
    Pod {
        namespace: "kube-system".into(),
        name: "kube-dns".into(),
        labels: json!({"k8s-app": "kube-dns"}),
        ports: vec![(53, "TCP".into()), (53, "UDP".into())],
        namespace_labels: json!({}),
    }
}

/// The pod of a graph peer node (`ingress controller (ns ingress-nginx, app=x)`): its namespace
/// (or one labelled as the peer says), its pod labels; no ports, it only calls.
fn peer_pod(id: &str, label: &str) -> Pod {
    let inner = label
        .split_once('(')
        .and_then(|(_, r)| r.strip_suffix(')'))
        .unwrap_or_default();
    let (mut namespace, mut ns_labels, mut labels) = (None, json!({}), json!({}));
    for part in inner.split(", ").filter(|p| *p != "all namespaces") {
        match part.strip_prefix("ns ") {
            Some(kv) => match kv.split_once('=') {
                Some((k, v)) => ns_labels[k] = json!(v),
                None => namespace = Some(kv.to_string()),
            },
            None => {
                if let Some((k, v)) = part.split_once('=') {
                    labels[k] = json!(v);
                }
            }
        }
    }
    if labels.as_object().is_some_and(|m| m.is_empty()) {
        labels = json!({"app.kubernetes.io/name": id});
    }
    Pod {
        namespace: namespace.unwrap_or_else(|| format!("{id}-ns").replace('_', "-")),
        name: id.replace('_', "-"),
        labels,
        ports: Vec::new(),
        namespace_labels: ns_labels,
    }
}

fn pod_template(doc: &Value) -> Option<&Value> {
    let t = match doc["kind"].as_str()? {
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController" => &doc["spec"]["template"],
        "CronJob" => &doc["spec"]["jobTemplate"]["spec"]["template"],
        "Pod" => doc,
        _ => return None,
    };
    t.is_object().then_some(t)
}

fn namespace_of(doc: &Value) -> String {
    doc["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default")
        .to_string()
}

fn pods(docs: &[Value]) -> Vec<Pod> {
    docs.iter()
        .filter_map(|d| {
            let t = pod_template(d)?;
            let mut ports = Vec::new();
            for c in t["spec"]["containers"].as_array().into_iter().flatten() {
                for p in c["ports"].as_array().into_iter().flatten() {
                    if let Some(n) = p["containerPort"].as_i64() {
                        let proto = p["protocol"].as_str().unwrap_or("TCP").to_string();
                        ports.push((n, proto));
                    }
                }
            }
            ports.sort();
            ports.dedup();
            Some(Pod {
                namespace: namespace_of(d),
                name: d["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                labels: t["metadata"]["labels"].clone(),
                ports,
                namespace_labels: json!({}),
            })
        })
        .collect()
}

/// cyclonus' probe model: namespaces with their labels, the pods, one probe per port.
fn probe_model(docs: &[Value], pods: &[Pod]) -> (Value, Vec<(i64, String)>) {
    let mut namespaces: BTreeMap<String, Value> = BTreeMap::new();
    for p in pods {
        let entry = namespaces
            .entry(p.namespace.clone())
            .or_insert_with(|| json!({"kubernetes.io/metadata.name": p.namespace}));
        for (k, v) in p.namespace_labels.as_object().into_iter().flatten() {
            entry[k] = v.clone();
        }
    }
    for ns in docs.iter().filter(|d| d["kind"] == "Namespace") {
        let name = ns["metadata"]["name"].as_str().unwrap_or_default();
        if let Some(entry) = namespaces.get_mut(name) {
            for (k, v) in ns["metadata"]["labels"].as_object().into_iter().flatten() {
                entry[k] = v.clone();
            }
        }
    }
    let mut probes: Vec<(i64, String)> = pods.iter().flat_map(|p| p.ports.clone()).collect();
    probes.sort();
    probes.dedup();
    let model_pods: Vec<Value> = pods
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut containers: Vec<Value> = p
                .ports
                .iter()
                .enumerate()
                .map(|(j, (n, proto))| {
                    json!({"Name": format!("c{j}"), "Port": n, "Protocol": proto,
                           "PortName": format!("p{j}")})
                })
                .collect();
            if containers.is_empty() {
                // cyclonus sends from a pod's first container: a pod with no port still calls.
                containers.push(json!({"Name": "client", "Port": 0, "Protocol": "TCP"}));
            }
            json!({
                "Namespace": p.namespace,
                "Name": p.name,
                "Labels": p.labels,
                // Private addresses: the internet egress rules (0.0.0.0/0 less private ranges)
                // must not match pods, as they do not in a cluster.
                "IP": format!("10.{}.{}.{}", 100 + i / 65536, (i / 256) % 256, i % 256),
                "Containers": containers,
            })
        })
        .collect();
    let model = json!({
        "Resources": {"Namespaces": namespaces, "Pods": model_pods},
        "Probes": probes.iter().map(|(n, proto)| json!({"Protocol": proto, "Port": n})).collect::<Vec<_>>(),
    });
    (model, probes)
}

/// The rows of the table after each `Combined:` line: (from, [cells]) with the row labels as
/// the column order (cyclonus prints both in the same sorted order).
fn combined_tables(stdout: &str) -> Vec<Vec<(String, Vec<String>)>> {
    let mut tables = Vec::new();
    for chunk in stdout.split("Combined:\n").skip(1) {
        let mut rows = Vec::new();
        let mut header_seen = false;
        for line in chunk.lines() {
            if line.starts_with('+') {
                continue;
            }
            if !line.starts_with('|') {
                break;
            }
            if !header_seen {
                header_seen = true;
                continue;
            }
            let cells: Vec<String> = line
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect();
            rows.push((cells[0].clone(), cells[1..].to_vec()));
        }
        tables.push(rows);
    }
    tables
}

/// What cyclonus says the policies allow between the pods, on the ports the target listens on.
fn cyclonus_flows(
    cyclonus: &Path,
    docs: &[Value],
    peers: Vec<Pod>,
    what: &str,
) -> (BTreeSet<Flow>, usize) {
    let mut pods = pods(docs);
    pods.extend(peers);
    let (model, probes) = probe_model(docs, &pods);
    let policies: Vec<Value> = docs
        .iter()
        .filter(|d| d["kind"] == "NetworkPolicy")
        .cloned()
        .collect();
    assert!(!policies.is_empty(), "{what}: no NetworkPolicy to analyze");
    let tmp = util::tempdir();
    let policy_dir = tmp.path().join("policies");
    std::fs::create_dir_all(&policy_dir).expect("mkdir");
    std::fs::write(
        policy_dir.join("policies.json"),
        serde_json::to_string(&json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicyList", "items": policies}))
            .expect("json"),
    )
    .expect("write policies");
    let model_path = tmp.path().join("model.json");
    std::fs::write(&model_path, serde_json::to_string(&model).expect("json")).expect("write");
    let out = util::run_cmd(
        Command::new(cyclonus)
            .args(["analyze", "--mode", "probe", "--policy-path"])
            .arg(&policy_dir)
            .arg("--probe-path")
            .arg(&model_path),
        "",
    );
    assert_eq!(
        out.code, 0,
        "{what}: cyclonus failed\n{}\n{}",
        out.stdout, out.stderr
    );
    let tables = combined_tables(&out.stdout);
    // One table per probe, then the (empty) all-ports probe over pods read from a cluster.
    assert!(
        tables.len() >= probes.len(),
        "{what}: {} tables for {} probes:\n{}",
        tables.len(),
        probes.len(),
        out.stdout
    );
    let mut flows = BTreeSet::new();
    let mut pairs = 0;
    for ((port, proto), rows) in probes.iter().zip(&tables) {
        let order: Vec<&String> = rows.iter().map(|(from, _)| from).collect();
        assert_eq!(order.len(), pods.len(), "{what}: port {port}: rows");
        for (from, cells) in rows {
            for (to, cell) in order.iter().zip(cells) {
                // A pod's traffic to itself does not leave it: not NetworkPolicy's business.
                if from == *to {
                    continue;
                }
                match cell.as_str() {
                    "." => {
                        flows.insert((from.clone(), to.to_string(), *port, proto.clone()));
                    }
                    "X" | "N" => {}
                    other => panic!("{what}: cyclonus cell {other:?} ({from} -> {to} {port})"),
                }
                if cell != "N" {
                    pairs += 1;
                }
            }
        }
    }
    (flows, pairs)
}

/// The function's intended flows, and the peer pods they need: `apply-defaults graph --format
/// mermaid` gives the workload-to-workload edges and the ingress controllers' edges (each
/// controller becomes a pod of its peer spec); the README's DNS rule adds every pod's egress to
/// cluster DNS on 53 TCP and UDP (the graph leaves DNS out as noise). The peers' own namespaces
/// carry no policy, so their egress is open: they reach DNS too.
fn intended_flows(
    input: &str,
    config: Option<&Path>,
    docs: &[Value],
) -> (BTreeSet<Flow>, Vec<Pod>) {
    let mut args = vec!["graph".to_string(), "--format".into(), "mermaid".into()];
    if let Some(c) = config {
        args.push(format!("--config={}", c.display()));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = util::run(&args, input).expect_code(0);
    let workloads = pods(docs);
    let mut peers: Vec<Pod> = vec![kube_dns()];
    // Graph node id -> the pod it stands for (`namespace/name`). Workload labels are `name`,
    // or `namespace/name` when the render spans namespaces.
    let mut node: BTreeMap<String, String> = BTreeMap::new();
    let mut edges = Vec::new();
    for line in out.stdout.lines().map(str::trim) {
        // Namespace boxes group the nodes; they are no nodes themselves.
        if line.starts_with("subgraph ") || line == "end" {
            continue;
        }
        if let Some((from, rest)) = line.split_once(" -->|\"") {
            let (ports, to) = rest.split_once("\"| ").expect("edge");
            edges.push((from.to_string(), ports.to_string(), to.to_string()));
        } else if let Some((id, rest)) = line.split_once("[\"") {
            let label = rest.trim_end_matches("\"]");
            // A workload nothing may reach is marked in its label.
            let label = label
                .strip_suffix(" (nothing may reach it)")
                .unwrap_or(label);
            let pod = workloads
                .iter()
                .find(|p| p.name == label || p.key() == label)
                .unwrap_or_else(|| panic!("graph node {label} is no workload"));
            node.insert(id.to_string(), pod.key());
        } else if let Some((id, rest)) = line.split_once("[/\"") {
            if id.starts_with("ingress_") {
                let peer = peer_pod(id, rest.trim_end_matches("\"/]"));
                node.insert(id.to_string(), peer.key());
                peers.push(peer);
            }
        }
    }
    let mut flows = BTreeSet::new();
    for (from, ports, to) in edges {
        let (Some(f), Some(t)) = (node.get(&from), node.get(&to)) else {
            continue; // monitoring, the internet, named CIDRs: no pod in the model
        };
        let target = workloads
            .iter()
            .find(|p| &p.key() == t)
            .expect("target pod");
        if ports == "any" {
            for (n, proto) in &target.ports {
                flows.insert((f.clone(), t.clone(), *n, proto.clone()));
            }
            continue;
        }
        for p in ports.split(", ") {
            let (n, proto) = p.split_once('/').unwrap_or((p, "TCP"));
            flows.insert((f.clone(), t.clone(), n.parse().expect("port"), proto.into()));
        }
    }
    let dns = kube_dns().key();
    for p in workloads.iter().chain(&peers) {
        if p.key() != dns {
            for proto in ["TCP", "UDP"] {
                flows.insert((p.key(), dns.clone(), 53, proto.into()));
            }
        }
    }
    (flows, peers)
}

fn assert_oracle_agrees(
    what: &str,
    input: &str,
    config: Option<&Path>,
    docs: &[Value],
) -> Option<(usize, usize, usize)> {
    let cyclonus = util::pinned_tool("CYCLONUS", "the NetworkPolicy oracle")?;
    let (intended, peers) = intended_flows(input, config, docs);
    let (allowed, pairs) = cyclonus_flows(&cyclonus, docs, peers, what);
    assert!(
        !intended.is_empty(),
        "{what}: the graph has no pod-to-pod flow"
    );
    let extra: Vec<&Flow> = allowed.difference(&intended).collect();
    let missing: Vec<&Flow> = intended.difference(&allowed).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "{what}: cyclonus and the function's graph disagree\n\
         allowed by the policies but not in the graph: {extra:#?}\n\
         in the graph but not allowed by the policies: {missing:#?}"
    );
    let policies = docs.iter().filter(|d| d["kind"] == "NetworkPolicy").count();
    Some((policies, pairs, allowed.len()))
}

fn report(what: &str, counts: (usize, usize, usize)) {
    let (policies, pairs, allowed) = counts;
    record(&format!(
        "cyclonus analyze --mode probe, {what}: {policies} NetworkPolicies, {pairs} \
         (pod, pod, port) cases, {allowed} allowed = the graph"
    ));
}

#[test]
fn ai_interviewer_prod_policies_allow_exactly_the_graph() {
    let Some(r) = crate::rendered::overlay("ai-interviewer", "prod") else {
        return;
    };
    if let Some(c) = assert_oracle_agrees(&r.name, &r.input, Some(&r.config), &r.output) {
        report(&r.name, c);
    }
}

#[test]
fn interview_prep_prod_policies_allow_exactly_the_graph() {
    let Some(r) = crate::rendered::overlay("interview-prep", "prod") else {
        return;
    };
    if let Some(c) = assert_oracle_agrees(&r.name, &r.input, Some(&r.config), &r.output) {
        report(&r.name, c);
    }
}

#[test]
fn example_policies_allow_exactly_the_graph() {
    let mut checked = Vec::new();
    for ex in crate::examples::rendered_examples() {
        let generated = ex.output.iter().any(|d| {
            d["kind"] == "NetworkPolicy"
                && d["metadata"]["annotations"]["apply-defaults.dev/generated"] == "true"
        });
        if !generated {
            continue;
        }
        let tmp = util::tempdir();
        let config = ex.config.as_ref().map(|c| {
            let p = tmp.path().join("config.yaml");
            std::fs::write(&p, apply_defaults::krm::yaml::to_string(c).expect("yaml"))
                .expect("write");
            p
        });
        let input = apply_defaults::krm::yaml::documents_to_string(&ex.input).expect("yaml");
        let what = format!("examples/{}", ex.name);
        let Some(c) = assert_oracle_agrees(&what, &input, config.as_deref(), &ex.output) else {
            return;
        };
        report(&what, c);
        checked.push(ex.name);
    }
    assert!(
        checked.len() >= 2,
        "the examples that generate policies were not all found: {checked:?}"
    );
}

/// The oracle can fail: one port dropped from one policy's ingress, or one extra open port,
/// and cyclonus' connectivity no longer equals the graph.
#[test]
fn a_changed_policy_is_caught() {
    let Some(cyclonus) = util::pinned_tool("CYCLONUS", "the NetworkPolicy oracle") else {
        return;
    };
    let Some(r) = crate::rendered::overlay("ai-interviewer", "prod") else {
        return;
    };
    let (intended, _) = intended_flows(&r.input, Some(&r.config), &r.output);
    let peers = || intended_flows(&r.input, Some(&r.config), &r.output).1;
    let policy = |docs: &mut Vec<Value>, name: &str| -> usize {
        docs.iter()
            .position(|d| d["kind"] == "NetworkPolicy" && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no policy {name}"))
    };
    // Postgres no longer admits the backend.
    let mut narrowed = r.output.clone();
    let i = policy(&mut narrowed, "ai-interviewer-postgres-netpol");
    let ingress = narrowed[i]["spec"]["ingress"]
        .as_array_mut()
        .expect("ingress rules");
    assert!(!ingress.is_empty());
    ingress.remove(0);
    let (allowed, _) = cyclonus_flows(&cyclonus, &narrowed, peers(), "narrowed");
    assert!(
        intended.difference(&allowed).next().is_some(),
        "cyclonus did not see the removed ingress rule"
    );
    // Redis admits every pod of the namespace and Grafana may call any pod: Grafana -> Redis
    // opens (one side alone opens nothing: traffic needs both the caller's egress and the
    // callee's ingress).
    let mut widened = r.output.clone();
    let i = policy(&mut widened, "ai-interviewer-redis-netpol");
    widened[i]["spec"]["ingress"]
        .as_array_mut()
        .expect("ingress rules")
        .push(json!({"from": [{"podSelector": {}}]}));
    let i = policy(&mut widened, "ai-interviewer-grafana-netpol");
    widened[i]["spec"]["egress"]
        .as_array_mut()
        .expect("egress rules")
        .push(json!({"to": [{"podSelector": {}}]}));
    let (allowed, _) = cyclonus_flows(&cyclonus, &widened, peers(), "widened");
    let extra: Vec<&Flow> = allowed.difference(&intended).collect();
    assert!(
        extra
            .iter()
            .any(|(f, t, p, _)| f.ends_with("/ai-interviewer-grafana")
                && t.ends_with("/ai-interviewer-redis")
                && *p == 6379),
        "cyclonus did not see the added rules: {extra:?}"
    );
}
