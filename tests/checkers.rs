//! The checkers platform teams run, over what the function renders: kube-score (pinned in
//! scripts/tool-versions.sh, built by scripts/install-tools.sh) over the rendered prod overlays
//! of both stacks and every example's output. Zero failures on the checks the function owns
//! (docs/checkers.md lists them, with the places where checkers disagree and the side the
//! function takes).
//!
//! A check is the function's on an object when the function applied that check's default to
//! the object in that run (its `applied resources, probes, ...` result names it) or wrote the
//! object itself (a generated HPA, PDB or NetworkPolicy), or generated the object the check
//! looks for (the PDB a workload needs, the NetworkPolicy selecting its pods, the HPA scaling
//! it). A default the config does not select, an opt-out, and a value the user wrote are not
//! the function's to fix (the user's value wins) and are not counted as its failures; on the
//! stacks, whose bases leave every default to the function, every workload must own them all.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::runners::record;
use crate::util;

/// kube-score check id -> the function's default it belongs to. Every other kube-score check
/// (image tags and pull policy, Service type, deployment strategy, label values, API versions,
/// ...) is about what the manifests say, not about a default the function adds.
const OWNED: &[(&str, &str)] = &[
    ("container-resources", "resources"),
    ("pod-probes", "probes"),
    ("pod-probes-identical", "probes"),
    ("container-security-context-user-group-id", "security"),
    ("container-security-context-privileged", "security"),
    (
        "container-security-context-readonlyrootfilesystem",
        "security",
    ),
    ("container-seccomp-profile", "security"),
    ("deployment-replicas", "replicas"),
    (
        "deployment-targeted-by-hpa-does-not-have-replicas-configured",
        "autoscaling",
    ),
    ("horizontalpodautoscaler-has-target", "autoscaling"),
    ("horizontalpodautoscaler-replicas", "autoscaling"),
    ("deployment-has-poddisruptionbudget", "disruption-budget"),
    ("statefulset-has-poddisruptionbudget", "disruption-budget"),
    ("poddisruptionbudget-has-policy", "disruption-budget"),
    ("deployment-has-host-podantiaffinity", "spreading"),
    ("statefulset-has-host-podantiaffinity", "spreading"),
    ("pod-topology-spread-constraints", "spreading"),
    ("pod-networkpolicy", "network-policy"),
    ("networkpolicy-targets-pod", "network-policy"),
];

/// Where kube-score and the function disagree on purpose (docs/checkers.md says why): the
/// check, and when a failure of it is the function's deliberate choice rather than a miss.
/// `deployment-replicas` wants 2 replicas behind every Service; the shipped profile gives one
/// replica to classes whose software does not scale by adding pods (a standalone Redis or MinIO,
/// PostgreSQL, single-binary Tempo, Grafana on SQLite, the MCP registry and vertically scaled
/// agents, Ollama): accepted when the function itself set that 1.
/// `container-security-context-user-group-id` wants UID and GID >= 10000; a known image is run
/// as the user it is built for (nginx 101, ...), whose files and paths belong to that user:
/// accepted when every low-UID container is such an image at exactly that UID.
fn deliberate(check: &str, doc: Option<&Value>, owned: Option<&BTreeSet<&'static str>>) -> bool {
    match check {
        "deployment-replicas" => {
            doc.is_some_and(|d| d["spec"]["replicas"] == 1)
                && owned.is_some_and(|o| o.contains("replicas"))
        }
        "container-security-context-user-group-id" => {
            owned.is_some_and(|o| o.contains("security")) && doc.is_some_and(runs_as_image_user)
        }
        _ => false,
    }
}

/// Every container below UID/GID 10000 is a known image (tests/testdata/hardening/
/// known-images.yaml) run as the user it is built for.
fn runs_as_image_user(doc: &Value) -> bool {
    let table = util::yaml(
        &std::fs::read_to_string(util::root().join("tests/testdata/hardening/known-images.yaml"))
            .expect("known images"),
    );
    let repo = |image: &str| -> String {
        let name = image.rsplit('/').next().unwrap_or(image);
        name.split([':', '@']).next().unwrap_or(name).to_string()
    };
    let pod = &doc["spec"]["template"]["spec"];
    let low: Vec<&Value> = pod["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| {
            let id = |k: &str| {
                c["securityContext"][k]
                    .as_i64()
                    .or(pod["securityContext"][k].as_i64())
            };
            id("runAsUser").is_some_and(|u| u < 10000)
                || id("runAsGroup").is_some_and(|g| g < 10000)
        })
        .collect();
    !low.is_empty()
        && low.iter().all(|c| {
            let uid = c["securityContext"]["runAsUser"]
                .as_i64()
                .or(pod["securityContext"]["runAsUser"].as_i64());
            let image = repo(c["image"].as_str().unwrap_or_default());
            table["images"].as_array().into_iter().flatten().any(|e| {
                repo(e["image"].as_str().unwrap_or_default()) == image
                    && e["user"].as_i64().is_some()
                    && e["user"].as_i64() == uid
            })
        })
}

/// kube-score's optional checks that are the function's: turned on.
const OPTIONAL_OWNED: &[&str] = &["container-seccomp-profile"];

fn family(check: &str) -> Option<&'static str> {
    OWNED.iter().find(|(c, _)| *c == check).map(|(_, f)| *f)
}

/// `Kind namespace/name`.
fn key(kind: &str, namespace: &str, name: &str) -> String {
    format!("{kind} {namespace}/{name}")
}

fn key_of(doc: &Value) -> String {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    key(
        &s(&doc["kind"]),
        &s(&doc["metadata"]["namespace"]),
        &s(&doc["metadata"]["name"]),
    )
}

fn generated(doc: &Value) -> bool {
    doc["metadata"]["annotations"]["apply-defaults.dev/generated"] == "true"
}

fn pod_labels(doc: &Value) -> Option<&serde_json::Map<String, Value>> {
    doc["spec"]["template"]["metadata"]["labels"].as_object()
}

/// `matchLabels` all present in `labels` (the function's selectors use matchLabels only).
fn selects(selector: &Value, labels: &serde_json::Map<String, Value>) -> bool {
    selector["matchLabels"]
        .as_object()
        .is_some_and(|m| !m.is_empty() && m.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

/// Which defaults are the function's on which object, from its results and what it generated.
fn ownership(output: &[Value], results: &[Value]) -> BTreeMap<String, BTreeSet<&'static str>> {
    let families: BTreeSet<&'static str> = OWNED.iter().map(|(_, f)| *f).collect();
    let mut owned: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
    for r in results {
        let Some(applied) = r["message"]
            .as_str()
            .and_then(|m| m.strip_prefix("applied "))
        else {
            continue;
        };
        let reference = &r["resourceRef"];
        let k = key(
            reference["kind"].as_str().unwrap_or_default(),
            reference["namespace"].as_str().unwrap_or_default(),
            reference["name"].as_str().unwrap_or_default(),
        );
        for part in applied.split(", ") {
            let name = part.split(' ').next().unwrap_or_default();
            if let Some(f) = families.get(name) {
                owned.entry(k.clone()).or_default().insert(f);
            }
        }
    }
    for g in output.iter().filter(|d| generated(d)) {
        let (kind, ns) = (
            g["kind"].as_str().unwrap_or_default(),
            g["metadata"]["namespace"].as_str().unwrap_or_default(),
        );
        let f = match kind {
            "HorizontalPodAutoscaler" => "autoscaling",
            "PodDisruptionBudget" => "disruption-budget",
            "NetworkPolicy" => "network-policy",
            _ => continue,
        };
        owned.entry(key_of(g)).or_default().insert(f);
        for w in output
            .iter()
            .filter(|w| w["metadata"]["namespace"].as_str().unwrap_or_default() == ns)
        {
            let Some(labels) = pod_labels(w) else {
                continue;
            };
            let targets = match kind {
                "HorizontalPodAutoscaler" => {
                    g["spec"]["scaleTargetRef"]["kind"] == w["kind"]
                        && g["spec"]["scaleTargetRef"]["name"] == w["metadata"]["name"]
                }
                "PodDisruptionBudget" => selects(&g["spec"]["selector"], labels),
                _ => selects(&g["spec"]["podSelector"], labels),
            };
            if targets {
                owned.entry(key_of(w)).or_default().insert(f);
            }
        }
    }
    owned
}

/// One kube-score verdict on an owned check.
#[derive(Debug)]
struct Verdict {
    object: String,
    check: String,
    grade: i64,
    /// (path: a container name or empty, summary).
    comments: Vec<(String, String)>,
}

/// kube-score over `docs`: (owned verdicts, every check kube-score ran that was not skipped).
fn kube_score(exe: &Path, docs: &[Value], what: &str) -> (Vec<Verdict>, usize) {
    let tmp = util::tempdir();
    let file = tmp.path().join("rendered.yaml");
    std::fs::write(
        &file,
        apply_defaults::krm::yaml::documents_to_string(docs).expect("yaml"),
    )
    .expect("write");
    let mut cmd = Command::new(exe);
    cmd.args(["score", "--output-format", "json"]);
    for c in OPTIONAL_OWNED {
        cmd.args(["--enable-optional-test", c]);
    }
    let out = util::run_cmd(cmd.arg(&file), "");
    // Exit 1 is kube-score's "a check is critical" (some not ours); anything else is a failure
    // to run.
    assert!(
        out.code == 0 || out.code == 1,
        "{what}: kube-score failed to run ({})\n{}",
        out.code,
        out.stderr
    );
    let report: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{what}: kube-score JSON ({e}):\n{}", out.stdout));
    let mut verdicts = Vec::new();
    let mut ran = 0;
    for obj in report.as_array().expect("a list of objects") {
        let object = key(
            obj["type_meta"]["kind"].as_str().unwrap_or_default(),
            obj["object_meta"]["namespace"].as_str().unwrap_or_default(),
            obj["object_meta"]["name"].as_str().unwrap_or_default(),
        );
        for c in obj["checks"].as_array().into_iter().flatten() {
            if c["skipped"] == true {
                continue;
            }
            ran += 1;
            let check = c["check"]["id"].as_str().unwrap_or_default().to_string();
            if family(&check).is_none() {
                continue;
            }
            verdicts.push(Verdict {
                object: object.clone(),
                check,
                grade: c["grade"].as_i64().unwrap_or(0),
                comments: c["comments"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|m| {
                        (
                            m["path"].as_str().unwrap_or_default().to_string(),
                            m["summary"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect(),
            });
        }
    }
    (verdicts, ran)
}

/// The containers `apply-defaults.dev/skip-containers` (on the workload or its pod template)
/// opts out of `family`: `istio-proxy; migrate=probes,resources` skips every default for
/// istio-proxy and those two for migrate.
fn skipped_containers(doc: &Value, family: &str) -> BTreeSet<String> {
    const KEY: &str = "apply-defaults.dev/skip-containers";
    let mut out = BTreeSet::new();
    for meta in [&doc["metadata"], &doc["spec"]["template"]["metadata"]] {
        let Some(value) = meta["annotations"][KEY].as_str() else {
            continue;
        };
        for entry in value.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            match entry.split_once('=') {
                None => {
                    out.insert(entry.to_string());
                }
                Some((name, defaults)) => {
                    if defaults.split(',').any(|d| d.trim() == family) {
                        out.insert(name.trim().to_string());
                    }
                }
            }
        }
    }
    out
}

/// The value kube-score complains about for `container` was in the manifest the function got.
fn users_value(check: &str, input: &Value, container: &str) -> bool {
    let pod = &input["spec"]["template"]["spec"];
    let c = pod["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == container);
    match check {
        "container-security-context-user-group-id" => c.is_some_and(|c| {
            ["runAsUser", "runAsGroup"]
                .iter()
                .any(|k| !c["securityContext"][k].is_null())
        }),
        _ => false,
    }
}

/// What one rendering scored.
#[derive(Default)]
struct Counts {
    objects: usize,
    ran: usize,
    passed: usize,
    deliberate: usize,
}

/// Runs kube-score over one rendering and asserts every owned check passes. `all_owned`: the
/// stacks, where every workload must own every default kube-score checks for it.
fn assert_kube_score_passes(
    exe: &Path,
    what: &str,
    (input, output): (&[Value], &[Value]),
    results: &[Value],
    all_owned: bool,
) -> Counts {
    let owned = ownership(output, results);
    let docs: BTreeMap<String, &Value> = output.iter().map(|d| (key_of(d), d)).collect();
    let inputs: BTreeMap<String, &Value> = input.iter().map(|d| (key_of(d), d)).collect();
    let (verdicts, ran) = kube_score(exe, output, what);
    let mut failures = Vec::new();
    let (mut passed, mut accepted) = (0, 0);
    for v in &verdicts {
        let f = family(&v.check).expect("owned check");
        let ours = all_owned || owned.get(&v.object).is_some_and(|s| s.contains(f));
        // A complaint only about containers the manifest opts out of this default
        // (`apply-defaults.dev/skip-containers`) is the user's choice, not a miss.
        // So is one only about values the manifest wrote itself (the user's value wins).
        let opted_out = docs.get(&v.object).map(|d| skipped_containers(d, f));
        let by_user = |c: &str| {
            inputs
                .get(&v.object)
                .is_some_and(|d| users_value(&v.check, d, c))
        };
        if !ours
            || (!v.comments.is_empty()
                && v.comments
                    .iter()
                    .all(|(c, _)| opted_out.as_ref().is_some_and(|s| s.contains(c)) || by_user(c)))
        {
            continue;
        }
        // Grades: 1 critical, 5 warning, 7 almost OK, 10 OK.
        if v.grade <= 5 && deliberate(&v.check, docs.get(&v.object).copied(), owned.get(&v.object))
        {
            accepted += 1;
        } else if v.grade <= 5 {
            failures.push(format!(
                "{} {} (grade {}): {:?}",
                v.object, v.check, v.grade, v.comments
            ));
        } else {
            passed += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{what}: kube-score fails {} check(s) the function owns:\n{}",
        failures.len(),
        failures.join("\n")
    );
    if all_owned {
        assert!(passed > 0, "{what}: no owned check ran");
    }
    Counts {
        objects: output.iter().filter(|d| d.is_object()).count(),
        ran,
        passed,
        deliberate: accepted,
    }
}

fn function_results(input: &str, config: &Path) -> Vec<Value> {
    let items: Vec<Value> = util::yaml_docs(input)
        .into_iter()
        .filter(|d| !d.is_null())
        .collect();
    let fc = util::yaml(&std::fs::read_to_string(config).expect("config"));
    let out = util::run(&[], &util::resource_list(&items, Some(&fc))).expect_code(0);
    util::yaml(&out.stdout)["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn stack_passes_kube_score(stack: &str) {
    let Some(exe) = util::pinned_tool("KUBE_SCORE", "scores the rendered output") else {
        return;
    };
    let Some(r) = crate::rendered::overlay(stack, "prod") else {
        return;
    };
    let results = function_results(&r.input, &r.config);
    let input: Vec<Value> = util::yaml_docs(&r.input)
        .into_iter()
        .filter(|d| !d.is_null())
        .collect();
    let c = assert_kube_score_passes(&exe, &r.name, (&input, &r.output), &results, true);
    record(&format!(
        "kube-score {} score over {}: {} objects, {} checks run, {} owned checks passed, 0 \
         failed, {} deliberate (docs/checkers.md)",
        util::pinned_version(&exe),
        r.name,
        c.objects,
        c.ran,
        c.passed,
        c.deliberate
    ));
}

#[test]
fn kube_score_passes_ai_interviewer_prod() {
    stack_passes_kube_score("ai-interviewer");
}

#[test]
fn kube_score_passes_interview_prep_prod() {
    stack_passes_kube_score("interview-prep");
}

#[test]
fn kube_score_passes_every_example() {
    let Some(exe) = util::pinned_tool("KUBE_SCORE", "scores the rendered output") else {
        return;
    };
    let (mut total, mut examples) = (Counts::default(), 0);
    for ex in crate::examples::rendered_examples() {
        let results = ex.results.as_array().cloned().unwrap_or_default();
        let what = format!("examples/{}", ex.name);
        let c = assert_kube_score_passes(&exe, &what, (&ex.input, &ex.output), &results, false);
        total.objects += c.objects;
        total.ran += c.ran;
        total.passed += c.passed;
        total.deliberate += c.deliberate;
        examples += 1;
    }
    assert!(total.passed > 0, "no owned check ran on the examples");
    record(&format!(
        "kube-score {} score over {examples} examples' output: {} objects, {} checks run, {} \
         owned checks passed, 0 failed, {} deliberate (docs/checkers.md)",
        util::pinned_version(&exe),
        total.objects,
        total.ran,
        total.passed,
        total.deliberate
    ));
}

/// The Helm example's post-rendered chart (the golden tests/helm.rs proves both Helms print):
/// the chart sets no default, so every owned check is the function's.
#[test]
fn kube_score_passes_the_helm_chart() {
    let Some(exe) = util::pinned_tool("KUBE_SCORE", "scores the rendered output") else {
        return;
    };
    let output: Vec<Value> = util::yaml_docs(&util::read_golden("helm/shop.yaml"))
        .into_iter()
        .filter(|d| !d.is_null())
        .collect();
    let c = assert_kube_score_passes(&exe, "examples/helm", (&[], &output), &[], true);
    record(&format!(
        "kube-score {} score over examples/helm (post-rendered): {} objects, {} checks run, {} \
         owned checks passed, 0 failed",
        util::pinned_version(&exe),
        c.objects,
        c.ran,
        c.passed
    ));
}

/// The check can fail: a container stripped of its resources and probes is a critical
/// kube-score verdict on checks the function owns.
#[test]
fn kube_score_catches_a_missing_default() {
    let Some(exe) = util::pinned_tool("KUBE_SCORE", "scores the rendered output") else {
        return;
    };
    let mut output: Vec<Value> = util::yaml_docs(&util::read_golden("helm/shop.yaml"))
        .into_iter()
        .filter(|d| !d.is_null())
        .collect();
    let d = output
        .iter_mut()
        .find(|d| d["kind"] == "Deployment")
        .expect("the chart's Deployment");
    let c = d["spec"]["template"]["spec"]["containers"][0]
        .as_object_mut()
        .expect("container");
    for field in ["resources", "readinessProbe", "livenessProbe"] {
        c.remove(field);
    }
    let (verdicts, _) = kube_score(&exe, &output, "stripped");
    for check in ["container-resources", "pod-probes"] {
        assert!(
            verdicts
                .iter()
                .any(|v| v.check == check && v.object.ends_with("/shop-web") && v.grade <= 5),
            "kube-score did not fail {check}: {verdicts:#?}"
        );
    }
}
