//! Issue 15, "Hardening and scaling that never break a workload": one test per case, on
//! fixtures under `tests/testdata/hardening/` written in the shapes real charts and operators
//! render (none is a third-party file). Tests that fail today are `#[ignore = "issue 15 item
//! N: ..."]`; `cargo test --test tests hardening:: -- --include-ignored` shows the target.
//!
//! Choices this module assumes where the issue leaves one (what a platform engineer expects
//! from kustomize, the kpt catalog, Kyverno's Pod Security policies and Bitnami's presets):
//! - Tokens: a kept token means `automountServiceAccountToken` left unset (or as written),
//!   never written `true` by the function. The deciding rule is an `info` result on the
//!   workload naming the ServiceAccount and the binding (kind and name) or the account's own
//!   `automountServiceAccountToken: true`. Only bindings whose subject names the account in
//!   the workload's namespace count.
//! - Null is empty: `null` lists are read as empty; the function may write them back as `[]`,
//!   drop them, or fill them, but every mount names a volume the pod has, and a `null`
//!   securityContext / capabilities gets the same hardening an absent one gets.
//! - User replica counts: a written `spec.replicas` is kept and no HPA is generated over it;
//!   an `info` result names `replicas` and `autoscaling` so the user sees why. With
//!   `enforce: [autoscaling]` the HPA is generated and a `warning` names `replicas`. Singleton
//!   signals (`strategy: Recreate`, a ReadWriteOnce claim, `replicas: 1`) get no generated HPA
//!   and no PDB that blocks eviction of their only pod (`minAvailable`, `maxUnavailable: 0`).
//! - Classes: the shipped profile's `match.names` contain no `*` glob and its
//!   `match.components` none of the generic words `server`, `storage`, `agent`, `backend`;
//!   image globs over registries (`*/postgres`) stay. The AI Interviewer's name matches move to
//!   `functions/settings/base/apply-defaults.yaml`; the implementer checks that
//!   `tests/golden/stacks/**` stay byte-identical after the move (tests/stacks.rs does).
//! - Known images (table: `testdata/hardening/known-images.yaml`): the function runs a known
//!   image as the non-root UID/GID it is built for when the manifest sets none (Bitnami's and
//!   the images' own docs' choice; a UID below 10000 may get a Checkov note, not a change),
//!   an emptyDir on each path it writes, never an emptyDir at or above a path it ships files
//!   in, and a `warning` naming a path it writes that holds shipped files.
//! - Unknown images keep `readOnlyRootFilesystem: true` with a `warning` naming `/tmp` (the
//!   writable path given) and the opt-out (`readOnlyRootFilesystem` / `apply-defaults.dev/skip`).
//! - Low ports: the pod gets the sysctl `net.ipv4.ip_unprivileged_port_start` set to the lowest
//!   port below 1024 a container declares (a value at or below it passes), runs non-root, and
//!   an `info` result names the sysctl; no NET_BIND_SERVICE is added.
//! - Check mode: no error result whose field is a probe's `periodSeconds`, `timeoutSeconds`,
//!   `successThreshold` or `failureThreshold` (the API server fills them).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::util;

fn fixture(name: &str) -> Vec<Value> {
    let path = util::root().join("tests/testdata/hardening").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    util::yaml_docs(&text)
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

fn config(spec: Value) -> Value {
    json!({"apiVersion": "apply-defaults.dev/v1alpha1", "kind": "ApplyDefaults",
        "metadata": {"name": "fn", "annotations": {"config.kubernetes.io/local-config": "true"}}, "spec": spec})
}

fn prod() -> Value {
    config(json!({"environment": "prod"}))
}

fn prod_with(extra: Value) -> Value {
    let mut spec = json!({"environment": "prod"});
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    config(spec)
}

/// Runs the function (exit 0 expected); returns the items and the results.
fn apply(items: &[Value], fc: &Value) -> (Vec<Value>, Vec<Value>) {
    let r = util::run(&[], &util::resource_list(items, Some(fc))).expect_code(0);
    let rl = util::yaml(&r.stdout);
    (
        rl["items"].as_array().cloned().unwrap_or_default(),
        rl["results"].as_array().cloned().unwrap_or_default(),
    )
}

fn find<'a>(items: &'a [Value], kind: &str, name: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["kind"] == kind && i["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind}/{name} in the output"))
}

/// The pod spec of a workload of the built-in kinds.
fn pod_spec(item: &Value) -> Option<&Value> {
    let s = match item["kind"].as_str()? {
        "Pod" => &item["spec"],
        "CronJob" => &item["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "Job"
        | "ReplicationController"
        | "Rollout" => &item["spec"]["template"]["spec"],
        _ => return None,
    };
    s.is_object().then_some(s)
}

fn pod_labels(item: &Value) -> &Value {
    match item["kind"].as_str() {
        Some("Pod") => &item["metadata"]["labels"],
        _ => &item["spec"]["template"]["metadata"]["labels"],
    }
}

fn list(v: &Value) -> Vec<&Value> {
    v.as_array().map(|a| a.iter().collect()).unwrap_or_default()
}

/// Every container of the pod: init, app and ephemeral.
fn all_containers(spec: &Value) -> Vec<&Value> {
    ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .flat_map(|k| list(&spec[*k]))
        .collect()
}

fn container<'a>(item: &'a Value, name: &str) -> &'a Value {
    let spec = pod_spec(item).expect("a workload");
    all_containers(spec)
        .into_iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no container {name}"))
}

/// `kind/name container -> volume` for every mount (or device) naming a volume the pod lacks.
fn missing_mounts(item: &Value) -> Vec<String> {
    let Some(spec) = pod_spec(item) else {
        return Vec::new();
    };
    let mut names: BTreeSet<&str> = list(&spec["volumes"])
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    if item["kind"] == "StatefulSet" {
        names.extend(
            list(&item["spec"]["volumeClaimTemplates"])
                .iter()
                .filter_map(|t| t["metadata"]["name"].as_str()),
        );
    }
    let mut out = Vec::new();
    for c in all_containers(spec) {
        for m in list(&c["volumeMounts"])
            .into_iter()
            .chain(list(&c["volumeDevices"]))
        {
            let v = m["name"].as_str().unwrap_or_default();
            if !names.contains(v) {
                out.push(format!(
                    "{}/{} container {} mounts `{v}`, which the pod does not have",
                    item["kind"].as_str().unwrap_or_default(),
                    item["metadata"]["name"].as_str().unwrap_or_default(),
                    c["name"].as_str().unwrap_or_default()
                ));
            }
        }
    }
    out
}

fn about<'a>(results: &'a [Value], name: &str) -> Vec<&'a Value> {
    results
        .iter()
        .filter(|r| r["resourceRef"]["name"] == name)
        .collect()
}

/// True when a result about `name` has this severity and a message containing every word.
fn said(results: &[Value], severity: &str, name: &str, words: &[&str]) -> bool {
    about(results, name).iter().any(|r| {
        r["severity"] == severity
            && words
                .iter()
                .all(|w| r["message"].as_str().unwrap_or_default().contains(w))
    })
}

fn dump(results: &[Value], name: &str) -> String {
    about(results, name)
        .iter()
        .map(|r| {
            format!(
                "  {}: {}\n",
                r["severity"].as_str().unwrap_or_default(),
                r["message"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// The class the function reports for a workload (`applied ... [class X]`), if any.
fn class_of(results: &[Value], name: &str) -> Option<String> {
    about(results, name).iter().find_map(|r| {
        let m = r["message"].as_str()?;
        let start = m.find("[class ")? + "[class ".len();
        let end = m[start..].find(']')? + start;
        Some(m[start..end].to_string())
    })
}

fn hpas_for<'a>(items: &'a [Value], name: &str) -> Vec<&'a Value> {
    items
        .iter()
        .filter(|i| {
            i["kind"] == "HorizontalPodAutoscaler" && i["spec"]["scaleTargetRef"]["name"] == name
        })
        .collect()
}

fn pdbs_for<'a>(items: &'a [Value], workload: &Value) -> Vec<&'a Value> {
    let labels = pod_labels(workload);
    items
        .iter()
        .filter(|i| i["kind"] == "PodDisruptionBudget")
        .filter(|p| {
            p["spec"]["selector"]["matchLabels"]
                .as_object()
                .is_some_and(|m| !m.is_empty() && m.iter().all(|(k, v)| labels[k] == *v))
        })
        .collect()
}

fn token(item: &Value) -> Value {
    pod_spec(item).expect("a workload")["automountServiceAccountToken"].clone()
}

// ---------------------------------------------------------------------------------------
// Item 1: tokens

#[test]
fn bound_service_accounts_keep_their_token() {
    let (items, results) = apply(&fixture("cert-operator.yaml"), &prod());
    for (deploy, sa, binding) in [
        (
            "certs",
            "certs",
            ["ClusterRoleBinding", "certs-controller-issuers"],
        ),
        (
            "certs-webhook",
            "certs-webhook",
            ["RoleBinding", "certs-webhook:dynamic-serving"],
        ),
        (
            "certs-cainjector",
            "certs-cainjector",
            ["ClusterRoleBinding", "certs-cainjector"],
        ),
        (
            "certs-startupapicheck",
            "certs-startupapicheck",
            ["RoleBinding", "certs-startupapicheck:create-cert"],
        ),
    ] {
        let kind = if deploy == "certs-startupapicheck" {
            "Job"
        } else {
            "Deployment"
        };
        let d = find(&items, kind, deploy);
        assert_ne!(token(d), json!(false), "{deploy} lost its token");
        assert!(
            said(&results, "info", deploy, &[sa, binding[0], binding[1]])
                || (deploy == "certs-cainjector"
                    && said(
                        &results,
                        "info",
                        deploy,
                        &[sa, "automountServiceAccountToken"]
                    )),
            "{deploy}: no info result naming the rule that kept the token:\n{}",
            dump(&results, deploy)
        );
    }
}

#[test]
fn unbound_workload_loses_the_token() {
    let (items, _) = apply(&fixture("unbound.yaml"), &prod());
    assert_eq!(token(find(&items, "Deployment", "shop-cart")), json!(false));
}

#[test]
fn service_account_asking_for_the_token_keeps_it() {
    let (items, results) = apply(&fixture("unbound.yaml"), &prod());
    assert_ne!(token(find(&items, "Deployment", "shop-sync")), json!(false));
    assert!(
        said(
            &results,
            "info",
            "shop-sync",
            &["shop-sync", "automountServiceAccountToken"]
        ),
        "{}",
        dump(&results, "shop-sync")
    );
}

// ---------------------------------------------------------------------------------------
// Item 2: null is empty

#[test]
fn helm_nulls_are_read_as_empty() {
    let input = fixture("helm-nulls.yaml");
    let (items, _) = apply(&input, &prod());
    for w in items.iter().filter(|i| pod_spec(i).is_some()) {
        assert_eq!(missing_mounts(w), Vec::<String>::new());
    }
    let web = find(&items, "Deployment", "chart-web");
    let spec = pod_spec(web).unwrap();
    assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
    let c = container(web, "chart-web");
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["securityContext"]["capabilities"]["drop"], json!(["ALL"]));
    for key in ["env", "envFrom", "ports", "volumeMounts"] {
        assert!(
            c[key].is_null() || c[key].is_array(),
            "{key} is neither absent/null nor a list: {}",
            c[key]
        );
    }
    let store = find(&items, "StatefulSet", "chart-store");
    for name in ["init", "store"] {
        let c = container(store, name);
        assert_eq!(
            c["securityContext"]["readOnlyRootFilesystem"], true,
            "{name}"
        );
    }
    // A second run over the output changes nothing.
    let (again, _) = apply(&items, &prod());
    assert_eq!(again, items, "second run changed the output");
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(p);
        }
    }
}

fn check_no_missing_mounts(label: &str, docs: &[Value], problems: &mut Vec<String>) {
    for d in docs {
        // Inside a ResourceList too.
        let inner: Vec<&Value> = if d["kind"] == "ResourceList" {
            list(&d["items"])
        } else {
            vec![d]
        };
        for i in inner {
            problems.extend(
                missing_mounts(i)
                    .into_iter()
                    .map(|m| format!("{label}: {m}")),
            );
        }
    }
}

/// The outputs of every example case, run the way `.expected/config.yaml` says.
fn example_outputs() -> Vec<(String, Vec<Value>)> {
    let mut out = Vec::new();
    let dir = util::root().join("examples");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join(".expected/config.yaml").is_file())
        .collect();
    cases.sort();
    for case in cases {
        let expected = util::yaml(
            &std::fs::read_to_string(case.join(".expected/config.yaml")).expect("config.yaml"),
        );
        let fn_config_file = expected["fnConfig"].as_str().map(|f| case.join(f));
        let fc = match &fn_config_file {
            Some(f) => Some(util::yaml(&std::fs::read_to_string(f).expect("fnConfig"))),
            None => expected["args"].as_object().map(|args| {
                let pairs: Vec<(String, String)> = args
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map(str::to_string).unwrap_or(v.to_string()),
                        )
                    })
                    .collect();
                let refs: Vec<(&str, &str)> = pairs
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                util::configmap(&refs)
            }),
        };
        let mut files = Vec::new();
        yaml_files(&case, &mut files);
        let mut items = Vec::new();
        for f in files {
            if f.components().any(|c| c.as_os_str() == ".expected")
                || Some(&f) == fn_config_file.as_ref()
                || f.file_name().is_some_and(|n| n == "Kptfile")
            {
                continue;
            }
            let text = std::fs::read_to_string(&f).expect("read");
            items.extend(util::yaml_docs(&text).into_iter().filter(|d| d.is_object()));
        }
        let r = util::run(&[], &util::resource_list(&items, fc.as_ref()));
        let rl = util::yaml(&r.stdout);
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        out.push((name, rl["items"].as_array().cloned().unwrap_or_default()));
    }
    out
}

/// The property of item 2 over everything reviewed: every golden (tests/golden/**) and every
/// example's output. Passes today (none of them writes `null` lists); it must keep passing.
#[test]
fn no_pod_mounts_a_missing_volume_in_goldens_and_examples() {
    let mut problems = Vec::new();
    let mut files = Vec::new();
    yaml_files(&util::root().join("tests/golden"), &mut files);
    assert!(!files.is_empty(), "no goldens found");
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read");
        let docs = util::yaml_docs(&text);
        check_no_missing_mounts(&f.display().to_string(), &docs, &mut problems);
    }
    let examples = example_outputs();
    assert!(!examples.is_empty(), "no examples found");
    for (name, items) in &examples {
        check_no_missing_mounts(&format!("examples/{name}"), items, &mut problems);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The same property over this module's fixtures, in prod and dev.
#[test]
fn no_pod_mounts_a_missing_volume_in_fixtures() {
    let mut problems = Vec::new();
    let mut files = Vec::new();
    yaml_files(&util::root().join("tests/testdata/hardening"), &mut files);
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if name == "known-images.yaml" {
            continue;
        }
        for env in ["dev", "prod"] {
            let (items, _) = apply(&fixture(&name), &config(json!({"environment": env})));
            check_no_missing_mounts(&format!("{name} ({env})"), &items, &mut problems);
        }
    }
    let (items, _) = apply(&known_image_workloads(), &prod());
    check_no_missing_mounts("known images (prod)", &items, &mut problems);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------
// Item 3: user replica counts win; singletons stay single

fn assert_no_blocking_pdb(items: &[Value], w: &Value) {
    for p in pdbs_for(items, w) {
        assert!(
            p["spec"].get("minAvailable").is_none()
                && p["spec"]["maxUnavailable"] != json!(0)
                && p["spec"]["maxUnavailable"] != json!("0%"),
            "a PDB that needs two pods covers the singleton {}: {p}",
            w["metadata"]["name"]
        );
    }
}

#[test]
fn prometheus_singleton_keeps_its_replica_and_gets_no_hpa() {
    let (items, results) = apply(&fixture("prometheus.yaml"), &prod());
    let d = find(&items, "Deployment", "prometheus-server");
    assert_eq!(
        d["spec"]["replicas"],
        1,
        "{}",
        dump(&results, "prometheus-server")
    );
    assert_eq!(d["spec"]["strategy"]["type"], "Recreate");
    assert!(hpas_for(&items, "prometheus-server").is_empty());
    assert_no_blocking_pdb(&items, d);
    assert_ne!(
        class_of(&results, "prometheus-server").as_deref(),
        Some("backend")
    );
}

#[test]
fn backend_named_deployments_keep_their_replicas() {
    let (items, results) = apply(&fixture("backends.yaml"), &prod());
    for (name, n) in [("tls-backend", 1), ("web-backend", 2)] {
        let d = find(&items, "Deployment", name);
        assert_eq!(
            d["spec"]["replicas"],
            n,
            "{name}:\n{}",
            dump(&results, name)
        );
        assert!(hpas_for(&items, name).is_empty(), "{name} got an HPA");
        assert_ne!(
            class_of(&results, name).as_deref(),
            Some("backend"),
            "{name}"
        );
    }
    assert_no_blocking_pdb(&items, find(&items, "Deployment", "tls-backend"));
}

fn annotated_backends() -> Vec<Value> {
    fixture("backends.yaml")
        .into_iter()
        .map(|mut d| {
            d["metadata"]["annotations"] = json!({"apply-defaults.dev/class": "backend"});
            d
        })
        .collect()
}

#[test]
fn user_replicas_win_over_a_class_hpa() {
    let (items, results) = apply(&annotated_backends(), &prod());
    let d = find(&items, "Deployment", "web-backend");
    assert_eq!(d["spec"]["replicas"], 2);
    assert!(hpas_for(&items, "web-backend").is_empty());
    assert!(
        said(
            &results,
            "info",
            "web-backend",
            &["replicas", "autoscaling"]
        ),
        "{}",
        dump(&results, "web-backend")
    );
    // replicas: 1 is a singleton signal: no PDB that needs two pods either.
    assert_eq!(
        find(&items, "Deployment", "tls-backend")["spec"]["replicas"],
        1
    );
    assert_no_blocking_pdb(&items, find(&items, "Deployment", "tls-backend"));
}

#[test]
fn enforced_autoscaling_over_user_replicas_warns() {
    let (items, results) = apply(
        &annotated_backends(),
        &prod_with(json!({"enforce": ["autoscaling"]})),
    );
    assert_eq!(hpas_for(&items, "web-backend").len(), 1);
    assert!(
        said(
            &results,
            "warning",
            "web-backend",
            &["replicas", "autoscaling"]
        ),
        "{}",
        dump(&results, "web-backend")
    );
}

// ---------------------------------------------------------------------------------------
// Item 4: classes without greed

#[test]
fn node_agent_gets_no_mcp_agent_probe() {
    let (items, results) = apply(&fixture("agent-storage.yaml"), &prod());
    let ds = find(&items, "DaemonSet", "datadog-agent");
    let c = container(ds, "agent");
    for p in ["readinessProbe", "livenessProbe", "startupProbe"] {
        assert_ne!(
            c[p]["httpGet"]["path"], "/health",
            "{p} invented from the MCP agents' class"
        );
    }
    assert_ne!(
        class_of(&results, "datadog-agent").as_deref(),
        Some("mcp-agent")
    );
}

#[test]
fn storage_component_is_not_minio() {
    let (items, results) = apply(&fixture("agent-storage.yaml"), &prod());
    let sts = find(&items, "StatefulSet", "blobs-volume");
    assert_eq!(sts["spec"]["replicas"], 3);
    assert_ne!(class_of(&results, "blobs-volume").as_deref(), Some("minio"));
    let r = &container(sts, "volume")["resources"];
    assert_ne!(
        (&r["requests"]["memory"], &r["limits"]["memory"]),
        (&json!("1Gi"), &json!("1Gi")),
        "MinIO's prod sizes"
    );
}

#[test]
fn shipped_profile_matches_only_exact_components_and_images() {
    let r = util::run(&["profile"], "").expect_code(0);
    let profile = util::yaml(&r.stdout);
    let generic = ["server", "storage", "agent", "backend"];
    let mut problems = Vec::new();
    for (class, spec) in profile["spec"]["classes"].as_object().expect("classes") {
        for n in list(&spec["match"]["names"]) {
            if n.as_str().unwrap_or_default().contains('*') {
                problems.push(format!("{class}: name glob {n}"));
            }
        }
        for c in list(&spec["match"]["components"]) {
            if generic.contains(&c.as_str().unwrap_or_default()) {
                problems.push(format!("{class}: generic component {c}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The AI Interviewer tree names its own workloads: after the move its settings carry the
/// classes' `match` (the stack goldens staying identical is tests/stacks.rs's check).
#[test]
fn ai_interviewer_matches_live_in_its_settings() {
    let path = util::root().join("functions/settings/base/apply-defaults.yaml");
    let settings = util::yaml(&std::fs::read_to_string(&path).expect("settings"));
    let classes = settings["spec"]["classes"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for class in ["backend", "mcp-agent", "llm-agent"] {
        let m = &classes.get(class).cloned().unwrap_or_default()["match"];
        assert!(
            !list(&m["names"]).is_empty() || !list(&m["components"]).is_empty(),
            "{}: no match for class {class}",
            path.display()
        );
    }
}

#[test]
fn null_removes_a_whole_class() {
    let minio = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "blobs", "namespace": "s"},
        "spec": {"selector": {"matchLabels": {"app": "blobs"}}, "template": {"metadata": {"labels": {"app": "blobs"}},
            "spec": {"containers": [{"name": "minio", "image": "minio/minio:RELEASE.2024-12-18T13-15-44Z",
                "ports": [{"name": "api", "containerPort": 9000}]}]}}}});
    let (_, results) = apply(std::slice::from_ref(&minio), &prod());
    assert_eq!(class_of(&results, "blobs").as_deref(), Some("minio"));
    let (_, results) = apply(&[minio], &prod_with(json!({"classes": {"minio": null}})));
    assert_eq!(
        class_of(&results, "blobs").as_deref(),
        Some("default"),
        "{}",
        dump(&results, "blobs")
    );
}

#[test]
fn null_removes_a_profile_value() {
    let mut api = find(&fixture("unbound.yaml"), "Deployment", "shop-cart").clone();
    api["metadata"]["annotations"] = json!({"apply-defaults.dev/class": "backend"});
    let (items, _) = apply(std::slice::from_ref(&api), &prod());
    assert_eq!(hpas_for(&items, "shop-cart").len(), 1);
    let fc = prod_with(
        json!({"classes": {"backend": {"environments": {"prod": {"autoscaling": null}}}}}),
    );
    let (items, results) = apply(&[api], &fc);
    assert!(
        hpas_for(&items, "shop-cart").is_empty(),
        "{}",
        dump(&results, "shop-cart")
    );
    assert_eq!(
        find(&items, "Deployment", "shop-cart")["spec"]["replicas"],
        3
    );
}

#[test]
fn own_profile_without_the_shipped_one() {
    let fc = config(json!({
        "useShippedProfile": false,
        "environment": "staging",
        "fallbackClass": "service",
        "environments": {"staging": {"description": "our staging cluster"}},
        "classes": {"service": {"description": "everything",
            "environments": {"staging": {"replicas": 2,
                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "250m", "memory": "128Mi"}}}}}}
    }));
    let input = fixture("unbound.yaml");
    let (items, results) = apply(&input, &fc);
    let d = find(&items, "Deployment", "shop-cart");
    assert_eq!(d["spec"]["replicas"], 2, "{}", dump(&results, "shop-cart"));
    assert_eq!(
        container(d, "cart")["resources"]["requests"]["memory"],
        "64Mi"
    );
    assert_eq!(class_of(&results, "shop-cart").as_deref(), Some("service"));
}

// ---------------------------------------------------------------------------------------
// Item 5: writable paths that fit the image

fn slug(s: &str) -> String {
    s.to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

fn known_images() -> Vec<Value> {
    let table = fixture("known-images.yaml");
    table[0]["images"].as_array().cloned().expect("images")
}

/// One Deployment per known image, as a user writes it: image and port, nothing else.
fn known_image_workloads() -> Vec<Value> {
    known_images()
        .iter()
        .map(|k| {
            let name = slug(k["name"].as_str().unwrap());
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "namespace": "images"},
                "spec": {"selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "main", "image": k["image"],
                        "ports": [{"name": "main", "containerPort": k["port"]}]}]}}}})
        })
        .collect()
}

fn normalise(p: &str) -> &str {
    let t = p.trim_end_matches('/');
    if t.is_empty() { "/" } else { t }
}

/// A mount at `mount` makes `path` its own (the same path or below it).
fn covers(mount: &str, path: &str) -> bool {
    let (m, p) = (normalise(mount), normalise(path));
    m == p || m == "/" || p.strip_prefix(m).is_some_and(|r| r.starts_with('/'))
}

fn emptydir_mounts<'a>(item: &'a Value, c: &'a Value) -> Vec<&'a str> {
    let spec = pod_spec(item).unwrap();
    let empty: BTreeSet<&str> = list(&spec["volumes"])
        .iter()
        .filter(|v| v.get("emptyDir").is_some())
        .filter_map(|v| v["name"].as_str())
        .collect();
    list(&c["volumeMounts"])
        .iter()
        .filter(|m| m["name"].as_str().is_some_and(|n| empty.contains(n)))
        .filter_map(|m| m["mountPath"].as_str())
        .collect()
}

fn effective(item: &Value, c: &Value, field: &str) -> Value {
    let v = &c["securityContext"][field];
    if v.is_null() {
        pod_spec(item).unwrap()["securityContext"][field].clone()
    } else {
        v.clone()
    }
}

#[test]
fn known_images_get_their_paths_and_user() {
    let (items, results) = apply(&known_image_workloads(), &prod());
    let mut problems = Vec::new();
    for k in known_images() {
        let name = slug(k["name"].as_str().unwrap());
        let d = find(&items, "Deployment", &name);
        let c = container(d, "main");
        let mounts: Vec<&str> = list(&c["volumeMounts"])
            .iter()
            .filter_map(|m| m["mountPath"].as_str())
            .collect();
        let read_only = c["securityContext"]["readOnlyRootFilesystem"] == json!(true);
        for p in list(&k["writable"]).iter().filter_map(|p| p.as_str()) {
            if read_only && !mounts.iter().any(|m| covers(m, p)) {
                problems.push(format!("{name}: {p} is not writable"));
            }
        }
        for p in list(&k["writesShipped"]).iter().filter_map(|p| p.as_str()) {
            if read_only && !said(&results, "warning", &name, &[p]) {
                problems.push(format!(
                    "{name}: writes {p}, which holds shipped files, without a warning naming it"
                ));
            }
        }
        if !k["user"].is_null() {
            let user = effective(d, c, "runAsUser");
            if user != k["user"] {
                problems.push(format!("{name}: runs as {user}, built for {}", k["user"]));
            }
            let fs_group = &pod_spec(d).unwrap()["securityContext"]["fsGroup"];
            if *fs_group != k["group"] {
                problems.push(format!(
                    "{name}: fsGroup {fs_group}, built for {}",
                    k["group"]
                ));
            }
        }
        if effective(d, c, "runAsUser") == json!(0) {
            problems.push(format!("{name}: runs as root"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn never_an_emptydir_over_shipped_files() {
    let (items, _) = apply(&known_image_workloads(), &prod());
    let mut problems = Vec::new();
    for k in known_images() {
        let name = slug(k["name"].as_str().unwrap());
        let d = find(&items, "Deployment", &name);
        let c = container(d, "main");
        for m in emptydir_mounts(d, c) {
            for s in list(&k["ships"]).iter().filter_map(|p| p.as_str()) {
                if covers(m, s) {
                    problems.push(format!("{name}: emptyDir at {m} hides {s}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn unknown_image_keeps_read_only_root_with_a_warning() {
    let (items, results) = apply(&fixture("unbound.yaml"), &prod());
    let d = find(&items, "Deployment", "shop-cart");
    let c = container(d, "cart");
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert!(emptydir_mounts(d, c).contains(&"/tmp"));
    assert!(
        said(
            &results,
            "warning",
            "shop-cart",
            &["/tmp", "readOnlyRootFilesystem", "apply-defaults.dev/skip"]
        ),
        "{}",
        dump(&results, "shop-cart")
    );
}

// ---------------------------------------------------------------------------------------
// Item 6: low ports as non-root

#[test]
fn low_ports_run_non_root_with_the_sysctl() {
    let workloads: Vec<Value> = known_image_workloads()
        .into_iter()
        .filter(|w| ["nginx", "apache-httpd"].contains(&w["metadata"]["name"].as_str().unwrap()))
        .collect();
    assert_eq!(workloads.len(), 2);
    let (items, results) = apply(&workloads, &prod());
    for name in ["nginx", "apache-httpd"] {
        let d = find(&items, "Deployment", name);
        let spec = pod_spec(d).unwrap();
        let sysctl = list(&spec["securityContext"]["sysctls"])
            .into_iter()
            .find(|s| s["name"] == "net.ipv4.ip_unprivileged_port_start")
            .unwrap_or_else(|| panic!("{name}: no sysctl\n{}", dump(&results, name)));
        let value: i64 = sysctl["value"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .expect("a number as a string");
        assert!(value <= 80, "{name}: port 80 still privileged ({value})");
        assert_eq!(effective(d, container(d, "main"), "runAsNonRoot"), true);
        assert_ne!(effective(d, container(d, "main"), "runAsUser"), json!(0));
        let caps = &container(d, "main")["securityContext"]["capabilities"];
        assert!(!list(&caps["add"]).contains(&&json!("NET_BIND_SERVICE")));
        assert!(
            said(
                &results,
                "info",
                name,
                &["net.ipv4.ip_unprivileged_port_start", "80"]
            ),
            "{}",
            dump(&results, name)
        );
    }
}

// ---------------------------------------------------------------------------------------
// Item 7: check mode without noise

#[test]
fn check_mode_ignores_api_server_defaulted_probe_fields() {
    let input = util::resource_list(&fixture("check-mode.yaml"), Some(&prod()));
    let r = util::run(&["check"], &input);
    let rl = util::yaml(&r.stdout);
    let defaulted = [
        "periodSeconds",
        "timeoutSeconds",
        "successThreshold",
        "failureThreshold",
    ];
    let noisy: Vec<String> = list(&rl["results"])
        .iter()
        .filter_map(|r| r["field"]["path"].as_str())
        .filter(|p| p.contains("Probe") && defaulted.iter().any(|d| p.ends_with(d)))
        .map(str::to_string)
        .collect();
    assert!(
        !list(&rl["results"]).is_empty(),
        "check mode reported nothing at all"
    );
    assert!(noisy.is_empty(), "reported as missing: {noisy:?}");
}
