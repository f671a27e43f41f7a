//! Every way the function is run, for real: the container image under kustomize's exact
//! `docker run` flags (through every `kubectl.1.NN` on the machine), kpt `fn eval` and `fn render`
//! with exec and image, check-only validators, standalone kustomize with exec (when installed),
//! `stream` over Helm-style input, pipes, and the Argo CD install example (the real Helm 3 and
//! Helm 4 post-renderers are in tests/helm.rs).
//!
//! Outputs are compared between runners (container vs exec vs stream) rather than with fixed
//! files, so these tests pin down the plumbing and stay valid while the defaults evolve.
//! The image comes from `scripts/build-image.sh` (scripts/test.sh builds it first).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::{self, Run};

use crate::util::{
    PUBLISHED_IMAGE as FALLBACK_IMAGE, function_image as image, image_tag, published_tag,
};

fn fixture(rel: &str) -> PathBuf {
    util::root().join("tests/testdata/runners").join(rel)
}

/// Notes which runner path ran, for the summary scripts/test.sh prints at the end.
pub(crate) fn record(line: &str) {
    eprintln!("RUNNER: {line}");
    if let Some(path) = std::env::var_os("APPLY_DEFAULTS_RUNNER_LOG") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// A directory holding `docker` -> podman (kustomize only knows `docker run`).
fn docker_shim(dir: &Path) -> PathBuf {
    let shim = dir.join("shim");
    std::fs::create_dir_all(&shim).expect("mkdir");
    write_executable(&shim.join("docker"), "#!/bin/sh\nexec podman \"$@\"\n");
    shim
}

/// A directory where `apply-defaults` is the binary under test (for bare-name lookups).
fn bin_dir(dir: &Path) -> PathBuf {
    let d = dir.join("bin");
    std::fs::create_dir_all(&d).expect("mkdir");
    std::os::unix::fs::symlink(util::bin(), d.join("apply-defaults")).expect("symlink");
    d
}

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// PATH with `dirs` in front.
fn path_with(dirs: &[&Path]) -> OsString {
    let mut all: Vec<PathBuf> = dirs.iter().map(|d| d.to_path_buf()).collect();
    if let Some(p) = std::env::var_os("PATH") {
        all.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(all).expect("PATH joins")
}

/// Copies fixture files into `dest`, pointing image references at the tag under test.
fn copy_files(from: &Path, dest: &Path, names: &[&str]) {
    std::fs::create_dir_all(dest).expect("mkdir");
    for name in names {
        let text = std::fs::read_to_string(from.join(name)).expect("read fixture");
        std::fs::write(dest.join(name), text.replace(FALLBACK_IMAGE, &image_tag())).expect("write");
    }
}

/// The commented sample package (deployment.yaml, service.yaml) in `dest`.
fn package(dest: &Path) -> PathBuf {
    copy_files(
        &fixture("package"),
        dest,
        &["deployment.yaml", "service.yaml"],
    );
    dest.to_path_buf()
}

/// A kpt package: the sample plus the named Kptfile (and the check config it may point at).
fn kpt_package(dest: &Path, kptfile: &str) -> PathBuf {
    package(dest);
    let kptfiles = fixture("kptfiles");
    copy_files(&kptfiles, dest, &["apply-defaults-check.yaml"]);
    let text = std::fs::read_to_string(kptfiles.join(kptfile)).expect("read Kptfile");
    std::fs::write(
        dest.join("Kptfile"),
        text.replace(FALLBACK_IMAGE, &image_tag()),
    )
    .expect("write");
    dest.to_path_buf()
}

fn files(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("readdir") {
        let entry = entry.expect("entry");
        if entry.file_type().expect("type").is_file() {
            let name = entry.file_name().to_string_lossy().into_owned();
            out.insert(name, std::fs::read_to_string(entry.path()).expect("read"));
        }
    }
    out
}

/// The resource files of a package (the Kptfile and the check config are bookkeeping).
fn resource_files(dir: &Path) -> BTreeMap<String, String> {
    let mut f = files(dir);
    f.remove("Kptfile");
    f.remove("apply-defaults-check.yaml");
    f
}

fn kpt() -> Option<PathBuf> {
    util::require_tool("kpt", "runs the function through kpt fn eval / fn render")
}

fn kubectl() -> Option<PathBuf> {
    util::require_tool("kubectl", "kubectl kustomize runs container functions")
}

fn run_in(cmd: &mut Command) -> Run {
    util::run_cmd(cmd, "")
}

/// Objects by identity, without the bookkeeping annotations orchestrators add or strip.
fn objects(docs: Vec<Value>) -> BTreeMap<String, Value> {
    const BOOKKEEPING: [&str; 5] = [
        "internal.config.kubernetes.io/",
        "config.kubernetes.io/path",
        "config.kubernetes.io/index",
        "config.k8s.io/id",
        "kustomize.config.k8s.io/",
    ];
    let mut out = BTreeMap::new();
    for mut doc in docs.into_iter().filter(|d| !d.is_null()) {
        if let Some(meta) = doc.get_mut("metadata").and_then(Value::as_object_mut) {
            if let Some(Value::Object(ann)) = meta.get_mut("annotations") {
                ann.retain(|k, _| !BOOKKEEPING.iter().any(|p| k.starts_with(p)));
                if ann.is_empty() {
                    meta.remove("annotations");
                }
            }
        }
        let key = format!(
            "{} {} {}/{}",
            doc["apiVersion"].as_str().unwrap_or(""),
            doc["kind"].as_str().unwrap_or(""),
            doc["metadata"]["namespace"].as_str().unwrap_or(""),
            doc["metadata"]["name"].as_str().unwrap_or("")
        );
        assert!(
            out.insert(key.clone(), doc).is_none(),
            "two objects named {key}"
        );
    }
    out
}

fn assert_same_objects(
    what: &str,
    actual: &BTreeMap<String, Value>,
    expected: &BTreeMap<String, Value>,
) {
    let (a, e): (Vec<_>, Vec<_>) = (actual.keys().collect(), expected.keys().collect());
    assert_eq!(a, e, "{what}: different objects");
    for (k, v) in expected {
        assert_eq!(
            &actual[k],
            v,
            "{what}: {k} differs\n--- actual\n{}\n--- expected\n{}",
            serde_json::to_string_pretty(&actual[k]).unwrap_or_default(),
            serde_json::to_string_pretty(v).unwrap_or_default()
        );
    }
}

/// The defaults really went in: the app container got resources (the finished injector).
fn assert_defaulted(objects: &BTreeMap<String, Value>, deployment: &str) {
    let d = objects
        .iter()
        .find(|(k, _)| {
            k.starts_with("apps/v1 Deployment ") && k.ends_with(&format!("/{deployment}"))
        })
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no Deployment {deployment} in {:?}", objects.keys()));
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert!(
        c["resources"]["requests"].is_object(),
        "no requests on {deployment}: {c}"
    );
}

/// `kubectl kustomize DIR | apply-defaults stream --config FILE`: the reference every runner
/// must agree with.
fn kustomize_then_stream(kubectl: &Path, dir: &Path, config: &Path) -> BTreeMap<String, Value> {
    let rendered = run_in(
        Command::new(kubectl)
            .args(["kustomize", "--enable-alpha-plugins"])
            .arg(dir),
    )
    .expect_code(0);
    let config_arg = format!("--config={}", config.display());
    let out = util::run(&["stream", &config_arg], &rendered.stdout).expect_code(0);
    objects(util::yaml_docs(&out.stdout))
}

/// base/ (the package) and container/ (the package plus the container transformer).
fn kustomize_dirs(tmp: &Path) -> (PathBuf, PathBuf) {
    let base = package(&tmp.join("base"));
    std::fs::write(
        base.join("kustomization.yaml"),
        "resources:\n  - deployment.yaml\n  - service.yaml\n",
    )
    .expect("write");
    let container = tmp.join("container");
    copy_files(&fixture("kustomize"), &container, &["apply-defaults.yaml"]);
    std::fs::write(
        container.join("kustomization.yaml"),
        "resources:\n  - ../base\ntransformers:\n  - apply-defaults.yaml\n",
    )
    .expect("write");
    (base, container)
}

// ---------------------------------------------------------------------------------------------
// The image itself

#[test]
fn image_is_static_scratch_nonroot_and_labelled() {
    let Some(tag) = image() else { return };
    let inspect = run_in(Command::new("podman").args(["image", "inspect", &tag])).expect_code(0);
    let info: Value = serde_json::from_str(&inspect.stdout).expect("inspect JSON");
    let info = &info[0];
    let config = &info["Config"];
    assert_eq!(config["User"], "65534:65534", "runs as nobody by number");
    assert_eq!(
        config["Entrypoint"],
        serde_json::json!(["/usr/local/bin/apply-defaults"])
    );
    for label in [
        "org.opencontainers.image.title",
        "org.opencontainers.image.version",
        "org.opencontainers.image.revision",
        "org.opencontainers.image.source",
        "org.opencontainers.image.licenses",
        "org.opencontainers.image.created",
    ] {
        assert!(
            config["Labels"][label].is_string(),
            "label {label} missing: {}",
            config["Labels"]
        );
    }
    assert_eq!(
        config["Labels"]["org.opencontainers.image.version"],
        env!("CARGO_PKG_VERSION")
    );
    let size = info["Size"].as_u64().expect("size");
    assert!(
        size < 16 * 1024 * 1024,
        "image is {size} bytes; the target is a few MB"
    );
    // No shell: only the function can run.
    let sh = run_in(Command::new("podman").args([
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        "/bin/sh",
        &tag,
        "-c",
        "true",
    ]));
    assert_ne!(sh.code, 0, "the image must not contain a shell");
    record(&format!("image {tag}: {size} bytes, user 65534, no shell"));
}

#[test]
fn image_runs_under_kustomize_docker_flags_read_only() {
    let Some(tag) = image() else { return };
    let tmp = util::tempdir();
    let items: Vec<Value> = ["deployment.yaml", "service.yaml"]
        .iter()
        .map(|f| util::yaml(&std::fs::read_to_string(package(tmp.path()).join(f)).expect("read")))
        .collect();
    let fc = util::configmap(&[("environment", "prod")]);
    let input = util::resource_list(&items, Some(&fc));
    // kustomize's exact flags (krm-interop.md), plus a read-only root and no capabilities.
    let out = util::run_cmd(
        Command::new("podman").args([
            "run",
            "--rm",
            "-i",
            "-a",
            "STDIN",
            "-a",
            "STDOUT",
            "-a",
            "STDERR",
            "--network",
            "none",
            "--user",
            "nobody",
            "--security-opt=no-new-privileges",
            "--read-only",
            "--cap-drop=ALL",
            "-e",
            "LOG_TO_STDERR=true",
            "-e",
            "STRUCTURED_RESULTS=true",
            &tag,
        ]),
        &input,
    )
    .expect_code(0);
    let local = util::run(&[], &input).expect_code(0);
    let (a, b) = (util::yaml(&out.stdout), util::yaml(&local.stdout));
    assert_eq!(a["kind"], "ResourceList");
    assert_same_objects(
        "image vs local binary",
        &objects(a["items"].as_array().cloned().unwrap_or_default()),
        &objects(b["items"].as_array().cloned().unwrap_or_default()),
    );
    record("podman run with kustomize's flags (--user nobody --network none --read-only): ok");
}

#[test]
fn image_install_hands_the_binary_to_an_init_container_volume() {
    let Some(tag) = image() else { return };
    let tmp = util::tempdir();
    let tools = tmp.path().join("custom-tools");
    std::fs::create_dir(&tools).expect("mkdir");
    // An emptyDir is world-writable; the init container runs as nobody.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tools, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    }
    let mount = format!("{}:/custom-tools", tools.display());
    run_in(Command::new("podman").args([
        "run",
        "--rm",
        "--network",
        "none",
        "--user",
        "nobody",
        "--read-only",
        "--cap-drop=ALL",
        "--security-opt=no-new-privileges",
        "-v",
        &mount,
        &tag,
        "install",
        "/custom-tools",
    ]))
    .expect_code(0);
    let installed = tools.join("apply-defaults");
    let version = run_in(Command::new(&installed).arg("--version")).expect_code(0);
    assert!(
        version.stdout.starts_with("apply-defaults "),
        "{}",
        version.stdout
    );
    // The copy is the KRM function itself: a plain stream is refused in function mode.
    let out = util::run_cmd(
        &mut Command::new(&installed),
        "kind: ResourceList\nitems: []\n",
    )
    .expect_code(0);
    assert!(out.stdout.contains("kind: ResourceList"));
    record("image `install DIR` (Argo CD init container): ok");
}

// ---------------------------------------------------------------------------------------------
// kustomize

/// `kubectl.1.NN` binaries beside the real kubectl (kustomize v5.0 .. v5.6).
fn kubectl_versions() -> Vec<PathBuf> {
    let Some(kubectl) = util::which("kubectl") else {
        return Vec::new();
    };
    let real = std::fs::canonicalize(&kubectl).unwrap_or(kubectl);
    let Some(dir) = real.parent() else {
        return Vec::new();
    };
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let minor = name.strip_prefix("kubectl.1.")?.parse().ok()?;
                    Some((minor, e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

fn kustomize_version(kubectl: &Path) -> String {
    let out = run_in(Command::new(kubectl).args(["version", "--client"]));
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix("Kustomize Version: "))
        .unwrap_or("?")
        .to_string()
}

#[test]
fn kubectl_kustomize_runs_the_container_function_in_every_version() {
    let Some(tag) = image() else { return };
    let Some(kubectl) = kubectl() else { return };
    let versions = kubectl_versions();
    if versions.is_empty() {
        assert!(
            !util::in_ci(),
            "no kubectl.1.NN beside {}; CI expects 1.27 .. 1.33",
            kubectl.display()
        );
        eprintln!("SKIPPED: no versioned kubectl.1.NN binaries; using kubectl only");
    }
    let tmp = util::tempdir();
    let (base, container) = kustomize_dirs(tmp.path());
    let shim = docker_shim(tmp.path());
    let expected = kustomize_then_stream(&kubectl, &base, &container.join("apply-defaults.yaml"));
    assert_defaulted(&expected, "api");
    let before = files(&base);
    let all: Vec<PathBuf> = if versions.is_empty() {
        vec![kubectl.clone()]
    } else {
        versions
    };
    for k in &all {
        let out = run_in(
            Command::new(k)
                .args(["kustomize", "--enable-alpha-plugins"])
                .arg(&container)
                .env("PATH", path_with(&[&shim])),
        );
        let name = k
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let out = out.expect_code(0);
        assert!(
            !out.stdout.contains("\nresults:"),
            "{name}: results leaked into the output"
        );
        assert_same_objects(
            &format!("{name} container function vs kubectl kustomize | stream"),
            &objects(util::yaml_docs(&out.stdout)),
            &expected,
        );
        record(&format!(
            "{name} kustomize --enable-alpha-plugins, container {tag} ({}): ok",
            kustomize_version(k)
        ));
    }
    // The commented sources are read, never written.
    assert_eq!(
        files(&base),
        before,
        "kustomize must not touch the package files"
    );
    assert!(files(&base)["deployment.yaml"].contains("# The only container"));
}

#[test]
fn kubectl_kustomize_piped_into_stream() {
    let Some(kubectl) = kubectl() else { return };
    let tmp = util::tempdir();
    let (base, container) = kustomize_dirs(tmp.path());
    let objects = kustomize_then_stream(&kubectl, &base, &container.join("apply-defaults.yaml"));
    assert_defaulted(&objects, "api");
    // Same result as the KRM function on the same objects and config.
    let rendered = run_in(Command::new(&kubectl).arg("kustomize").arg(&base)).expect_code(0);
    let fc =
        util::yaml(&std::fs::read_to_string(container.join("apply-defaults.yaml")).expect("read"));
    let out = util::run(
        &[],
        &util::resource_list(&util::yaml_docs(&rendered.stdout), Some(&fc)),
    )
    .expect_code(0);
    let items = util::yaml(&out.stdout)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_same_objects("stream vs function mode", &objects, &self::objects(items));
    record("kubectl kustomize DIR | apply-defaults stream --config FILE: ok");
}

/// The GitOps tree (base, overlays, functions) in a temporary directory, with the container
/// form pointed at the image under test.
fn gitops_tree(dest: &Path) {
    for dir in ["base", "overlays", "functions"] {
        util::copy_dir(&util::root().join(dir), &dest.join(dir));
    }
    let component = dest.join("functions/container/kustomization.yaml");
    let text = std::fs::read_to_string(&component).expect("read functions/container");
    std::fs::write(&component, text.replace(&published_tag(), &image_tag())).expect("write");
}

/// Standalone kustomize (a pinned build, see scripts/tool-versions.sh) renders every overlay of
/// the AI Interviewer exactly as the reviewed goldens say, in both forms: the container form
/// (`kustomize build --enable-alpha-plugins overlays/ENV`, docker shimmed to podman) and the
/// exec form Argo CD runs (`--enable-alpha-plugins --enable-exec overlays/ENV-exec`, the binary
/// found on PATH by its bare name).
fn standalone_kustomize_renders_the_goldens(key: &str, what: &str) {
    standalone_kustomize_renders(key, what, |docs| docs);
}

/// kustomize v5.8.2 stopped copying `labels:` onto StatefulSet `volumeClaimTemplates` (kustomize's
/// own transformer: `kustomize build base`, with no function, shows the same difference, which
/// the newest-version test asserts). The goldens were made with the kustomize in kubectl; this
/// drops exactly those labels from both sides so the comparison still covers all of the
/// function's output.
fn without_claim_template_labels(mut docs: Vec<Value>) -> Vec<Value> {
    for doc in &mut docs {
        if doc["kind"] != "StatefulSet" {
            continue;
        }
        for claim in doc["spec"]["volumeClaimTemplates"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            if let Some(meta) = claim["metadata"].as_object_mut() {
                meta.remove("labels");
            }
        }
    }
    docs
}

fn standalone_kustomize_renders(key: &str, what: &str, normalise: fn(Vec<Value>) -> Vec<Value>) {
    let Some(kustomize) = util::pinned_tool(key, what) else {
        return;
    };
    let Some(tag) = image() else { return };
    let version = util::pinned_version(&kustomize);
    let tmp = util::tempdir();
    gitops_tree(tmp.path());
    let shim = docker_shim(tmp.path());
    let bin = bin_dir(tmp.path());
    for env in ["dev", "prod"] {
        let golden = format!("stacks/ai-interviewer/{env}.yaml");
        let container = run_in(
            Command::new(&kustomize)
                .args(["build", "--enable-alpha-plugins"])
                .arg(format!("overlays/{env}"))
                .current_dir(tmp.path())
                .env("PATH", path_with(&[&shim])),
        )
        .expect_code(0);
        let expected = normalise(util::yaml_docs(&util::read_golden(&golden)));
        assert_eq!(
            util::rendered_text(normalise(util::yaml_docs(&container.stdout))),
            util::rendered_text(expected.clone()),
            "kustomize {key} container render of overlays/{env} differs from the golden {golden}"
        );
        let exec = run_in(
            Command::new(&kustomize)
                .args(["build", "--enable-alpha-plugins", "--enable-exec"])
                .arg(format!("overlays/{env}-exec"))
                .current_dir(tmp.path())
                .env("PATH", path_with(&[&bin])),
        )
        .expect_code(0);
        assert_eq!(
            util::rendered_text(normalise(util::yaml_docs(&exec.stdout))),
            util::rendered_text(expected),
            "kustomize {key} exec render of overlays/{env}-exec differs from the golden {golden}"
        );
    }
    record(&format!(
        "kustomize {version} ({what}) build --enable-alpha-plugins overlays/{{dev,prod}} \
         (image {tag}) and --enable-exec overlays/{{dev,prod}}-exec: goldens"
    ));
}

#[test]
fn standalone_kustomize_newest_renders_overlays_and_exec_twins() {
    standalone_kustomize_renders("KUSTOMIZE", "newest v5", without_claim_template_labels);
    // The one difference normalised away is kustomize's own: its plain build of the base, with
    // no function in it, has no labels on the claim templates either.
    let Some(kustomize) = util::pinned_tool("KUSTOMIZE", "newest v5") else {
        return;
    };
    let base = run_in(
        Command::new(&kustomize)
            .args(["build", "base"])
            .current_dir(util::root()),
    )
    .expect_code(0);
    let docs = util::yaml_docs(&base.stdout);
    assert_eq!(
        without_claim_template_labels(docs.clone()),
        docs,
        "kustomize's own build of base now labels claim templates: drop the normalisation"
    );
}

#[test]
fn standalone_kustomize_oldest_v5_0_renders_overlays_and_exec_twins() {
    standalone_kustomize_renders_the_goldens("KUSTOMIZE_OLD", "oldest v5.0.x");
}

#[test]
fn argocd_bundled_kustomize_renders_overlays_and_exec_twins() {
    standalone_kustomize_renders_the_goldens("KUSTOMIZE_ARGOCD", "the version Argo CD bundles");
}

/// Argo CD's repo-server runs its bundled kustomize with `kustomize.buildOptions`
/// (`--enable-alpha-plugins --enable-exec`) on the Application's `source.path`: the same
/// command, with the version Argo CD ships, on the paths the example Applications name.
#[test]
fn argocd_bundled_kustomize_renders_the_applications_paths() {
    let Some(kustomize) = util::pinned_tool("KUSTOMIZE_ARGOCD", "the kustomize Argo CD bundles")
    else {
        return;
    };
    let Some(kubectl) = kubectl() else { return };
    let version = util::pinned_version(&kustomize);
    let tmp = util::tempdir();
    let bin = bin_dir(tmp.path());
    let apps = run_in(
        Command::new(&kubectl)
            .arg("kustomize")
            .arg(util::root().join("examples/argocd/applications")),
    )
    .expect_code(0);
    let docs = util::yaml_docs(&apps.stdout);
    assert_eq!(docs.len(), 2, "dev and prod Applications");
    for app in &docs {
        let path = app["spec"]["source"]["path"].as_str().expect("source.path");
        let overlay = util::root().join(path);
        let out = run_in(
            Command::new(&kustomize)
                .args(["build", "--enable-alpha-plugins", "--enable-exec"])
                .arg(&overlay)
                .env("PATH", path_with(&[&bin])),
        )
        .expect_code(0);
        let got = objects(util::yaml_docs(&out.stdout));
        assert_defaulted(&got, "api");
        // The same as kubectl's render of the overlay (which skips exec functions) piped
        // through `stream` with the overlay's config.
        let expected =
            kustomize_then_stream(&kubectl, &overlay, &overlay.join("apply-defaults.yaml"));
        assert_same_objects(
            &format!("Argo CD kustomize {version} on {path}"),
            &got,
            &expected,
        );
    }
    record(&format!(
        "Argo CD's bundled kustomize {version} --enable-alpha-plugins --enable-exec on the \
         Applications' paths: ok"
    ));
}

// ---------------------------------------------------------------------------------------------
// kpt

const COMMENTS: [&str; 3] = [
    "# The API: a plain backend Deployment, nothing production-ready yet.",
    "# keep this name: the Service selects its pods by it",
    "# The only container; its port is what probes and policies are derived from.",
];

fn assert_comments_kept(pkg: &Path) {
    let f = files(pkg);
    for c in COMMENTS {
        assert!(
            f["deployment.yaml"].contains(c),
            "lost comment {c:?}:\n{}",
            f["deployment.yaml"]
        );
    }
    assert!(
        f["service.yaml"].contains("# named, so the pods may move the port"),
        "{}",
        f["service.yaml"]
    );
}

/// `kpt fn eval --exec BIN` on the sample package: the reference result for the kpt runners.
fn kpt_eval_exec(kpt: &Path, tmp: &Path) -> BTreeMap<String, String> {
    let pkg = package(&tmp.join("eval-exec"));
    run_in(
        Command::new(kpt)
            .args(["fn", "eval"])
            .arg(&pkg)
            .arg("--exec")
            .arg(util::bin())
            .args(["--", "environment=prod"]),
    )
    .expect_code(0);
    resource_files(&pkg)
}

#[test]
fn kpt_fn_eval_exec_keeps_comments_and_is_idempotent() {
    let Some(kpt) = kpt() else { return };
    let tmp = util::tempdir();
    let pkg = package(&tmp.path().join("pkg"));
    let eval = || {
        run_in(
            Command::new(&kpt)
                .args(["fn", "eval"])
                .arg(&pkg)
                .arg("--exec")
                .arg(util::bin())
                .args(["--", "environment=prod"]),
        )
        .expect_code(0)
    };
    eval();
    let first = files(&pkg);
    assert_comments_kept(&pkg);
    let docs: Vec<Value> = first.values().flat_map(|t| util::yaml_docs(t)).collect();
    assert_defaulted(&objects(docs), "api");
    eval();
    assert_eq!(
        files(&pkg),
        first,
        "a second kpt fn eval changed the package"
    );
    record("kpt fn eval --exec (comments kept, idempotent): ok");
}

#[test]
fn kpt_fn_eval_exec_finds_the_binary_by_bare_name_on_path() {
    let Some(kpt) = kpt() else { return };
    let tmp = util::tempdir();
    let expected = kpt_eval_exec(&kpt, tmp.path());
    let bin = bin_dir(tmp.path());
    let pkg = package(&tmp.path().join("pkg"));
    run_in(
        Command::new(&kpt)
            .args(["fn", "eval"])
            .arg(&pkg)
            .args(["--exec", "apply-defaults", "--", "environment=prod"])
            .env("PATH", path_with(&[&bin])),
    )
    .expect_code(0);
    assert_eq!(resource_files(&pkg), expected);
    record("kpt fn eval --exec apply-defaults (bare name on PATH): ok");
}

#[test]
fn kpt_fn_eval_image_matches_exec() {
    let Some(tag) = image() else { return };
    let Some(kpt) = kpt() else { return };
    let tmp = util::tempdir();
    let expected = kpt_eval_exec(&kpt, tmp.path());
    let pkg = package(&tmp.path().join("pkg"));
    run_in(
        Command::new(&kpt)
            .args(["fn", "eval"])
            .arg(&pkg)
            .args([
                "--image",
                &tag,
                "--image-pull-policy",
                "never",
                "--",
                "environment=prod",
            ])
            .env("KPT_FN_RUNTIME", "podman"),
    )
    .expect_code(0);
    assert_eq!(resource_files(&pkg), expected, "image and exec disagree");
    assert_comments_kept(&pkg);
    record(&format!(
        "kpt fn eval --image {tag} (KPT_FN_RUNTIME=podman): ok"
    ));
}

#[test]
fn kpt_fn_eval_check_subcommand_reports_without_changing() {
    let Some(kpt) = kpt() else { return };
    let tmp = util::tempdir();
    let pkg = package(&tmp.path().join("pkg"));
    let before = files(&pkg);
    let exec = format!("{} check", util::bin().display());
    let out = run_in(Command::new(&kpt).args(["fn", "eval"]).arg(&pkg).args([
        "--exec",
        &exec,
        "--",
        "environment=prod",
    ]));
    assert_ne!(
        out.code, 0,
        "check must fail on a package without defaults\n{}{}",
        out.stdout, out.stderr
    );
    assert!(
        format!("{}{}", out.stdout, out.stderr).contains("check mode"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert_eq!(files(&pkg), before, "check mode changed the package");
    record("kpt fn eval --exec \"apply-defaults check\": fails, package unchanged");
}

fn render(kpt: &Path, pkg: &Path, path: &[&Path]) -> Run {
    run_in(
        Command::new(kpt)
            .args([
                "fn",
                "render",
                "--allow-exec",
                "--image-pull-policy",
                "never",
            ])
            .arg(pkg)
            .env("PATH", path_with(path))
            .env("KPT_FN_RUNTIME", "podman"),
    )
}

#[test]
fn kpt_fn_render_mutator_exec_by_bare_name() {
    let Some(kpt) = kpt() else { return };
    let tmp = util::tempdir();
    let expected = kpt_eval_exec(&kpt, tmp.path());
    let bin = bin_dir(tmp.path());
    let pkg = kpt_package(&tmp.path().join("pkg"), "mutator-exec.yaml");
    render(&kpt, &pkg, &[&bin]).expect_code(0);
    assert_eq!(resource_files(&pkg), expected, "render and eval disagree");
    let once = files(&pkg);
    render(&kpt, &pkg, &[&bin]).expect_code(0);
    assert_eq!(files(&pkg), once, "a second render changed the package");
    record("kpt fn render --allow-exec, Kptfile mutator exec: apply-defaults: ok");
}

#[test]
fn kpt_fn_render_mutator_image() {
    let Some(tag) = image() else { return };
    let Some(kpt) = kpt() else { return };
    let tmp = util::tempdir();
    let expected = kpt_eval_exec(&kpt, tmp.path());
    let pkg = kpt_package(&tmp.path().join("pkg"), "mutator-image.yaml");
    render(&kpt, &pkg, &[]).expect_code(0);
    assert_eq!(
        resource_files(&pkg),
        expected,
        "render with the image and eval with exec disagree"
    );
    assert_comments_kept(&pkg);
    record(&format!("kpt fn render, Kptfile mutator image {tag}: ok"));
}

fn assert_validator_fails_unchanged(kpt: &Path, pkg: &Path, path: &[&Path]) -> Run {
    let before = files(pkg);
    let out = render(kpt, pkg, path);
    assert_ne!(
        out.code, 0,
        "the validator must fail on missing defaults\n{}{}",
        out.stdout, out.stderr
    );
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(
        said.contains("check mode"),
        "no check-mode results in:\n{said}"
    );
    assert_eq!(files(pkg), before, "a validator changed the package");
    out
}

#[test]
fn kpt_fn_render_validator_exec_with_spec_mode_check() {
    let Some(kpt) = kpt() else { return };
    let tmp = util::tempdir();
    let bin = bin_dir(tmp.path());
    let pkg = kpt_package(&tmp.path().join("pkg"), "validator-exec.yaml");
    assert_validator_fails_unchanged(&kpt, &pkg, &[&bin]);
    record(
        "kpt fn render, Kptfile validator exec (configPath, spec.mode: check): fails, unchanged",
    );
}

#[test]
fn kpt_fn_render_validator_image_with_configmap_mode_check() {
    let Some(tag) = image() else { return };
    let Some(kpt) = kpt() else { return };
    let tmp = util::tempdir();
    let pkg = kpt_package(&tmp.path().join("pkg"), "validator-image.yaml");
    assert_validator_fails_unchanged(&kpt, &pkg, &[]);
    record(&format!(
        "kpt fn render, Kptfile validator image {tag} (ConfigMap mode: check): fails, unchanged"
    ));
}

#[test]
fn kpt_fn_render_mutator_then_check_validator_passes() {
    let Some(kpt) = kpt() else { return };
    let tmp = util::tempdir();
    let bin = bin_dir(tmp.path());
    let pkg = kpt_package(&tmp.path().join("pkg"), "mutate-then-validate-exec.yaml");
    // The API's callers must show in the package: a prod Service nobody is seen to call is an
    // error in check mode (issue 14), so this package routes to it as a public API does.
    std::fs::write(
        pkg.join("ingress.yaml"),
        "# The API's public route.\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: api\nspec:\n  rules:\n    - http:\n        paths:\n          - path: /\n            pathType: Prefix\n            backend:\n              service: {name: api, port: {number: 80}}\n",
    )
    .expect("write ingress.yaml");
    let out = render(&kpt, &pkg, &[&bin]).expect_code(0);
    assert!(!out.stderr.contains("check mode"), "{}", out.stderr);
    assert_comments_kept(&pkg);
    record("kpt fn render, mutator then check validator (exec): passes");
}

// ---------------------------------------------------------------------------------------------
// Helm and pipes

fn helm_stream_input() -> String {
    std::fs::read_to_string(fixture("helm/rendered-chart.yaml")).expect("read")
}

/// The KRM function on the same objects: what every stream run must equal.
fn function_mode_reference(stream: &str, config: &Path) -> BTreeMap<String, Value> {
    let items: Vec<Value> = util::yaml_docs(stream)
        .into_iter()
        .filter(|d| !d.is_null())
        .collect();
    let fc = util::yaml(&std::fs::read_to_string(config).expect("read config"));
    let out = util::run(&[], &util::resource_list(&items, Some(&fc))).expect_code(0);
    objects(
        util::yaml(&out.stdout)["items"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
    )
}

/// Helm's `# Source:` comments and the empty documents a template that renders nothing leaves:
/// `stream` takes them and writes only objects, the same as the KRM function. (The real Helm 3
/// and Helm 4 runs are in tests/helm.rs.)
#[test]
fn stream_takes_source_comments_and_empty_documents() {
    let config = fixture("helm/config.yaml");
    let arg = format!("--config={}", config.display());
    let out = util::run(&["stream", &arg], &helm_stream_input()).expect_code(0);
    let docs = util::yaml_docs(&out.stdout);
    assert!(
        docs.iter().all(|d| d.is_object()),
        "empty or non-object documents in the output:\n{}",
        out.stdout
    );
    let got = objects(docs);
    for want in [
        "v1 ServiceAccount /release-web",
        "v1 Service /release-web",
        "apps/v1 Deployment /release-web",
    ] {
        assert!(
            got.contains_key(want),
            "{want} missing from {:?}",
            got.keys()
        );
    }
    assert_defaulted(&got, "release-web");
    assert_same_objects(
        "stream vs function mode",
        &got,
        &function_mode_reference(&helm_stream_input(), &config),
    );
}

#[test]
fn plain_stream_without_subcommand_is_an_error_pointing_to_stream() {
    for (what, input) in [
        ("a multi-document stream", helm_stream_input()),
        (
            "a single Deployment",
            std::fs::read_to_string(fixture("package/deployment.yaml")).expect("read"),
        ),
    ] {
        let out = util::run(&[], &input).expect_code(1);
        assert!(
            out.stdout.is_empty(),
            "{what}: wrote to stdout:\n{}",
            out.stdout
        );
        assert!(
            out.stderr.contains("apply-defaults stream"),
            "{what}: no pointer to `stream`:\n{}",
            out.stderr
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Argo CD

fn kubernetes_validate(docs_yaml: &str, what: &str) {
    let Some(kv) = util::require_tool(
        "kubernetes-validate",
        "validates rendered manifests against the API schemas",
    ) else {
        return;
    };
    let tmp = util::tempdir();
    let file = tmp.path().join("manifests.yaml");
    std::fs::write(&file, docs_yaml).expect("write");
    let out = run_in(
        Command::new(kv)
            .args(["--strict", "-k", "1.33.0"])
            .arg(&file),
    );
    assert_eq!(
        out.code, 0,
        "{what} does not validate:\n{}{}",
        out.stdout, out.stderr
    );
}

#[test]
fn argocd_repo_server_component_installs_the_binary_and_validates() {
    let Some(kubectl) = kubectl() else { return };
    let tmp = util::tempdir();
    util::copy_dir(&fixture("argocd-base"), &tmp.path().join("base"));
    util::copy_dir(
        &util::root().join("examples/argocd/repo-server"),
        &tmp.path().join("repo-server"),
    );
    let out = run_in(
        Command::new(&kubectl)
            .arg("kustomize")
            .arg(tmp.path().join("base")),
    )
    .expect_code(0);
    let got = objects(util::yaml_docs(&out.stdout));
    let cm = &got["v1 ConfigMap argocd/argocd-cm"];
    let options = cm["data"]["kustomize.buildOptions"].as_str().unwrap_or("");
    assert!(
        options.contains("--enable-alpha-plugins") && options.contains("--enable-exec"),
        "{cm}"
    );
    let spec = &got["apps/v1 Deployment argocd/argocd-repo-server"]["spec"]["template"]["spec"];
    let inits = spec["initContainers"].as_array().expect("initContainers");
    assert!(
        inits.iter().any(|c| c["name"] == "copyutil"),
        "upstream init container lost"
    );
    let install = inits
        .iter()
        .find(|c| c["name"] == "install-apply-defaults")
        .expect("install init container");
    assert_eq!(
        install["image"],
        published_tag(),
        "the init container uses the function image"
    );
    assert_eq!(
        install["args"],
        serde_json::json!(["install", "/custom-tools"])
    );
    let repo = &spec["containers"][0];
    assert_eq!(repo["name"], "argocd-repo-server");
    let mounts = repo["volumeMounts"].as_array().expect("mounts");
    assert!(
        mounts.iter().any(|m| m["mountPath"] == "/var/run/argocd"),
        "upstream mounts lost"
    );
    assert!(
        mounts
            .iter()
            .any(|m| m["mountPath"] == "/usr/local/bin/apply-defaults"
                && m["subPath"] == "apply-defaults"),
        "binary not mounted on PATH: {mounts:?}"
    );
    util::assert_golden("runners/argocd-repo-server.yaml", &out.stdout);
    kubernetes_validate(&out.stdout, "the patched Argo CD install");
    record("Argo CD repo-server component (kubectl kustomize + kubernetes-validate): ok");
}

#[test]
fn argocd_applications_point_at_overlays_that_render_and_validate() {
    let Some(kubectl) = kubectl() else { return };
    let apps = util::root().join("examples/argocd/applications");
    let out = run_in(Command::new(&kubectl).arg("kustomize").arg(&apps)).expect_code(0);
    let docs = util::yaml_docs(&out.stdout);
    assert_eq!(docs.len(), 2, "dev and prod Applications");
    for app in &docs {
        assert_eq!(app["apiVersion"], "argoproj.io/v1alpha1");
        assert_eq!(app["kind"], "Application");
        let path = app["spec"]["source"]["path"].as_str().expect("source.path");
        let overlay = util::root().join(path);
        assert!(
            overlay.join("kustomization.yaml").is_file(),
            "{path} is not a kustomization"
        );
        let config = overlay.join("apply-defaults.yaml");
        let fc = util::yaml(&std::fs::read_to_string(&config).expect("read overlay config"));
        let annotation = fc["metadata"]["annotations"]["config.kubernetes.io/function"]
            .as_str()
            .unwrap_or("");
        assert!(
            annotation.contains("path: apply-defaults"),
            "the repo-server runs the binary from PATH: {annotation}"
        );
        let env = fc["spec"]["environment"].as_str().expect("environment");
        assert!(
            app["metadata"]["name"]
                .as_str()
                .unwrap_or("")
                .ends_with(env),
            "{path} renders {env}"
        );
        // What the repo-server produces: kubectl skips the exec function, stream applies it.
        let rendered = kustomize_then_stream(&kubectl, &overlay, &config);
        assert_defaulted(&rendered, "api");
        let text: Vec<String> = rendered
            .values()
            .map(|v| apply_defaults::krm::yaml::to_string(v).expect("writes"))
            .collect();
        kubernetes_validate(&text.join("---\n"), path);
    }
    record("Argo CD Applications dev/prod -> overlays render (exec via stream) and validate: ok");
}

#[test]
fn containerfile_prebuilt_stage_does_not_need_the_builder() {
    // The offline build depends on this: buildah/BuildKit only build the stages the target
    // needs, and `prebuilt` must not need `builder` (whose base image cannot be pulled here).
    let text =
        std::fs::read_to_string(util::root().join("Containerfile")).expect("read Containerfile");
    let mut stage = String::new();
    let mut needs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("FROM ") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            stage = words.last().copied().unwrap_or_default().to_string();
            needs
                .entry(stage.clone())
                .or_default()
                .push(words[0].to_string());
        } else if let Some(from) = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("--from="))
        {
            needs
                .entry(stage.clone())
                .or_default()
                .push(from.to_string());
        }
    }
    fn closure(s: &str, needs: &BTreeMap<String, Vec<String>>, out: &mut Vec<String>) {
        for n in needs.get(s).into_iter().flatten() {
            if !out.contains(n) {
                out.push(n.clone());
                closure(n, needs, out);
            }
        }
    }
    let mut prebuilt = Vec::new();
    closure("prebuilt", &needs, &mut prebuilt);
    assert!(
        !prebuilt
            .iter()
            .any(|s| s == "builder" || s.contains("rust")),
        "prebuilt needs {prebuilt:?}"
    );
    // The default target (the last stage) is the from-source build users get with `podman build .`.
    let last_from = text
        .lines()
        .rev()
        .find(|l| l.starts_with("FROM "))
        .unwrap_or_default();
    assert!(last_from.ends_with("AS runtime"), "last stage: {last_from}");
}
