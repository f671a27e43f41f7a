//! Probes and hardened security through the binary: one golden per workload kind and per
//! default (user values win, opt-outs honoured), the Pod Security "restricted" checks written
//! out in code over both stacks' prod output, and Checkov over the same output.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::util;

const STACKS: &str = "probes_security/stacks-input.yaml";

/// Checkov checks that concern what these defaults (and resources) produce. All of them apply
/// to the stacks: probes (8, 9; Checkov skips Jobs and CronJobs), requests and limits (10-13),
/// no privilege escalation (20), read-only root filesystem (22), non-root (23), no added
/// capabilities (25), NET_RAW and ALL dropped (28, 37), pod and container securityContext (29,
/// 30), seccomp RuntimeDefault (31), no service-account token (38), UID >= 10000 (40).
const CHECKOV_CHECKS: &str = "CKV_K8S_8,CKV_K8S_9,CKV_K8S_10,CKV_K8S_11,CKV_K8S_12,CKV_K8S_13,CKV_K8S_20,\
CKV_K8S_22,CKV_K8S_23,CKV_K8S_25,CKV_K8S_28,CKV_K8S_29,CKV_K8S_30,CKV_K8S_31,CKV_K8S_37,CKV_K8S_38,CKV_K8S_40";

use crate::util::fn_config as config;

/// Runs the function; returns the items and the results.
fn run(items: &[Value], fc: &Value) -> (Vec<Value>, Vec<Value>) {
    let r = util::run(&[], &util::resource_list(items, Some(fc)));
    let r = r.expect_code(0);
    let rl = util::yaml(&r.stdout);
    let items = rl["items"].as_array().cloned().unwrap_or_default();
    let results = rl["results"].as_array().cloned().unwrap_or_default();
    (items, results)
}

/// Items as YAML, then the warnings, for a reviewed golden file.
fn render(items: &[Value], results: &[Value]) -> String {
    let mut text = apply_defaults::krm::yaml::documents_to_string(items).expect("writes");
    for r in results.iter().filter(|r| r["severity"] != "info") {
        let about = format!(
            "{}/{}",
            r["resourceRef"]["kind"].as_str().unwrap_or_default(),
            r["resourceRef"]["name"].as_str().unwrap_or_default()
        );
        text.push_str(&format!(
            "# {} {about}: {}\n",
            r["severity"].as_str().unwrap_or_default(),
            r["message"].as_str().unwrap_or_default()
        ));
    }
    text
}

fn only(defaults: &[&str]) -> Value {
    config(json!({"defaults": defaults}))
}

/// A pod spec with one API container on an http port.
fn api_pod() -> Value {
    json!({"containers": [{"name": "api", "image": "acme/api:1.0", "ports": [{"name": "http", "containerPort": 8080}]}]})
}

fn workload(kind: &str, pod: Value) -> Value {
    let meta = json!({"name": "app", "namespace": "demo", "annotations": {"apply-defaults.dev/class": "backend"}});
    let template = json!({"metadata": {"labels": {"app": "app"}}, "spec": pod});
    let (api, spec) = match kind {
        "Pod" => ("v1", template["spec"].clone()),
        "Job" => {
            let mut t = template.clone();
            t["spec"]["restartPolicy"] = json!("Never");
            ("batch/v1", json!({"template": t}))
        }
        "CronJob" => {
            let mut t = template.clone();
            t["spec"]["restartPolicy"] = json!("OnFailure");
            (
                "batch/v1",
                json!({"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": t}}}),
            )
        }
        _ => (
            "apps/v1",
            json!({"selector": {"matchLabels": {"app": "app"}}, "template": template}),
        ),
    };
    let mut w = json!({"apiVersion": api, "kind": kind, "metadata": meta, "spec": spec});
    if kind == "Pod" {
        w["metadata"]["labels"] = json!({"app": "app"});
    }
    w
}

#[test]
fn every_workload_kind() {
    for kind in [
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "CronJob",
        "Pod",
    ] {
        let (items, results) = run(&[workload(kind, api_pod())], &only(&["probes", "security"]));
        util::assert_golden(
            &format!("probes_security/kinds/{}.yaml", kind.to_lowercase()),
            &render(&items, &results),
        );
        let text = serde_json::to_string(&items[0]).unwrap();
        let has_probes = text.contains("readinessProbe");
        assert_eq!(has_probes, !matches!(kind, "Job" | "CronJob"), "{kind}");
        assert!(text.contains("RuntimeDefault"), "{kind}");
    }
}

#[test]
fn probes_alone_and_security_alone() {
    let w = workload("Deployment", api_pod());
    let (items, results) = run(std::slice::from_ref(&w), &only(&["probes"]));
    util::assert_golden(
        "probes_security/defaults/probes-only.yaml",
        &render(&items, &results),
    );
    assert!(
        items[0]["spec"]["template"]["spec"]
            .get("securityContext")
            .is_none()
    );
    let (items, results) = run(&[w], &only(&["security"]));
    util::assert_golden(
        "probes_security/defaults/security-only.yaml",
        &render(&items, &results),
    );
    assert!(
        items[0]["spec"]["template"]["spec"]["containers"][0]
            .get("readinessProbe")
            .is_none()
    );
}

#[test]
fn user_values_win() {
    let pod = json!({
        "automountServiceAccountToken": true,
        "securityContext": {"runAsUser": 999},
        "containers": [{"name": "api", "image": "acme/api:1.0", "ports": [{"name": "http", "containerPort": 8080}],
            "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}},
            "securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE"]}}}]});
    let (items, results) = run(
        &[workload("Deployment", pod)],
        &only(&["probes", "security"]),
    );
    util::assert_golden(
        "probes_security/defaults/user-values-win.yaml",
        &render(&items, &results),
    );
    let spec = &items[0]["spec"]["template"]["spec"];
    let c = &spec["containers"][0];
    assert_eq!(spec["automountServiceAccountToken"], true);
    assert_eq!(spec["securityContext"]["runAsUser"], 999);
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/ready");
    assert_eq!(c["livenessProbe"]["tcpSocket"]["port"], 8080);
    assert_eq!(
        c["securityContext"]["capabilities"],
        json!({"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]})
    );
    assert!(
        results
            .iter()
            .any(|r| r["severity"] == "warning" && r["message"].as_str().unwrap().contains("999"))
    );
}

#[test]
fn enforce_overrides_user_values() {
    let pod = json!({"securityContext": {"runAsUser": 999},
        "containers": [{"name": "api", "image": "acme/api:1.0", "ports": [{"name": "http", "containerPort": 8080}],
            "readinessProbe": {"tcpSocket": {"port": 8080}}}]});
    let fc = config(json!({"defaults": ["probes", "security"], "enforce": ["probes", "security"]}));
    let (items, _) = run(&[workload("Deployment", pod)], &fc);
    let spec = &items[0]["spec"]["template"]["spec"];
    assert_eq!(spec["securityContext"]["runAsUser"], 10001);
    assert_eq!(
        spec["containers"][0]["readinessProbe"],
        json!({"httpGet": {"path": "/health", "port": 8080}, "initialDelaySeconds": 10, "periodSeconds": 10})
    );
}

#[test]
fn opt_outs_are_honoured() {
    let pod = json!({"containers": [
        {"name": "api", "image": "acme/api:1.0", "ports": [{"name": "http", "containerPort": 8080}]},
        {"name": "istio-proxy", "image": "istio/proxyv2:1.22", "ports": [{"name": "http-envoy-prom", "containerPort": 15090}]}]});
    let mut w = workload("Deployment", pod);
    w["metadata"]["annotations"]["apply-defaults.dev/skip"] = json!("probes");
    w["spec"]["template"]["metadata"]["annotations"] =
        json!({"apply-defaults.dev/skip-containers": "istio-proxy"});
    let (items, results) = run(&[w], &only(&["probes", "security"]));
    util::assert_golden(
        "probes_security/defaults/opt-out.yaml",
        &render(&items, &results),
    );
    let spec = &items[0]["spec"]["template"]["spec"];
    for c in spec["containers"].as_array().unwrap() {
        assert!(c.get("readinessProbe").is_none() && c.get("livenessProbe").is_none());
    }
    assert!(spec["containers"][0].get("securityContext").is_some());
    assert!(spec["containers"][1].get("securityContext").is_none());
}

#[test]
fn no_port_and_no_known_image_warns() {
    let pod = json!({"containers": [{"name": "worker", "image": "acme/worker:1.0"}]});
    let (items, results) = run(&[workload("Deployment", pod)], &only(&["probes"]));
    assert!(
        items[0]["spec"]["template"]["spec"]["containers"][0]
            .get("livenessProbe")
            .is_none()
    );
    assert!(results.iter().any(|r| r["severity"] == "warning"
        && r["message"].as_str().unwrap().contains("no probes added")));
}

fn stacks_config() -> Value {
    // The shipped frontend class has no health path; a web frontend answers on `/`.
    // The AI Interviewer's own name matches live in its settings, not the shipped profile
    // (issue 15), so the tree's config names its workloads here too.
    config(json!({"environment": "prod", "classes": {
        "frontend": {"probes": {"path": "/"}},
        "backend": {"match": {"names": ["ai-interviewer-backend"]}},
        "mcp-agent": {"match": {"names": ["ai-interviewer-pdf-extractor-agent"]}},
        "llm-agent": {"match": {"names": ["ai-interviewer-claude-llm-agent"]}}}}))
}

fn stacks_output() -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    let input =
        std::fs::read_to_string(util::root().join("tests/golden").join(STACKS)).expect("fixture");
    let input = util::yaml_docs(&input);
    let (items, results) = run(&input, &stacks_config());
    (input, items, results)
}

fn pod_spec(item: &Value) -> Option<&Value> {
    match item["kind"].as_str()? {
        "Pod" => Some(&item["spec"]),
        "CronJob" => Some(&item["spec"]["jobTemplate"]["spec"]["template"]["spec"]),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            Some(&item["spec"]["template"]["spec"])
        }
        _ => None,
    }
}

fn list(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// The Pod Security Standards "restricted" profile (with baseline), as pod-security-admission
/// checks it, plus the stricter bars of kube-score and Checkov: UID/GID >= 10000, read-only
/// root filesystem, no service-account token.
fn restricted_violations(spec: &Value) -> Vec<String> {
    let mut v = Vec::new();
    for f in ["hostNetwork", "hostPID", "hostIPC"] {
        if spec[f] == true {
            v.push(format!("{f} is true"));
        }
    }
    let allowed = [
        "configMap",
        "downwardAPI",
        "emptyDir",
        "projected",
        "secret",
        "csi",
        "persistentVolumeClaim",
        "ephemeral",
        "image",
    ];
    for vol in list(&spec["volumes"]) {
        let types: Vec<&String> = vol
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "name")
            .collect();
        if types.iter().any(|t| !allowed.contains(&t.as_str())) {
            v.push(format!("volume {} has type {types:?}", vol["name"]));
        }
    }
    let pod = &spec["securityContext"];
    let containers: Vec<&Value> = ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .flat_map(|k| list(&spec[*k]))
        .collect();
    let seccomp_ok = |t: &Value| t == "RuntimeDefault" || t == "Localhost";
    for c in &containers {
        let sc = &c["securityContext"];
        let name = c["name"].as_str().unwrap_or("?");
        if sc["privileged"] == true {
            v.push(format!("{name}: privileged"));
        }
        if sc["allowPrivilegeEscalation"] != false {
            v.push(format!("{name}: allowPrivilegeEscalation is not false"));
        }
        if !list(&sc["capabilities"]["drop"]).iter().any(|d| d == "ALL") {
            v.push(format!("{name}: capabilities.drop lacks ALL"));
        }
        if list(&sc["capabilities"]["add"])
            .iter()
            .any(|a| a != "NET_BIND_SERVICE")
        {
            v.push(format!("{name}: adds capabilities beyond NET_BIND_SERVICE"));
        }
        if list(&c["ports"])
            .iter()
            .any(|p| p.get("hostPort").is_some_and(|h| h != 0))
        {
            v.push(format!("{name}: hostPort"));
        }
        if pod["runAsNonRoot"] != true && sc["runAsNonRoot"] != true {
            v.push(format!("{name}: runAsNonRoot not set"));
        }
        if sc["runAsNonRoot"] == false {
            v.push(format!("{name}: runAsNonRoot false"));
        }
        if !seccomp_ok(&pod["seccompProfile"]["type"]) && !seccomp_ok(&sc["seccompProfile"]["type"])
        {
            v.push(format!("{name}: no seccomp profile"));
        }
        if sc["seccompProfile"]["type"] == "Unconfined" {
            v.push(format!("{name}: seccomp Unconfined"));
        }
        for (field, what) in [("runAsUser", "UID"), ("runAsGroup", "GID")] {
            let id = sc[field].as_i64().or(pod[field].as_i64());
            if id.is_none_or(|id| id < 10000) {
                v.push(format!("{name}: {what} {id:?} below 10000"));
            }
        }
        if sc["readOnlyRootFilesystem"] != true {
            v.push(format!("{name}: root filesystem writable"));
        } else if !list(&c["volumeMounts"])
            .iter()
            .any(|m| m["mountPath"] == "/tmp")
        {
            v.push(format!("{name}: read-only root without a writable /tmp"));
        }
        if sc.get("procMount").is_some_and(|p| p != "Default") {
            v.push(format!("{name}: procMount"));
        }
    }
    if pod["runAsUser"] == 0
        || containers
            .iter()
            .any(|c| c["securityContext"]["runAsUser"] == 0)
    {
        v.push("runAsUser 0".into());
    }
    if pod["seccompProfile"]["type"] == "Unconfined" {
        v.push("pod seccomp Unconfined".into());
    }
    if spec["automountServiceAccountToken"] != false {
        v.push("service-account token mounted".into());
    }
    v
}

/// kube-score's identical-probe rule, with named ports resolved.
fn same_check(a: &Value, b: &Value, ports: &[Value]) -> bool {
    let port = |p: &Value| -> Value {
        p.as_str()
            .and_then(|n| ports.iter().find(|x| x["name"] == n))
            .map_or(p.clone(), |x| x["containerPort"].clone())
    };
    let pairs = [("httpGet", true), ("tcpSocket", false), ("grpc", false)];
    for (h, with_path) in pairs {
        if let (Some(x), Some(y)) = (a.get(h), b.get(h)) {
            return port(&x["port"]) == port(&y["port"]) && (!with_path || x["path"] == y["path"]);
        }
    }
    matches!((a.get("exec"), b.get("exec")), (Some(x), Some(y)) if x == y)
}

#[test]
fn stacks_pass_pod_security_restricted_and_probe_rules() {
    let (input, items, results) = stacks_output();
    util::assert_golden(
        "probes_security/stacks-prod.yaml",
        &render(&items, &results),
    );
    let user_pairs: BTreeSet<String> = input
        .iter()
        .filter(|i| {
            pod_spec(i).is_some_and(|s| {
                list(&s["containers"])
                    .iter()
                    .any(|c| c.get("livenessProbe").is_some())
            })
        })
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    let mut workloads = 0;
    for item in &items {
        let Some(spec) = pod_spec(item) else { continue };
        workloads += 1;
        let name = item["metadata"]["name"].as_str().unwrap();
        let problems = restricted_violations(spec);
        assert!(problems.is_empty(), "{} {name}: {problems:?}", item["kind"]);
        if matches!(item["kind"].as_str(), Some("Job" | "CronJob")) {
            assert!(
                !serde_json::to_string(spec).unwrap().contains("Probe"),
                "{name} got probes"
            );
            continue;
        }
        for c in list(&spec["containers"]) {
            let ports = list(&c["ports"]);
            let (r, l) = (&c["readinessProbe"], &c["livenessProbe"]);
            assert!(r.is_object() && l.is_object(), "{name}: probes missing");
            for probe in [r, l, &c["startupProbe"]] {
                for h in ["httpGet", "tcpSocket", "grpc"] {
                    if let Some(p) = probe.get(h) {
                        let declared = ports
                            .iter()
                            .any(|x| x["containerPort"] == p["port"] || x["name"] == p["port"]);
                        assert!(
                            declared,
                            "{name}: probe port {} is not a declared containerPort",
                            p["port"]
                        );
                    }
                }
            }
            if !user_pairs.contains(name) {
                assert!(
                    !same_check(r, l, ports),
                    "{name}: identical readiness and liveness"
                );
            }
        }
    }
    assert_eq!(workloads, 15);
    // The plan's identical pair is kept and reported.
    assert!(results.iter().any(
        |r| r["severity"] == "warning" && r["message"].as_str().unwrap().contains("identical")
    ));

    // Running again changes nothing.
    let (again, _) = run(&items, &stacks_config());
    assert_eq!(again, items);
}

#[test]
fn stacks_pass_checkov() {
    let Some(checkov) = util::require_tool(
        "checkov",
        "Checkov's Kubernetes checks over the hardened stacks",
    ) else {
        return;
    };
    let (_, items, _) = stacks_output();
    let dir = util::tempdir();
    let file = dir.path().join("stacks.yaml");
    std::fs::write(
        &file,
        apply_defaults::krm::yaml::documents_to_string(&items).unwrap(),
    )
    .unwrap();
    let r = util::run_cmd(
        std::process::Command::new(checkov)
            .args([
                "--framework",
                "kubernetes",
                "--quiet",
                "--compact",
                "-o",
                "json",
                "--skip-download",
                "--check",
                CHECKOV_CHECKS,
                "-f",
            ])
            .arg(&file)
            .env("BC_SKIP_MAPPING", "TRUE"),
        "",
    );
    let report: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| {
        panic!(
            "checkov output is not JSON ({e}): {}\n{}",
            r.stdout, r.stderr
        )
    });
    let failed: Vec<String> = list(&report["results"]["failed_checks"])
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["check_id"].as_str().unwrap_or_default(),
                f["resource"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert!(failed.is_empty(), "checkov failed: {failed:#?}");
    let passed = report["summary"]["passed"].as_u64().unwrap_or(0);
    assert!(
        passed > 200,
        "checkov ran only {passed} checks: {}",
        report["summary"]
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}
