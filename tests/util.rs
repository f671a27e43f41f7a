//! Shared helpers: run the binary, find real tools (a missing tool skips locally and fails
//! under CI=true), compare with reviewed golden files (UPDATE_GOLDEN=1 rewrites them).

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// What a process did.
#[derive(Debug)]
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl Run {
    /// Panics with everything the process said unless it exited with `code`.
    pub fn expect_code(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "exit code {} (wanted {code})\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// Path of the built `apply-defaults` binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_apply-defaults"))
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the binary with arguments and stdin.
pub fn run(args: &[&str], stdin: &str) -> Run {
    run_cmd(Command::new(bin()).args(args), stdin)
}

/// Runs any command with stdin, capturing everything.
pub fn run_cmd(cmd: &mut Command, stdin: &str) -> Run {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("failed to start {cmd:?}: {e}"));
    let mut input = child.stdin.take().expect("piped stdin");
    let data = stdin.as_bytes().to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("process ran");
    let _ = writer.join();
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// True in CI, where a missing tool is a failure rather than a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Finds a tool on PATH. Missing: under CI=true the test fails; otherwise it prints why it
/// skips and returns None.
pub fn require_tool(name: &str, why: &str) -> Option<PathBuf> {
    if let Some(p) = which(name) {
        return Some(p);
    }
    if in_ci() {
        panic!("{name} is not installed, and CI=true makes a missing tool a failure ({why})");
    }
    eprintln!("SKIPPED: {name} is not installed ({why})");
    None
}

/// Looks a program up on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Parses YAML the way the binary does (one document).
pub fn yaml(text: &str) -> Value {
    apply_defaults::krm::yaml::from_str(text).unwrap_or_else(|e| panic!("bad YAML: {e}\n{text}"))
}

/// Parses a multi-document stream.
pub fn yaml_docs(text: &str) -> Vec<Value> {
    apply_defaults::krm::yaml::documents_from_str(text)
        .unwrap_or_else(|e| panic!("bad YAML: {e}\n{text}"))
}

/// Wraps items and a functionConfig into ResourceList YAML.
pub fn resource_list(items: &[Value], function_config: Option<&Value>) -> String {
    let mut rl = serde_json::json!({
        "apiVersion": "config.kubernetes.io/v1",
        "kind": "ResourceList",
        "items": items,
    });
    if let Some(fc) = function_config {
        rl["functionConfig"] = fc.clone();
    }
    apply_defaults::krm::yaml::to_string(&rl).expect("writes")
}

/// A typed `ApplyDefaults` function config with this spec.
pub fn fn_config(spec: Value) -> Value {
    serde_json::json!({"apiVersion": "apply-defaults.dev/v1alpha1", "kind": "ApplyDefaults",
        "metadata": {"name": "fn"}, "spec": spec})
}

/// A kpt-style ConfigMap functionConfig.
pub fn configmap(data: &[(&str, &str)]) -> Value {
    let data: serde_json::Map<String, Value> = data
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "function-input"}, "data": data})
}

/// The text of a golden file under `tests/golden/`.
pub fn read_golden(rel: &str) -> String {
    let path = root().join("tests/golden").join(rel);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("missing golden file {} ({e})", path.display()))
}

/// Compares text with a golden file under `tests/golden/`. `UPDATE_GOLDEN=1` rewrites it.
pub fn assert_golden(rel: &str, actual: &str) {
    let path = root().join("tests/golden").join(rel);
    if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "missing golden file {} ({e}); run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let diff = simple_diff(&expected, actual);
        panic!(
            "output differs from {} (UPDATE_GOLDEN=1 rewrites it after review)\n{diff}",
            path.display()
        );
    }
}

fn simple_diff(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let mut out = String::new();
    for i in 0..e.len().max(a.len()) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if x == y => {}
            (x, y) => {
                out.push_str(&format!(
                    "line {}:\n  expected: {}\n  actual:   {}\n",
                    i + 1,
                    x.unwrap_or(&"<none>"),
                    y.unwrap_or(&"<none>")
                ));
                if out.len() > 4000 {
                    out.push_str("...\n");
                    break;
                }
            }
        }
    }
    out
}

/// A fresh temporary directory for a test.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("readdir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// The folder scripts/install-tools.sh builds the pinned tools into.
pub fn tools_dir() -> PathBuf {
    std::env::var_os("APPLY_DEFAULTS_TOOLS")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/apply-defaults-tools"))
}

/// A tool built by scripts/install-tools.sh at its pinned version, by its tools.env name
/// (`KUSTOMIZE`, `HELM3`, `KUBE_APISERVER`, ...). Missing: under CI=true the test fails;
/// otherwise it prints why it skips and returns None.
pub fn pinned_tool(key: &str, why: &str) -> Option<PathBuf> {
    let env = tools_dir().join("tools.env");
    let found = std::fs::read_to_string(&env).ok().and_then(|text| {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| PathBuf::from(v.trim()))
        })
    });
    if let Some(p) = found.filter(|p| p.is_file()) {
        return Some(p);
    }
    let msg = format!(
        "{key} is not in {} (run scripts/install-tools.sh; {why})",
        env.display()
    );
    if in_ci() {
        panic!("{msg}, and CI=true makes a missing tool a failure");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

/// The version a pinned tool was built at: `<tool>-<version>/bin/<exe>` in the tools folder.
pub fn pinned_version(path: &Path) -> String {
    path.parent()
        .and_then(Path::parent)
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .and_then(|n| n.rsplit_once('-').map(|(_, v)| v.to_string()))
        .unwrap_or_else(|| "?".into())
}

/// Rendered objects in the goldens' form: build annotations dropped, keys sorted, objects
/// sorted by kind, namespace, name: the form every rendering is compared with the goldens in.
pub fn normalize_rendered(mut docs: Vec<Value>) -> Vec<Value> {
    fn build_annotation(key: &str) -> bool {
        [
            "config.kubernetes.io/",
            "internal.config.kubernetes.io/",
            "config.k8s.io/",
            "kustomize.config.k8s.io/",
        ]
        .iter()
        .any(|p| key.starts_with(p))
    }
    fn sort_keys(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.sort_keys();
                map.values_mut().for_each(sort_keys);
            }
            Value::Array(items) => items.iter_mut().for_each(sort_keys),
            _ => {}
        }
    }
    for doc in &mut docs {
        let Some(meta) = doc.get_mut("metadata").and_then(Value::as_object_mut) else {
            continue;
        };
        let empty = match meta.get_mut("annotations").and_then(Value::as_object_mut) {
            Some(annotations) => {
                annotations.retain(|k, _| !build_annotation(k));
                annotations.is_empty()
            }
            None => false,
        };
        if empty {
            meta.remove("annotations");
        }
    }
    docs.iter_mut().for_each(sort_keys);
    let key = |d: &Value| {
        let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
        (
            s(&d["kind"]),
            s(&d["metadata"]["namespace"]),
            s(&d["metadata"]["name"]),
            s(&d["apiVersion"]),
        )
    };
    docs.sort_by_key(key);
    docs
}

/// Normalised objects as the goldens' text; empty documents of a standalone tool's output
/// (a trailing `---`) are not objects and are dropped first.
pub fn rendered_text(mut docs: Vec<Value>) -> String {
    docs.retain(|d| !d.is_null());
    apply_defaults::krm::yaml::documents_to_string(&normalize_rendered(docs)).expect("writes YAML")
}

/// The function image's reference as `functions/container` names it (the tests' fallback).
pub const PUBLISHED_IMAGE: &str = "ghcr.io/apply-defaults/apply-defaults:0.1.0";

/// The image under test: APPLY_DEFAULTS_IMAGE (set by scripts/test.sh), else the published one.
pub fn image_tag() -> String {
    std::env::var("APPLY_DEFAULTS_IMAGE")
        .ok()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(published_tag)
}

/// The reference users put in kustomizations, read like scripts/build-image.sh reads it.
pub fn published_tag() -> String {
    let file = root().join("functions/container/kustomization.yaml");
    std::fs::read_to_string(file)
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                let v = l.trim().strip_prefix("image:")?;
                let v = v.split('#').next()?.trim().trim_matches(['"', '\'']);
                (!v.is_empty()).then(|| v.to_string())
            })
        })
        .unwrap_or_else(|| PUBLISHED_IMAGE.to_string())
}

/// The built image under test, or None (a skip; a failure under CI) when podman or the image
/// is missing.
pub fn function_image() -> Option<String> {
    require_tool("podman", "runs the function image")?;
    let tag = image_tag();
    let exists = Command::new("podman")
        .args(["image", "exists", &tag])
        .status();
    if exists.is_ok_and(|s| s.success()) {
        return Some(tag);
    }
    let why =
        format!("image {tag} is not built: run scripts/build-image.sh (scripts/test.sh does)");
    if in_ci() {
        panic!("{why}");
    }
    eprintln!("SKIPPED: {why}");
    None
}
