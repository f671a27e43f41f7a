//! Replicas per environment, HPA, PDB and spreading, through the binary. Each run restricts
//! the function to these four defaults so the goldens show only what they do; the plans'
//! numbers are asserted explicitly besides the goldens.

use serde_json::{Value, json};

use crate::util::{self, assert_golden, resource_list, run, yaml};

const MINE: [&str; 4] = ["replicas", "autoscaling", "disruption-budget", "spreading"];

fn fc(env: &str, extra: Value) -> Value {
    let mut spec = json!({"environment": env, "defaults": MINE});
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    json!({"apiVersion": "apply-defaults.dev/v1alpha1", "kind": "ApplyDefaults",
        "metadata": {"name": "defaults", "annotations": {"config.kubernetes.io/local-config": "true"}}, "spec": spec})
}

/// The plans' FastAPI backend, as a user would write it (no replicas).
fn backend() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "backend", "namespace": "interview-prep",
            "labels": {"app.kubernetes.io/name": "backend", "app.kubernetes.io/part-of": "interview-prep", "team": "core"},
            "annotations": {"internal.config.kubernetes.io/path": "base/backend.yaml", "config.kubernetes.io/path": "base/backend.yaml"}},
        "spec": {
            "selector": {"matchLabels": {"app": "backend"}},
            "template": {
                "metadata": {"labels": {"app": "backend", "app.kubernetes.io/name": "backend"}},
                "spec": {"containers": [{"name": "api", "image": "ghcr.io/example/backend:1.4.2",
                    "ports": [{"name": "http", "containerPort": 8000}],
                    "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}}}]}
            }
        }
    })
}

fn with_spec(mut item: Value, key: &str, v: Value) -> Value {
    item["spec"][key] = v;
    item
}

fn annotated(mut item: Value, key: &str, v: &str) -> Value {
    item["metadata"]["annotations"][key] = json!(v);
    item
}

/// Runs the function; returns (stdout, parsed ResourceList).
fn apply(items: &[Value], fc: &Value) -> (String, Value) {
    let r = run(&[], &resource_list(items, Some(fc))).expect_code(0);
    let rl = yaml(&r.stdout);
    (r.stdout, rl)
}

fn find<'a>(rl: &'a Value, kind: &str, name: &str) -> Option<&'a Value> {
    rl["items"]
        .as_array()?
        .iter()
        .find(|i| i["kind"] == kind && i["metadata"]["name"] == name)
}

fn kinds(rl: &Value) -> Vec<String> {
    rl["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| i["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn messages(rl: &Value) -> Vec<String> {
    rl["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            format!(
                "{}: {}",
                r["severity"].as_str().unwrap_or_default(),
                r["message"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

fn pod_spec(rl: &Value, kind: &str, name: &str) -> Value {
    find(rl, kind, name).expect("workload in output")["spec"]["template"]["spec"].clone()
}

#[test]
fn backend_dev_has_two_replicas_and_nothing_else() {
    let (out, rl) = apply(&[backend()], &fc("dev", json!({})));
    assert_golden("replicas/backend-dev.yaml", &out);
    let d = find(&rl, "Deployment", "backend").expect("backend");
    assert_eq!(
        d["spec"]["replicas"], 2,
        "the plan's dev backend runs 2 replicas"
    );
    assert_eq!(kinds(&rl), ["Deployment"], "dev: no HPA, no PDB");
    assert!(
        pod_spec(&rl, "Deployment", "backend")
            .get("affinity")
            .is_none(),
        "dev: no spreading"
    );
}

#[test]
fn backend_prod_gets_the_plans_hpa_pdb_and_spreading() {
    let (out, rl) = apply(&[backend()], &fc("prod", json!({})));
    assert_golden("replicas/backend-prod.yaml", &out);
    let d = find(&rl, "Deployment", "backend").expect("backend");
    assert!(
        d["spec"].get("replicas").is_none(),
        "the HPA owns the count"
    );

    let hpa = find(&rl, "HorizontalPodAutoscaler", "backend").expect("HPA generated");
    assert_eq!(hpa["apiVersion"], "autoscaling/v2");
    assert_eq!(hpa["metadata"]["namespace"], "interview-prep");
    assert_eq!(
        hpa["spec"]["scaleTargetRef"],
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "backend"})
    );
    assert_eq!(hpa["spec"]["minReplicas"], 2);
    assert_eq!(hpa["spec"]["maxReplicas"], 5);
    assert_eq!(
        hpa["spec"]["metrics"],
        json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}])
    );
    assert_eq!(
        hpa["metadata"]["labels"],
        json!({"app.kubernetes.io/name": "backend", "app.kubernetes.io/part-of": "interview-prep"}),
        "only app.kubernetes.io/* labels"
    );
    assert_eq!(
        hpa["metadata"]["annotations"]["apply-defaults.dev/generated"],
        "true"
    );
    assert_eq!(
        hpa["metadata"]["annotations"]["internal.config.kubernetes.io/path"],
        "base/horizontalpodautoscaler_backend.yaml"
    );

    let pdb = find(&rl, "PodDisruptionBudget", "backend").expect("PDB generated");
    assert_eq!(pdb["apiVersion"], "policy/v1");
    assert_eq!(pdb["spec"]["maxUnavailable"], 1);
    assert_eq!(pdb["spec"]["unhealthyPodEvictionPolicy"], "AlwaysAllow");
    assert_eq!(
        pdb["spec"]["selector"],
        json!({"matchLabels": {"app": "backend"}})
    );
    assert_eq!(
        pdb["metadata"]["annotations"]["config.kubernetes.io/path"],
        "base/poddisruptionbudget_backend.yaml"
    );

    let spec = pod_spec(&rl, "Deployment", "backend");
    let pod_labels = json!({"app": "backend", "app.kubernetes.io/name": "backend"});
    assert_eq!(
        spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"],
        json!([{"weight": 100, "podAffinityTerm": {"labelSelector": {"matchLabels": pod_labels}, "topologyKey": "kubernetes.io/hostname"}}])
    );
    assert_eq!(
        spec["topologySpreadConstraints"],
        json!([{"labelSelector": {"matchLabels": pod_labels}, "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway"}])
    );
}

#[test]
fn prod_removes_a_written_count_with_an_info() {
    let (_, rl) = apply(
        // Issue 15: a written count wins over the class's HPA unless enforce names autoscaling.
        &[with_spec(backend(), "replicas", json!(3))],
        &fc(
            "prod",
            json!({"results": {"perField": true}, "enforce": ["autoscaling"]}),
        ),
    );
    assert!(
        find(&rl, "Deployment", "backend").expect("backend")["spec"]
            .get("replicas")
            .is_none()
    );
    let removal = rl["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| {
            r["field"]["path"] == "spec.replicas" && r["message"] == "set autoscaling default"
        })
        .expect("the removal is a recorded change");
    assert_eq!(removal["field"]["proposedValue"], Value::Null);
    assert!(
        messages(&rl).iter().any(|m| m.starts_with(
            "info: removed spec.replicas: HorizontalPodAutoscaler/backend sets the replica count"
        )),
        "{:?}",
        messages(&rl)
    );
}

#[test]
fn user_count_wins_in_dev() {
    let (out, rl) = apply(
        &[with_spec(backend(), "replicas", json!(4))],
        &fc("dev", json!({})),
    );
    assert_golden("replicas/user-count-dev.yaml", &out);
    assert_eq!(
        find(&rl, "Deployment", "backend").expect("backend")["spec"]["replicas"],
        4
    );
    assert!(
        messages(&rl).is_empty(),
        "nothing changed, nothing said: {:?}",
        messages(&rl)
    );
}

#[test]
fn enforce_overwrites_the_count() {
    let (_, rl) = apply(
        &[with_spec(backend(), "replicas", json!(4))],
        &fc("dev", json!({"enforce": ["replicas"]})),
    );
    assert_eq!(
        find(&rl, "Deployment", "backend").expect("backend")["spec"]["replicas"],
        2
    );
}

#[test]
fn each_default_can_be_opted_out() {
    let skip = |what: &str| annotated(backend(), "apply-defaults.dev/skip", what);

    // Without the HPA, prod's own count (3) applies, and 3 pods get a PDB and spreading.
    let (out, rl) = apply(&[skip("autoscaling")], &fc("prod", json!({})));
    assert_golden("replicas/optout-autoscaling-prod.yaml", &out);
    assert_eq!(
        find(&rl, "Deployment", "backend").expect("backend")["spec"]["replicas"],
        3
    );
    assert_eq!(kinds(&rl), ["Deployment", "PodDisruptionBudget"]);
    assert!(pod_spec(&rl, "Deployment", "backend")["affinity"].is_object());

    let (_, rl) = apply(&[skip("disruption-budget")], &fc("prod", json!({})));
    assert_eq!(kinds(&rl), ["Deployment", "HorizontalPodAutoscaler"]);

    let (_, rl) = apply(&[skip("spreading")], &fc("prod", json!({})));
    let spec = pod_spec(&rl, "Deployment", "backend");
    assert!(spec.get("affinity").is_none() && spec.get("topologySpreadConstraints").is_none());
    assert_eq!(
        kinds(&rl),
        [
            "Deployment",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget"
        ]
    );

    let (_, rl) = apply(&[skip("replicas")], &fc("dev", json!({})));
    assert!(
        find(&rl, "Deployment", "backend").expect("backend")["spec"]
            .get("replicas")
            .is_none()
    );
}

#[test]
fn user_hpa_and_pdb_are_respected() {
    let hpa = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "backend-hpa", "namespace": "interview-prep"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "backend"},
            "minReplicas": 3, "maxReplicas": 8, "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}]}});
    let (out, rl) = apply(
        &[with_spec(backend(), "replicas", json!(3)), hpa.clone()],
        &fc("prod", json!({})),
    );
    assert_golden("replicas/user-hpa-prod.yaml", &out);
    assert!(
        find(&rl, "HorizontalPodAutoscaler", "backend").is_none(),
        "no second HPA"
    );
    assert_eq!(
        find(&rl, "HorizontalPodAutoscaler", "backend-hpa"),
        Some(&hpa),
        "the user's HPA untouched"
    );
    assert!(
        find(&rl, "Deployment", "backend").expect("backend")["spec"]
            .get("replicas")
            .is_none()
    );
    assert!(messages(&rl).iter().any(|m| m.contains("removed spec.replicas: the user's HorizontalPodAutoscaler/backend-hpa sets the replica count")), "{:?}", messages(&rl));
    assert!(
        find(&rl, "PodDisruptionBudget", "backend").is_some(),
        "the user's HPA keeps 3+ pods"
    );

    let pdb = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "backend-pdb", "namespace": "interview-prep"},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "backend"}}}});
    let (_, rl) = apply(&[backend(), pdb], &fc("prod", json!({})));
    assert_eq!(
        kinds(&rl),
        [
            "Deployment",
            "PodDisruptionBudget",
            "HorizontalPodAutoscaler"
        ]
    );
    assert!(
        find(&rl, "PodDisruptionBudget", "backend").is_none(),
        "two budgets over one pod make it unevictable"
    );
    assert!(
        messages(&rl)
            .iter()
            .any(|m| m.contains("PodDisruptionBudget/backend-pdb already selects these pods")),
        "{:?}",
        messages(&rl)
    );
}

fn postgres() -> Value {
    json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "postgres", "namespace": "interview-prep", "labels": {"app.kubernetes.io/name": "postgres"}},
        "spec": {"serviceName": "postgres", "selector": {"matchLabels": {"app": "postgres"}},
            "template": {"metadata": {"labels": {"app": "postgres"}},
                "spec": {"containers": [{"name": "postgres", "image": "postgres:16-alpine", "ports": [{"containerPort": 5432}]}]}}}})
}

#[test]
fn statefulset_postgres_stays_single_without_pdb() {
    let (out, rl) = apply(&[postgres()], &fc("prod", json!({})));
    assert_golden("replicas/postgres-prod.yaml", &out);
    let s = find(&rl, "StatefulSet", "postgres").expect("postgres");
    assert_eq!(
        s["spec"]["replicas"], 1,
        "the plans keep data stores at one replica"
    );
    assert_eq!(kinds(&rl), ["StatefulSet"], "no HPA, no PDB");
    assert!(s["spec"]["template"]["spec"].get("affinity").is_none());
}

#[test]
fn daemonsets_and_jobs_are_untouched() {
    let ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "node-agent", "namespace": "ops"},
        "spec": {"selector": {"matchLabels": {"app": "node-agent"}}, "template": {"metadata": {"labels": {"app": "node-agent"}},
            "spec": {"containers": [{"name": "agent", "image": "example/agent:1"}]}}}});
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate-backend", "namespace": "ops"},
        "spec": {"template": {"metadata": {"labels": {"app": "migrate"}}, "spec": {"restartPolicy": "Never",
            "containers": [{"name": "migrate", "image": "example/backend:1"}]}}}});
    let cron = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "report", "namespace": "ops"},
        "spec": {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "r", "image": "example/report:1"}]}}}}}});
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug", "namespace": "ops", "labels": {"app": "debug"}},
        "spec": {"containers": [{"name": "sh", "image": "busybox"}]}});
    let input = [ds, job, cron, pod];
    for env in ["dev", "prod"] {
        let (_, rl) = apply(&input, &fc(env, json!({})));
        assert_eq!(
            rl["items"],
            json!(input),
            "{env}: none of these kinds get replicas, HPA, PDB or spreading"
        );
        assert!(messages(&rl).is_empty(), "{env}: {:?}", messages(&rl));
    }
}

#[test]
fn a_second_run_is_a_no_op() {
    for (env, config) in [
        ("dev", fc("dev", json!({}))),
        ("prod", fc("prod", json!({}))),
    ] {
        let input = [
            backend(),
            with_spec(backend(), "replicas", json!(5)),
            postgres(),
        ];
        let mut input = input.to_vec();
        input[1]["metadata"]["name"] = json!("worker-backend");
        let (_, first) = apply(&input, &config);
        let items: Vec<Value> = first["items"].as_array().expect("items").clone();
        let (_, second) = apply(&items, &config);
        assert_eq!(
            second["items"], first["items"],
            "{env}: the second run changed the output"
        );
        let said = messages(&second);
        assert!(
            !said
                .iter()
                .any(|m| m.contains("applied") || m.contains("generated") || m.contains("removed")),
            "{env}: {said:?}"
        );
    }
}

#[test]
fn hpa_without_cpu_requests_warns_when_resources_are_opted_out() {
    let mut d = annotated(backend(), "apply-defaults.dev/skip", "resources");
    d["spec"]["template"]["spec"]["containers"][0]
        .as_object_mut()
        .expect("container")
        .remove("resources");
    let mut config = fc("prod", json!({}));
    config["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("defaults");
    let (_, rl) = apply(&[d], &config);
    assert!(find(&rl, "HorizontalPodAutoscaler", "backend").is_some());
    assert!(
        messages(&rl).iter().any(|m| m
            .starts_with("warning: spec.template.spec.containers[name=api] has no cpu request")),
        "{:?}",
        messages(&rl)
    );
}

#[test]
fn check_mode_reports_and_changes_nothing() {
    let input = [with_spec(backend(), "replicas", json!(3))];
    let r = run(
        &["check"],
        // Issue 15: the written count is removed only when enforce names autoscaling.
        &resource_list(
            &input,
            Some(&fc("prod", json!({"enforce": ["autoscaling"]}))),
        ),
    )
    .expect_code(1);
    let rl = yaml(&r.stdout);
    assert_eq!(rl["items"], json!(input));
    let said = messages(&rl);
    for wanted in [
        "error: missing HorizontalPodAutoscaler/interview-prep/backend (check mode)",
        "error: missing PodDisruptionBudget/interview-prep/backend (check mode)",
        "error: missing autoscaling default (check mode)",
        "error: missing spreading default (check mode)",
        "info: spec.replicas would be removed: HorizontalPodAutoscaler/backend sets the replica count",
    ] {
        assert!(
            said.iter().any(|m| m.starts_with(wanted)),
            "no `{wanted}` in {said:?}"
        );
    }
}

#[test]
fn generated_resources_pass_the_kubernetes_schema() {
    let Some(tool) = util::require_tool(
        "kubernetes-validate",
        "checks the HPA, PDB and spreading against the Kubernetes 1.33 OpenAPI schema",
    ) else {
        return;
    };
    let skip = annotated(backend(), "apply-defaults.dev/skip", "autoscaling");
    let mut items = Vec::new();
    for input in [backend(), skip] {
        let (_, rl) = apply(&[input], &fc("prod", json!({})));
        items.extend(rl["items"].as_array().expect("items").iter().cloned());
    }
    assert_eq!(items.len(), 5, "two Deployments, one HPA, two PDBs");
    let dir = util::tempdir();
    let file = dir.path().join("prod.yaml");
    let text = apply_defaults::krm::yaml::documents_to_string(&items).expect("writes");
    std::fs::write(&file, text).expect("write manifests");
    let r = util::run_cmd(
        std::process::Command::new(tool)
            .args(["-k", "1.33.0", "--strict"])
            .arg(&file),
        "",
    );
    assert_eq!(
        r.code, 0,
        "kubernetes-validate failed:\n{}\n{}",
        r.stdout, r.stderr
    );
    assert_eq!(r.stdout.matches("passed").count(), 5, "{}", r.stdout);
}
