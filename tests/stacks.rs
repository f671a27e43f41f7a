//! The GitOps trees of both stacks (the AI Interviewer at the root, the Interview Prep Trainer
//! under examples/), rendered by the real tools: `kubectl kustomize --enable-alpha-plugins` with
//! the container image, and `kpt fn eval --exec` with the built binary. Both renderings must
//! equal the reviewed golden files, validate against the Kubernetes API schemas, and carry the
//! plans' numbers. `UPDATE_GOLDEN=1` rewrites the goldens.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use apply_defaults::Quantity;
use serde_json::Value;

use crate::util::{self, Run};

/// The kubernetes-validate schema version pinned besides its newest (the project's k8s-openapi
/// feature is v1_33).
const PINNED_KUBERNETES: &str = "1.33.0";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stack {
    AiInterviewer,
    InterviewPrep,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Env {
    Dev,
    Prod,
}

impl Stack {
    fn name(self) -> &'static str {
        match self {
            Stack::AiInterviewer => "ai-interviewer",
            Stack::InterviewPrep => "interview-prep",
        }
    }

    /// Directory of the stack, relative to the repository root.
    fn dir(self) -> &'static str {
        match self {
            Stack::AiInterviewer => ".",
            Stack::InterviewPrep => "examples/interview-prep",
        }
    }
}

impl Env {
    fn name(self) -> &'static str {
        match self {
            Env::Dev => "dev",
            Env::Prod => "prod",
        }
    }
}

fn golden_name(stack: Stack, env: Env) -> String {
    format!("stacks/{}/{}.yaml", stack.name(), env.name())
}

fn run_ok(cmd: &mut Command, what: &str) -> String {
    let shown = format!("{cmd:?}");
    let run: Run = util::run_cmd(cmd, "");
    assert_eq!(
        run.code, 0,
        "{what} failed: {shown}\n--- stdout\n{}\n--- stderr\n{}",
        run.stdout, run.stderr
    );
    run.stdout
}

// ---------------------------------------------------------------------------------------------
// Rendering

fn to_text(docs: &[Value]) -> String {
    apply_defaults::krm::yaml::documents_to_string(docs).expect("writes YAML")
}

/// A copy of the GitOps tree in a temporary directory, for edits the tests make.
fn copy_tree() -> tempfile::TempDir {
    let tmp = util::tempdir();
    let root = util::root();
    for dir in ["base", "overlays", "functions", "examples/interview-prep"] {
        util::copy_dir(&root.join(dir), &tmp.path().join(dir));
    }
    tmp
}

/// The exec path: the overlay rendered without its function by kubectl kustomize, then the
/// built binary run over it by `kpt fn eval --exec`, with the same settings the overlay's
/// function directory carries.
fn render_exec_uncached(stack: Stack, env: Env) -> Option<Vec<Value>> {
    let kubectl = util::require_tool("kubectl", "renders the kustomize overlays")?;
    let kpt = util::require_tool("kpt", "runs the function through its exec path")?;
    let tree = copy_tree();
    let stack_dir = tree.path().join(stack.dir());
    let overlay = stack_dir.join("overlays").join(env.name());

    let kustomization_path = overlay.join("kustomization.yaml");
    let mut kustomization =
        util::yaml(&std::fs::read_to_string(&kustomization_path).expect("reads overlay"));
    let transformers = kustomization
        .as_object_mut()
        .and_then(|m| m.remove("transformers"))
        .expect("the overlay runs the function as a transformer");
    assert_eq!(
        transformers,
        serde_json::json!([format!("../../functions/{}", env.name())]),
        "{} overlay {} must run exactly its environment's function directory",
        stack.name(),
        env.name()
    );
    let text = apply_defaults::krm::yaml::to_string(&kustomization).expect("writes");
    std::fs::write(&kustomization_path, text).expect("writes overlay");
    let plain = run_ok(
        Command::new(&kubectl).arg("kustomize").arg(&overlay),
        "kubectl kustomize (no function)",
    );

    let settings = stack_dir.join("functions/settings").join(env.name());
    let fn_config = run_ok(
        Command::new(&kubectl).arg("kustomize").arg(&settings),
        "kubectl kustomize (settings)",
    );
    let fn_config_path = tree.path().join("fn-config.yaml");
    std::fs::write(&fn_config_path, fn_config).expect("writes fn config");

    let pkg = tree.path().join("pkg");
    std::fs::create_dir_all(&pkg).expect("mkdir");
    std::fs::write(pkg.join("resources.yaml"), plain).expect("writes package");
    run_ok(
        Command::new(&kpt)
            .args(["fn", "eval"])
            .arg(&pkg)
            .arg("--exec")
            .arg(util::bin())
            .arg("--fn-config")
            .arg(&fn_config_path),
        "kpt fn eval --exec",
    );
    Some(util::normalize_rendered(read_package(&pkg)))
}

/// Every document of every YAML file kpt left in the package (generated resources may have
/// files of their own).
fn read_package(dir: &Path) -> Vec<Value> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("readdir") {
            let p = entry.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
        .iter()
        .flat_map(|f| util::yaml_docs(&std::fs::read_to_string(f).expect("reads output")))
        .collect()
}

/// Exec renderings are shared by the golden, schema and numbers tests of one run.
fn render_exec(stack: Stack, env: Env) -> Option<&'static Vec<Value>> {
    static CACHE: [OnceLock<Option<Vec<Value>>>; 4] = [const { OnceLock::new() }; 4];
    let slot = match (stack, env) {
        (Stack::AiInterviewer, Env::Dev) => 0,
        (Stack::AiInterviewer, Env::Prod) => 1,
        (Stack::InterviewPrep, Env::Dev) => 2,
        (Stack::InterviewPrep, Env::Prod) => 3,
    };
    CACHE[slot]
        .get_or_init(|| render_exec_uncached(stack, env))
        .as_ref()
}

/// The image reference, read from the one place that names it.
fn image_reference() -> String {
    let text = std::fs::read_to_string(util::root().join("functions/container/kustomization.yaml"))
        .expect("reads functions/container");
    let component = util::yaml(&text);
    let patch = util::yaml(
        component["patches"][0]["patch"]
            .as_str()
            .expect("an inline patch"),
    );
    let function = patch["metadata"]["annotations"]["config.kubernetes.io/function"]
        .as_str()
        .expect("the function annotation");
    util::yaml(function)["container"]["image"]
        .as_str()
        .expect("container.image")
        .to_string()
}

/// Builds the function image once per test run with the project's script. Without the script
/// (it lands from another branch) the container tests skip and say why.
fn container_image() -> Option<&'static str> {
    static IMAGE: OnceLock<Option<String>> = OnceLock::new();
    IMAGE
        .get_or_init(|| {
            util::require_tool("podman", "runs kustomize's container functions (docker is shimmed to it)")?;
            let script = util::root().join("scripts/build-image.sh");
            if !script.is_file() {
                eprintln!("SKIPPED: scripts/build-image.sh is missing, so the function image cannot be built");
                return None;
            }
            run_ok(Command::new("bash").arg(&script).current_dir(util::root()), "scripts/build-image.sh");
            Some(image_reference())
        })
        .as_deref()
}

/// A directory with `docker` forwarding to podman: kustomize runs container functions with the
/// docker CLI, and this machine has podman only.
fn docker_shim() -> tempfile::TempDir {
    let dir = util::tempdir();
    let shim = dir.path().join("docker");
    std::fs::write(&shim, "#!/bin/sh\nexec podman \"$@\"\n").expect("writes shim");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    dir
}

/// The container path, exactly as a user runs it: `kubectl kustomize --enable-alpha-plugins`.
fn render_container(kubectl: &Path, dir: &Path) -> Vec<Value> {
    let shim = docker_shim();
    let path = std::env::join_paths(std::iter::once(shim.path().to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH");
    let out = run_ok(
        Command::new(kubectl)
            .args(["kustomize", "--enable-alpha-plugins"])
            .arg(dir)
            .env("PATH", path),
        "kubectl kustomize --enable-alpha-plugins",
    );
    util::normalize_rendered(util::yaml_docs(&out))
}

/// Every object validates against the API schemas of the pinned version and the newest one
/// kubernetes-validate ships, strictly (unknown fields are errors).
fn assert_valid(docs: &[Value], what: &str) {
    let Some(validator) = util::require_tool(
        "kubernetes-validate",
        "validates against the API schemas (pip install kubernetes-validate)",
    ) else {
        return;
    };
    let dir = util::tempdir();
    let file = dir.path().join("rendered.yaml");
    std::fs::write(&file, to_text(docs)).expect("writes");
    for version in [Some(PINNED_KUBERNETES), None] {
        let mut cmd = Command::new(&validator);
        cmd.args(["--strict", "--quiet"]);
        if let Some(v) = version {
            cmd.args(["-k", v]);
        }
        run_ok(
            cmd.arg(&file),
            &format!(
                "kubernetes-validate of {what} (version {})",
                version.unwrap_or("newest")
            ),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Goldens and schemas

fn exec_matches_golden(stack: Stack, env: Env) {
    let Some(docs) = render_exec(stack, env) else {
        return;
    };
    util::assert_golden(&golden_name(stack, env), &to_text(docs));
}

#[test]
fn exec_ai_interviewer_dev_matches_golden() {
    exec_matches_golden(Stack::AiInterviewer, Env::Dev);
}

#[test]
fn exec_ai_interviewer_prod_matches_golden() {
    exec_matches_golden(Stack::AiInterviewer, Env::Prod);
}

#[test]
fn exec_interview_prep_dev_matches_golden() {
    exec_matches_golden(Stack::InterviewPrep, Env::Dev);
}

#[test]
fn exec_interview_prep_prod_matches_golden() {
    exec_matches_golden(Stack::InterviewPrep, Env::Prod);
}

/// All four overlays and the root kustomization through kustomize's container function, as
/// one test so the image is built once and the renders do not compete for the two cores.
#[test]
fn container_renderings_match_goldens_and_validate() {
    let Some(kubectl) = util::require_tool("kubectl", "renders the kustomize overlays") else {
        return;
    };
    let Some(image) = container_image() else {
        return;
    };
    eprintln!("rendering with {image}");
    let root = util::root();
    for stack in [Stack::AiInterviewer, Stack::InterviewPrep] {
        for env in [Env::Dev, Env::Prod] {
            let overlay = root.join(stack.dir()).join("overlays").join(env.name());
            let docs = render_container(&kubectl, &overlay);
            util::assert_golden(&golden_name(stack, env), &to_text(&docs));
            assert_valid(
                &docs,
                &format!("{} {} (container)", stack.name(), env.name()),
            );
        }
    }
    // The root kustomization is the dev environment, for `kubectl kustomize --enable-alpha-plugins .`.
    let docs = render_container(&kubectl, &root);
    util::assert_golden(
        &golden_name(Stack::AiInterviewer, Env::Dev),
        &to_text(&docs),
    );
}

/// kubectl 1.27 embeds kustomize v5.0.1, the oldest the tree supports: Components patching
/// the function annotation and transformer directories outside the overlay must work there too.
#[test]
fn container_rendering_works_with_oldest_kubectl() {
    let Some(kubectl) = util::require_tool("kubectl", "renders the kustomize overlays") else {
        return;
    };
    let Some(_) = container_image() else { return };
    let dir = std::fs::canonicalize(&kubectl).expect("resolves kubectl");
    let old = dir.parent().expect("has a directory").join("kubectl.1.27");
    if !old.is_file() {
        assert!(
            !util::in_ci(),
            "kubectl.1.27 is missing beside {}",
            dir.display()
        );
        eprintln!("SKIPPED: kubectl.1.27 is not installed beside kubectl");
        return;
    }
    let root = util::root();
    for (stack, env) in [
        (Stack::AiInterviewer, Env::Prod),
        (Stack::InterviewPrep, Env::Prod),
    ] {
        let docs = render_container(
            &old,
            &root.join(stack.dir()).join("overlays").join(env.name()),
        );
        util::assert_golden(&golden_name(stack, env), &to_text(&docs));
    }
}

fn exec_validates(stack: Stack) {
    for env in [Env::Dev, Env::Prod] {
        let Some(docs) = render_exec(stack, env) else {
            return;
        };
        assert_valid(docs, &format!("{} {}", stack.name(), env.name()));
    }
}

#[test]
fn ai_interviewer_validates_against_api_schemas() {
    exec_validates(Stack::AiInterviewer);
}

#[test]
fn interview_prep_validates_against_api_schemas() {
    exec_validates(Stack::InterviewPrep);
}

// ---------------------------------------------------------------------------------------------
// The plans' numbers on the rendered output

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in the rendered output"))
}

fn all_of<'a>(docs: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    docs.iter().filter(move |d| d["kind"] == kind)
}

fn first_container(workload: &Value) -> &Value {
    &workload["spec"]["template"]["spec"]["containers"][0]
}

fn quantity(v: &Value, what: &str) -> f64 {
    Quantity::from_json(v)
        .unwrap_or_else(|| panic!("{what} is not a quantity: {v}"))
        .value()
}

/// Requests and limits of a workload's main container, compared as quantities (1000m == 1).
fn assert_resources(workload: &Value, requests: (&str, &str), limits: (&str, &str)) {
    let name = workload["metadata"]["name"].as_str().unwrap_or_default();
    let r = &first_container(workload)["resources"];
    for (section, (cpu, memory)) in [("requests", requests), ("limits", limits)] {
        for (resource, want) in [("cpu", cpu), ("memory", memory)] {
            let what = format!("{name} {section}.{resource}");
            let got = quantity(&r[section][resource], &what);
            let want_q = quantity(&Value::String(want.to_string()), "expected");
            assert!(
                (got - want_q).abs() < 1e-9,
                "{what} is {}, the plan says {want}",
                r[section][resource]
            );
        }
    }
}

fn replicas(workload: &Value) -> Option<i64> {
    workload["spec"]["replicas"].as_i64()
}

fn hpa_for<'a>(docs: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    all_of(docs, "HorizontalPodAutoscaler").find(|h| {
        h["spec"]["scaleTargetRef"]["kind"] == kind && h["spec"]["scaleTargetRef"]["name"] == name
    })
}

/// A PDB in the workload's namespace whose selector's labels are all on the workload's pods.
fn pdb_for<'a>(docs: &'a [Value], workload: &Value) -> Option<&'a Value> {
    let pod_labels = &workload["spec"]["template"]["metadata"]["labels"];
    all_of(docs, "PodDisruptionBudget").find(|p| {
        p["metadata"]["namespace"] == workload["metadata"]["namespace"]
            && p["spec"]["selector"]["matchLabels"]
                .as_object()
                .is_some_and(|m| !m.is_empty() && m.iter().all(|(k, v)| &pod_labels[k] == v))
    })
}

fn assert_hpa(docs: &[Value], name: &str, min: i64, max: i64, cpu_percent: i64) {
    let hpa =
        hpa_for(docs, "Deployment", name).unwrap_or_else(|| panic!("no HPA for Deployment {name}"));
    assert_eq!(hpa["spec"]["minReplicas"], min, "{name} HPA minReplicas");
    assert_eq!(hpa["spec"]["maxReplicas"], max, "{name} HPA maxReplicas");
    let cpu = hpa["spec"]["metrics"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["resource"]["name"] == "cpu"))
        .unwrap_or_else(|| panic!("{name} HPA has no cpu metric: {hpa}"));
    assert_eq!(
        cpu["resource"]["target"]["averageUtilization"], cpu_percent,
        "{name} HPA cpu target"
    );
    let workload = find(docs, "Deployment", name);
    assert_eq!(
        replicas(workload),
        None,
        "{name} is scaled by its HPA, so spec.replicas must be absent"
    );
}

fn claim_storage(template: &Value) -> &Value {
    &template["spec"]["resources"]["requests"]["storage"]
}

const AGENTS: [&str; 4] = [
    "ai-interviewer-pdf-extractor",
    "ai-interviewer-interview-agent",
    "ai-interviewer-claude-llm-agent",
    "ai-interviewer-openai-llm-agent",
];

/// The plan's "Small Cluster (Development)": backend 2 x (200m, 256Mi) with 1000m/1Gi limits,
/// agents 100m/128Mi with 500m/512Mi, PostgreSQL (1 CPU, 1GB), Redis (100m, 256Mi),
/// MinIO (500m, 512Mi), single replicas elsewhere, no autoscaling and no budgets.
#[test]
fn ai_interviewer_dev_has_the_plans_numbers() {
    let Some(docs) = render_exec(Stack::AiInterviewer, Env::Dev) else {
        return;
    };
    let backend = find(docs, "Deployment", "ai-interviewer-backend");
    assert_eq!(replicas(backend), Some(2));
    assert_resources(backend, ("200m", "256Mi"), ("1000m", "1Gi"));
    for agent in AGENTS {
        let w = find(docs, "Deployment", agent);
        assert_eq!(replicas(w), Some(1), "{agent}");
        assert_resources(w, ("100m", "128Mi"), ("500m", "512Mi"));
    }
    let postgres = find(docs, "StatefulSet", "ai-interviewer-postgres");
    assert_eq!(replicas(postgres), Some(1));
    assert_resources(postgres, ("1", "1Gi"), ("1", "1Gi"));
    assert_eq!(
        claim_storage(&postgres["spec"]["volumeClaimTemplates"][0]),
        "10Gi"
    );
    let minio = find(docs, "StatefulSet", "ai-interviewer-minio");
    assert_eq!(replicas(minio), Some(1));
    assert_resources(minio, ("500m", "512Mi"), ("500m", "512Mi"));
    assert_eq!(
        claim_storage(&minio["spec"]["volumeClaimTemplates"][0]),
        "20Gi"
    );
    let redis = find(docs, "Deployment", "ai-interviewer-redis");
    assert_eq!(replicas(redis), Some(1));
    assert_resources(redis, ("100m", "256Mi"), ("100m", "256Mi"));
    assert_eq!(
        replicas(find(docs, "Deployment", "ai-interviewer-registry")),
        Some(1)
    );
    assert_eq!(
        all_of(docs, "HorizontalPodAutoscaler").count(),
        0,
        "dev has no autoscaling"
    );
    assert_eq!(
        all_of(docs, "PodDisruptionBudget").count(),
        0,
        "dev has no disruption budgets"
    );
    // Dev runs on the cluster's default storage class.
    assert!(
        postgres["spec"]["volumeClaimTemplates"][0]["spec"]
            .get("storageClassName")
            .is_none()
    );
}

/// The plan's "Medium Cluster (Production)": backend (500m, 512Mi) scaled 2-5 by an HPA with a
/// disruption budget, agents (200m, 256Mi) scaled vertically (one replica, no budget),
/// PostgreSQL (2 CPU, 2GB), Redis (200m, 512Mi), MinIO (1 CPU, 1GB), a single registry.
#[test]
fn ai_interviewer_prod_has_the_plans_numbers() {
    let Some(docs) = render_exec(Stack::AiInterviewer, Env::Prod) else {
        return;
    };
    let backend = find(docs, "Deployment", "ai-interviewer-backend");
    assert_resources(backend, ("500m", "512Mi"), ("1000m", "1Gi"));
    assert_hpa(docs, "ai-interviewer-backend", 2, 5, 70);
    assert!(
        pdb_for(docs, backend).is_some(),
        "the backend has a PodDisruptionBudget in prod"
    );
    for agent in AGENTS {
        let w = find(docs, "Deployment", agent);
        assert_eq!(replicas(w), Some(1), "{agent} scales vertically");
        assert_resources(w, ("200m", "256Mi"), ("1000m", "1Gi"));
        assert!(
            hpa_for(docs, "Deployment", agent).is_none(),
            "{agent} has no HPA"
        );
        assert!(
            pdb_for(docs, w).is_none(),
            "{agent} runs one replica, so no budget"
        );
    }
    let postgres = find(docs, "StatefulSet", "ai-interviewer-postgres");
    assert_eq!(replicas(postgres), Some(1));
    assert_resources(postgres, ("2", "2Gi"), ("2", "2Gi"));
    let minio = find(docs, "StatefulSet", "ai-interviewer-minio");
    assert_resources(minio, ("1", "1Gi"), ("1", "1Gi"));
    for (sts, size) in [(postgres, "10Gi"), (minio, "20Gi")] {
        let claim = &sts["spec"]["volumeClaimTemplates"][0];
        assert_eq!(claim_storage(claim), size);
        assert_eq!(
            claim["spec"]["storageClassName"], "ssd",
            "prod data volumes use the SSD class"
        );
    }
    assert_resources(
        find(docs, "Deployment", "ai-interviewer-redis"),
        ("200m", "512Mi"),
        ("200m", "512Mi"),
    );
    let registry = find(docs, "Deployment", "ai-interviewer-registry");
    assert_eq!(
        replicas(registry),
        Some(1),
        "the registry is a single stateful replica"
    );
    assert!(pdb_for(docs, registry).is_none());
    assert_eq!(
        all_of(docs, "HorizontalPodAutoscaler").count(),
        1,
        "only the backend scales horizontally"
    );
}

/// The Interview Prep Trainer plan: backend (250m, 256Mi) / (500m, 512Mi), 2 replicas, an HPA
/// 2-5 at 70% CPU in prod; PostgreSQL (250m, 256Mi) / (500m, 512Mi) on 10Gi; Ollama on port
/// 11434 with its 20Gi model volume; frontend on 3000 with 2 replicas.
#[test]
fn interview_prep_has_the_plans_numbers() {
    for env in [Env::Dev, Env::Prod] {
        let Some(docs) = render_exec(Stack::InterviewPrep, env) else {
            return;
        };
        let backend = find(docs, "Deployment", "backend");
        assert_resources(backend, ("250m", "256Mi"), ("500m", "512Mi"));
        let postgres = find(docs, "StatefulSet", "postgres");
        assert_resources(postgres, ("250m", "256Mi"), ("500m", "512Mi"));
        assert_eq!(
            claim_storage(&postgres["spec"]["volumeClaimTemplates"][0]),
            "10Gi"
        );
        assert_eq!(
            claim_storage(find(docs, "PersistentVolumeClaim", "ollama-models")),
            "20Gi"
        );
        let ollama = find(docs, "Deployment", "ollama");
        assert_eq!(first_container(ollama)["ports"][0]["containerPort"], 11434);
        assert_eq!(replicas(ollama), Some(1));
        let frontend = find(docs, "Deployment", "frontend");
        assert_eq!(first_container(frontend)["ports"][0]["containerPort"], 3000);
        assert_eq!(replicas(frontend), Some(2), "{env:?} frontend");
        match env {
            Env::Dev => {
                assert_eq!(replicas(backend), Some(2));
                assert_eq!(
                    all_of(docs, "HorizontalPodAutoscaler").count(),
                    0,
                    "dev has no autoscaling"
                );
                assert_eq!(
                    all_of(docs, "PodDisruptionBudget").count(),
                    0,
                    "dev has no budgets"
                );
            }
            Env::Prod => {
                assert_hpa(docs, "backend", 2, 5, 70);
                assert!(
                    pdb_for(docs, backend).is_some(),
                    "the backend has a budget in prod"
                );
                assert!(
                    pdb_for(docs, frontend).is_some(),
                    "the frontend has a budget in prod"
                );
                assert!(pdb_for(docs, ollama).is_none(), "ollama runs one replica");
            }
        }
    }
}

/// Routing and hosts: the plans' Ingress paths, the environment's host, TLS only in prod.
#[test]
fn ingresses_route_as_the_plans_say() {
    let cases = [
        (
            Stack::AiInterviewer,
            Env::Dev,
            "ai-interviewer",
            "ai-interviewer.local",
        ),
        (
            Stack::AiInterviewer,
            Env::Prod,
            "ai-interviewer",
            "ai-interviewer.example.com",
        ),
        (
            Stack::InterviewPrep,
            Env::Dev,
            "interview-prep-ingress",
            "prep.local",
        ),
        (
            Stack::InterviewPrep,
            Env::Prod,
            "interview-prep-ingress",
            "prep.example.com",
        ),
    ];
    for (stack, env, name, host) in cases {
        let Some(docs) = render_exec(stack, env) else {
            return;
        };
        let ingress = find(docs, "Ingress", name);
        let rule = &ingress["spec"]["rules"][0];
        assert_eq!(rule["host"], host, "{stack:?} {env:?}");
        let routes: Vec<(String, String, i64)> = rule["http"]["paths"]
            .as_array()
            .expect("paths")
            .iter()
            .map(|p| {
                let svc = &p["backend"]["service"];
                (
                    p["path"].as_str().unwrap_or_default().to_string(),
                    svc["name"].as_str().unwrap_or_default().to_string(),
                    svc["port"]["number"].as_i64().unwrap_or_default(),
                )
            })
            .collect();
        let want: Vec<(String, String, i64)> = match stack {
            Stack::AiInterviewer => ["/", "/api/", "/static/", "/health"]
                .iter()
                .map(|p| (p.to_string(), "nginx-gateway".to_string(), 80))
                .collect(),
            Stack::InterviewPrep => vec![
                ("/".into(), "frontend".into(), 3000),
                ("/api".into(), "backend".into(), 8000),
            ],
        };
        assert_eq!(routes, want, "{stack:?} {env:?}");
        let tls = &ingress["spec"]["tls"];
        match env {
            Env::Dev => assert!(tls.is_null(), "{stack:?} dev has no TLS"),
            Env::Prod => assert_eq!(
                tls[0]["hosts"][0], host,
                "{stack:?} prod terminates TLS for its host"
            ),
        }
    }
    if let Some(docs) = render_exec(Stack::AiInterviewer, Env::Dev) {
        let gateway = find(docs, "Service", "nginx-gateway");
        assert_eq!(gateway["spec"]["ports"][0]["port"], 80);
        assert_eq!(gateway["spec"]["ports"][0]["targetPort"], "http");
        let conf = find(docs, "ConfigMap", "nginx-gateway-config")["data"]["nginx.conf"]
            .as_str()
            .unwrap_or_default();
        assert!(
            conf.contains("listen 8080;"),
            "the gateway listens above 1024 to run as non-root"
        );
        assert!(conf.contains("proxy_pass http://ai-interviewer-backend:8080"));
    }
}

// ---------------------------------------------------------------------------------------------
// Secrets and the shape of the tree

/// Prod renders no Secret at all (they are created outside git); dev generates only
/// throwaway values that say so.
#[test]
fn no_credentials_in_prod_and_only_fake_ones_in_dev() {
    for stack in [Stack::AiInterviewer, Stack::InterviewPrep] {
        let Some(prod) = render_exec(stack, Env::Prod) else {
            return;
        };
        let secrets: Vec<_> = all_of(prod, "Secret")
            .map(|s| s["metadata"]["name"].clone())
            .collect();
        assert!(
            secrets.is_empty(),
            "{stack:?} prod renders Secrets {secrets:?}"
        );
        let Some(dev) = render_exec(stack, Env::Dev) else {
            return;
        };
        let mut seen = 0;
        for secret in all_of(dev, "Secret") {
            let data = secret["data"]
                .as_object()
                .expect("generated Secrets carry data");
            for (key, value) in data {
                let sensitive = ["PASSWORD", "SECRET", "KEY", "password"]
                    .iter()
                    .any(|w| key.contains(w));
                if !sensitive {
                    continue;
                }
                seen += 1;
                let decoded = decode_base64(value.as_str().unwrap_or_default());
                assert!(
                    decoded.starts_with("dev-"),
                    "{stack:?} dev Secret key {key} is not obviously fake: {decoded}"
                );
            }
        }
        assert!(seen > 0, "{stack:?} dev generates its throwaway Secrets");
    }
}

/// Decodes with coreutils' base64 rather than a hand-written decoder.
fn decode_base64(text: &str) -> String {
    let run = util::run_cmd(Command::new("base64").arg("-d"), text);
    assert_eq!(run.code, 0, "base64 -d: {}", run.stderr);
    run.stdout
}

/// The bases stay lean: everything the function adds is absent from them, so a value seen in
/// the output came either from the overlay or from the function.
#[test]
fn bases_leave_the_defaults_to_the_function() {
    let Some(kubectl) = util::require_tool("kubectl", "renders the bases") else {
        return;
    };
    for base in ["base", "examples/interview-prep/base"] {
        let out = run_ok(
            Command::new(&kubectl)
                .arg("kustomize")
                .arg(util::root().join(base)),
            "kubectl kustomize base",
        );
        let docs = util::yaml_docs(&out);
        assert!(docs.len() > 5, "{base} renders its objects");
        for doc in &docs {
            let name = format!(
                "{} {}",
                doc["kind"].as_str().unwrap_or_default(),
                doc["metadata"]["name"].as_str().unwrap_or_default()
            );
            for kind in [
                "NetworkPolicy",
                "HorizontalPodAutoscaler",
                "PodDisruptionBudget",
            ] {
                assert_ne!(doc["kind"], kind, "{base}: {name}");
            }
            let Some(pod) = doc["spec"]["template"]["spec"].as_object() else {
                continue;
            };
            assert!(
                doc["spec"].get("replicas").is_none(),
                "{base}: {name} sets replicas"
            );
            assert!(
                !pod.contains_key("securityContext"),
                "{base}: {name} sets a pod securityContext"
            );
            for c in pod["containers"].as_array().expect("containers") {
                for field in [
                    "resources",
                    "readinessProbe",
                    "livenessProbe",
                    "startupProbe",
                    "securityContext",
                ] {
                    assert!(c.get(field).is_none(), "{base}: {name} sets {field}");
                }
                for port in c["ports"].as_array().into_iter().flatten() {
                    assert!(
                        port["name"].is_string(),
                        "{base}: {name} has an unnamed port"
                    );
                }
            }
            let component =
                &doc["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"];
            assert!(
                component.is_string(),
                "{base}: {name} is not labelled with its class"
            );
        }
    }
}

/// The image reference is written once; every other file reaches it through the Component.
#[test]
fn image_reference_is_written_once() {
    let image = image_reference();
    assert_eq!(image, "ghcr.io/apply-defaults/apply-defaults:0.1.0");
    let root = util::root();
    let mut hits = Vec::new();
    let mut dirs: Vec<PathBuf> = ["base", "overlays", "functions", "examples/interview-prep"]
        .iter()
        .map(|d| root.join(d))
        .collect();
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).expect("readdir") {
            let p = entry.expect("entry").path();
            if p.is_dir() {
                dirs.push(p);
            } else if std::fs::read_to_string(&p)
                .is_ok_and(|t| t.contains("ghcr.io/apply-defaults/"))
            {
                hits.push(p.strip_prefix(&root).expect("inside").display().to_string());
            }
        }
    }
    for file in ["kustomization.yaml", "Makefile"] {
        if std::fs::read_to_string(root.join(file))
            .is_ok_and(|t| t.contains("ghcr.io/apply-defaults/"))
        {
            hits.push(file.to_string());
        }
    }
    assert_eq!(
        hits,
        vec!["functions/container/kustomization.yaml".to_string()]
    );
}

/// The exec twins render the same manifests as their overlays and differ only in the function
/// directory they run, whose settings are the same.
#[test]
fn exec_twins_match_their_overlays() {
    let Some(kubectl) = util::require_tool("kubectl", "renders the kustomize overlays") else {
        return;
    };
    let tree = copy_tree();
    let mut plain = Vec::new();
    for overlay in ["dev", "prod", "dev-exec", "prod-exec"] {
        let path = tree
            .path()
            .join("overlays")
            .join(overlay)
            .join("kustomization.yaml");
        let mut k = util::yaml(&std::fs::read_to_string(&path).expect("reads"));
        let transformers = k
            .as_object_mut()
            .and_then(|m| m.remove("transformers"))
            .expect("runs the function");
        let function_dir = transformers[0].as_str().expect("a directory").to_string();
        std::fs::write(
            &path,
            apply_defaults::krm::yaml::to_string(&k).expect("writes"),
        )
        .expect("writes");
        let out = run_ok(
            Command::new(&kubectl)
                .arg("kustomize")
                .arg(path.parent().expect("dir")),
            "kubectl kustomize",
        );
        plain.push((overlay, function_dir, out));
    }
    for env in ["dev", "prod"] {
        let find = |o: &str| {
            plain
                .iter()
                .find(|(name, _, _)| *name == o)
                .expect("rendered")
        };
        let (_, container_fn, container_out) = find(env);
        let (_, exec_fn, exec_out) = find(&format!("{env}-exec"));
        assert_eq!(
            container_out, exec_out,
            "overlays/{env}-exec renders other manifests than overlays/{env}"
        );
        assert_eq!(container_fn, &format!("../../functions/{env}"));
        assert_eq!(exec_fn, &format!("../../functions/{env}-exec"));
        let exec_kustomization = util::yaml(
            &std::fs::read_to_string(
                tree.path()
                    .join("functions")
                    .join(format!("{env}-exec/kustomization.yaml")),
            )
            .expect("reads"),
        );
        let container_kustomization = util::yaml(
            &std::fs::read_to_string(
                tree.path()
                    .join("functions")
                    .join(format!("{env}/kustomization.yaml")),
            )
            .expect("reads"),
        );
        assert_eq!(
            exec_kustomization["resources"], container_kustomization["resources"],
            "{env}: same settings for both forms"
        );
        assert_eq!(
            exec_kustomization["components"],
            serde_json::json!(["../exec"])
        );
        assert_eq!(
            container_kustomization["components"],
            serde_json::json!(["../container"])
        );
    }
}
