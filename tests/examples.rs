//! The catalog examples under `examples/<case>/`, run the kpt catalog's way.
//!
//! A case is a package (its YAML files, a Kptfile optional) plus `.expected/`:
//! - `config.yaml`: `exitCode`, and the function config as kpt would pass it: `fnConfig` (a file
//!   of the package, `kpt fn eval --fn-config`) or `args` (`kpt fn eval -- key=value`, which kpt
//!   turns into a ConfigMap `function-input`);
//! - `diff.patch`: a unified diff from the package's files to the files the function writes;
//! - `results.yaml`: the `results` of the output ResourceList;
//! - `stderr.txt`: what a person sees with `--report`.
//!
//! The runner builds the ResourceList from the files as kpt does (path and index annotations),
//! runs the binary, writes the items back per file, and compares with `.expected/`. Every case
//! runs twice: the second run on the first one's output must change nothing (idempotency).
//! `UPDATE_GOLDEN=1` rewrites `.expected/` (what `scripts/gen-docs.sh` does); review the diff.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use apply_defaults::krm::yaml;
use serde_json::{Value, json};
use similar::TextDiff;

use crate::util;

/// Example folders other work owns; they have no `.expected/` of this kind.
const OWNED_ELSEWHERE: &[&str] = &["argocd", "helm", "interview-prep"];

const PATH: &str = "internal.config.kubernetes.io/path";
const INDEX: &str = "internal.config.kubernetes.io/index";
const LEGACY_PATH: &str = "config.kubernetes.io/path";
const LEGACY_INDEX: &str = "config.kubernetes.io/index";

/// How `.expected/config.yaml` says the case runs.
pub(crate) struct Expected {
    pub(crate) exit_code: i32,
    fn_config: Option<String>,
    args: BTreeMap<String, String>,
}

/// What one run of the function produced.
pub(crate) struct Outcome {
    pub(crate) items: Vec<Value>,
    pub(crate) results: Value,
    pub(crate) stderr: String,
    pub(crate) code: i32,
}

fn examples_dir() -> PathBuf {
    util::root().join("examples")
}

pub(crate) fn read_expected(dir: &Path) -> Expected {
    let path = dir.join(".expected/config.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v = util::yaml(&text);
    let as_text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Expected {
        exit_code: v["exitCode"].as_i64().unwrap_or(0) as i32,
        fn_config: v["fnConfig"].as_str().map(str::to_string),
        args: v["args"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), as_text(v)))
            .collect(),
    }
}

/// The package's resource files, relative to the package, in a stable order.
fn package_files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("readdir") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            if name.starts_with('.') {
                continue;
            }
            if path.is_dir() {
                walk(base, &path, out);
            } else if name.ends_with(".yaml") || name.ends_with(".yml") || name == "Kptfile" {
                let rel = path.strip_prefix(base).expect("under base");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Reads the package into items annotated with their file and index, as kpt does.
pub(crate) fn read_package(dir: &Path) -> Vec<Value> {
    let mut items = Vec::new();
    for rel in package_files(dir) {
        let text = std::fs::read_to_string(dir.join(&rel)).expect("read");
        for (i, mut doc) in util::yaml_docs(&text)
            .into_iter()
            .filter(|d| !d.is_null())
            .enumerate()
        {
            let annotations = doc["metadata"]
                .as_object_mut()
                .expect("every example document has metadata")
                .entry("annotations")
                .or_insert_with(|| json!({}));
            for (key, value) in [
                (PATH, rel.clone()),
                (INDEX, i.to_string()),
                (LEGACY_PATH, rel.clone()),
                (LEGACY_INDEX, i.to_string()),
            ] {
                annotations[key] = Value::String(value);
            }
            items.push(doc);
        }
    }
    items
}

pub(crate) fn function_config(dir: &Path, expected: &Expected) -> Option<Value> {
    if let Some(file) = &expected.fn_config {
        let text = std::fs::read_to_string(dir.join(file)).expect("read fnConfig");
        return Some(util::yaml(&text));
    }
    if expected.args.is_empty() {
        return None;
    }
    let pairs: Vec<(&str, &str)> = expected
        .args
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut cm = util::configmap(&pairs);
    cm["metadata"]["annotations"] = json!({"config.kubernetes.io/local-config": "true"});
    Some(cm)
}

pub(crate) fn run_function(items: &[Value], fc: Option<&Value>) -> Outcome {
    let run = util::run(&["--report"], &util::resource_list(items, fc));
    let out = if run.stdout.trim().is_empty() {
        panic!(
            "no ResourceList on stdout (exit {})\n--- stderr\n{}",
            run.code, run.stderr
        )
    } else {
        util::yaml(&run.stdout)
    };
    Outcome {
        items: out["items"].as_array().cloned().unwrap_or_default(),
        results: out.get("results").cloned().unwrap_or_else(|| json!([])),
        stderr: run.stderr,
        code: run.code,
    }
}

fn annotation<'a>(item: &'a Value, key: &str) -> Option<&'a str> {
    item["metadata"]["annotations"][key].as_str()
}

/// The item without the annotations the orchestrator adds (an emptied map is dropped too).
pub(crate) fn without_orchestrator_annotations(item: &Value) -> Value {
    let mut item = item.clone();
    if let Some(meta) = item["metadata"].as_object_mut() {
        if let Some(a) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            a.retain(|k, _| {
                !k.starts_with("internal.config.kubernetes.io/")
                    && k != LEGACY_PATH
                    && k != LEGACY_INDEX
            });
            if a.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    item
}

/// The files the items would be written to, as kpt writes them: by path annotation, in index
/// order; an item without a path goes to `<kind>_<name>.yaml`.
fn files_of(items: &[Value]) -> BTreeMap<String, String> {
    let mut by_file: BTreeMap<String, Vec<(i64, Value)>> = BTreeMap::new();
    for item in items {
        let path = annotation(item, PATH)
            .or_else(|| annotation(item, LEGACY_PATH))
            .map_or_else(
                || {
                    format!(
                        "{}_{}.yaml",
                        item["kind"].as_str().unwrap_or_default().to_lowercase(),
                        item["metadata"]["name"].as_str().unwrap_or_default()
                    )
                },
                str::to_string,
            );
        let index = annotation(item, INDEX)
            .or_else(|| annotation(item, LEGACY_INDEX))
            .and_then(|i| i.parse().ok())
            .unwrap_or(i64::MAX);
        by_file
            .entry(path)
            .or_default()
            .push((index, without_orchestrator_annotations(item)));
    }
    by_file
        .into_iter()
        .map(|(path, mut docs)| {
            docs.sort_by_key(|(i, _)| *i);
            let docs: Vec<Value> = docs.into_iter().map(|(_, d)| d).collect();
            (
                path,
                yaml::documents_to_string(&docs).expect("items print as YAML"),
            )
        })
        .collect()
}

/// A unified diff, file by file, from the package to what the function wrote.
fn package_diff(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> String {
    let paths: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let mut out = String::new();
    for path in paths {
        let (old, new) = (before.get(path), after.get(path));
        if old == new {
            continue;
        }
        let from = if old.is_some() {
            format!("a/{path}")
        } else {
            "/dev/null".into()
        };
        let to = if new.is_some() {
            format!("b/{path}")
        } else {
            "/dev/null".into()
        };
        let (old, new) = (
            old.map_or("", String::as_str),
            new.map_or("", String::as_str),
        );
        out.push_str(
            &TextDiff::from_lines(old, new)
                .unified_diff()
                .context_radius(3)
                .header(&from, &to)
                .to_string(),
        );
    }
    out
}

/// Compares with a file of `.expected/`, or rewrites it under `UPDATE_GOLDEN=1`.
fn expect_file(dir: &Path, name: &str, actual: &str) {
    let path = dir.join(".expected").join(name);
    if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        std::fs::write(&path, actual).expect("write .expected");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != actual {
        let diff = TextDiff::from_lines(expected.as_str(), actual)
            .unified_diff()
            .header("expected", "actual")
            .to_string();
        panic!(
            "{} differs from what the function does now (UPDATE_GOLDEN=1, or scripts/gen-docs.sh, \
             rewrites it; review the diff)\n{diff}",
            path.display()
        );
    }
}

/// Runs one case twice and checks it against `.expected/`. Returns the first run's items.
fn run_case(name: &str) -> Vec<Value> {
    let dir = examples_dir().join(name);
    let expected = read_expected(&dir);
    let input = read_package(&dir);
    let fc = function_config(&dir, &expected);

    let first = run_function(&input, fc.as_ref());
    assert_eq!(
        first.code, expected.exit_code,
        "{name}: exit code {} (wanted {})\n--- stderr\n{}",
        first.code, expected.exit_code, first.stderr
    );
    if expected.exit_code != 0 {
        assert_eq!(
            first.items, input,
            "{name}: a failing run (check mode, bad config) must change nothing"
        );
    }
    expect_file(
        &dir,
        "diff.patch",
        &package_diff(&files_of(&input), &files_of(&first.items)),
    );
    expect_file(
        &dir,
        "results.yaml",
        &yaml::to_string(&first.results).expect("results print"),
    );
    expect_file(&dir, "stderr.txt", &first.stderr);

    let second = run_function(&first.items, fc.as_ref());
    assert_eq!(
        second.code, first.code,
        "{name}: the second run exits differently\n{}",
        second.stderr
    );
    if first.items != second.items {
        let diff = package_diff(&files_of(&first.items), &files_of(&second.items));
        panic!("{name}: running the function on its own output changed it again:\n{diff}");
    }
    first.items
}

macro_rules! cases {
    ($($test:ident => $dir:literal),* $(,)?) => {
        /// Every case, by folder name.
        pub(crate) const CASES: &[&str] = &[$($dir),*];
        $(
            #[test]
            fn $test() {
                run_case($dir);
            }
        )*
    };
}

cases! {
    resources => "resources",
    probes => "probes",
    security => "security",
    replicas => "replicas",
    autoscaling => "autoscaling",
    disruption_budget => "disruption-budget",
    spreading => "spreading",
    network_policy => "network-policy",
    prod_stack => "prod-stack",
    opt_out => "opt-out",
    enforce => "enforce",
    check_mode => "check-mode",
    config_error => "config-error",
    configmap_config => "configmap-config",
    typed_config => "typed-config",
}

#[test]
fn every_example_folder_is_a_case() {
    let mut found: Vec<String> = std::fs::read_dir(examples_dir())
        .expect("examples/ exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_string))
        .filter(|n| !OWNED_ELSEWHERE.contains(&n.as_str()))
        .collect();
    found.sort();
    let mut listed: Vec<String> = CASES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        found, listed,
        "add the new example to the cases! list in tests/examples.rs"
    );
    for case in CASES {
        let dir = examples_dir().join(case);
        assert!(dir.join("README.md").is_file(), "{case} has no README.md");
        assert!(
            dir.join(".expected/config.yaml").is_file(),
            "{case} has no .expected/config.yaml"
        );
    }
}

/// Items by identity without config objects and orchestrator annotations: what two runners or
/// two config forms must agree on.
fn comparable(items: &[Value]) -> BTreeMap<String, Value> {
    items
        .iter()
        .filter(|i| annotation(i, "config.kubernetes.io/local-config").is_none())
        .map(|i| {
            (
                format!("{:?}", apply_defaults::key_of(i)),
                without_orchestrator_annotations(i),
            )
        })
        .collect()
}

#[test]
fn both_config_forms_give_the_same_output() {
    // The two packages hold the same manifests; only the form of the config differs.
    let cm = comparable(&run_case("configmap-config"));
    let typed = comparable(&run_case("typed-config"));
    assert_eq!(cm, typed);
}

#[test]
fn kpt_writes_what_the_runner_predicts() {
    let Some(kpt) = util::require_tool(
        "kpt",
        "cross-checks the example runner against kpt fn eval --exec",
    ) else {
        return;
    };
    for case in ["prod-stack", "opt-out", "check-mode"] {
        let src = examples_dir().join(case);
        let expected = read_expected(&src);
        let tmp = util::tempdir();
        let pkg = tmp.path().join(case);
        util::copy_dir(&src, &pkg);
        std::fs::remove_dir_all(pkg.join(".expected")).expect("rm .expected");
        let mut cmd = std::process::Command::new(&kpt);
        cmd.args(["fn", "eval", "--exec"]).arg(util::bin());
        if let Some(f) = &expected.fn_config {
            cmd.arg("--fn-config").arg(pkg.join(f));
        }
        cmd.arg(&pkg);
        if !expected.args.is_empty() {
            cmd.arg("--");
            cmd.args(expected.args.iter().map(|(k, v)| format!("{k}={v}")));
        }
        let run = util::run_cmd(&mut cmd, "");
        assert_eq!(
            run.code, expected.exit_code,
            "{case}: kpt exit code {}\n--- stdout\n{}\n--- stderr\n{}",
            run.code, run.stdout, run.stderr
        );

        let predicted = run_function(
            &read_package(&src),
            function_config(&src, &expected).as_ref(),
        );
        let written = comparable(&read_package(&pkg));
        assert!(!written.is_empty(), "{case}: kpt left no resources");
        assert_eq!(
            written,
            comparable(&predicted.items),
            "{case}: kpt wrote something else"
        );
    }
}

/// Validates with a real JSON Schema 2020-12 validator (Python's `jsonschema`), as an editor
/// would: prints `{name: [error messages]}` for the documents on stdin.
const VALIDATE_PY: &str = r#"
import json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
validator = Draft202012Validator(schema)
docs = json.load(sys.stdin)
print(json.dumps({name: sorted(e.message for e in validator.iter_errors(doc)) for name, doc in docs.items()}))
"#;

#[test]
fn schema_file_accepts_the_examples_and_flags_the_broken_config() {
    let Some(python) =
        util::require_tool("python3", "validates configs against the JSON Schema file")
    else {
        return;
    };
    let has_jsonschema = util::run_cmd(
        std::process::Command::new(&python).args(["-c", "import jsonschema"]),
        "",
    );
    if has_jsonschema.code != 0 {
        assert!(
            !util::in_ci(),
            "python3 has no jsonschema module (pip install jsonschema)"
        );
        eprintln!("SKIPPED: python3 has no jsonschema module");
        return;
    }
    let mut docs = serde_json::Map::new();
    for case in CASES {
        let path = examples_dir().join(case).join("fn-config.yaml");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let doc = util::yaml(&text);
        if doc["kind"] == "ApplyDefaults" {
            docs.insert((*case).to_string(), doc);
        }
    }
    let profile = util::run(&["profile"], "").expect_code(0);
    docs.insert("shipped-profile".into(), util::yaml(&profile.stdout));
    let schema = util::root().join("docs/apply-defaults.schema.json");
    let run = util::run_cmd(
        std::process::Command::new(&python)
            .arg("-c")
            .arg(VALIDATE_PY)
            .arg(&schema),
        &Value::Object(docs).to_string(),
    )
    .expect_code(0);
    let errors: BTreeMap<String, Vec<String>> =
        serde_json::from_str(&run.stdout).expect("validator output");
    for (name, messages) in &errors {
        if name == "config-error" {
            assert!(
                messages.iter().any(|m| m.contains("'replica'")),
                "the schema should flag the misspelt `replica`: {messages:?}"
            );
        } else {
            assert!(
                messages.is_empty(),
                "{name}: the schema rejects a valid config: {messages:?}"
            );
        }
    }
    assert!(
        errors.len() >= 10,
        "too few typed configs validated: {:?}",
        errors.keys()
    );
}

/// One example's run, for the checkers and the NetworkPolicy oracle (tests/checkers.rs,
/// tests/netpol_oracle.rs): the manifests in and out (config objects, the Kptfile and
/// orchestrator annotations dropped), the function config and the run's results.
pub(crate) struct RenderedExample {
    pub name: &'static str,
    pub input: Vec<Value>,
    pub config: Option<Value>,
    pub output: Vec<Value>,
    pub results: Value,
}

/// Every case that renders (exit 0; check mode and the broken config write nothing new).
pub(crate) fn rendered_examples() -> Vec<RenderedExample> {
    let manifests = |items: &[Value]| -> Vec<Value> {
        items
            .iter()
            .filter(|i| annotation(i, "config.kubernetes.io/local-config").is_none())
            .filter(|i| i["kind"] != "Kptfile")
            .map(without_orchestrator_annotations)
            .collect()
    };
    CASES
        .iter()
        .filter_map(|name| {
            let dir = examples_dir().join(name);
            let expected = read_expected(&dir);
            if expected.exit_code != 0 {
                return None;
            }
            let input = read_package(&dir);
            let config = function_config(&dir, &expected);
            let out = run_function(&input, config.as_ref());
            assert_eq!(out.code, 0, "{name}: {}", out.stderr);
            Some(RenderedExample {
                name,
                input: manifests(&input),
                config,
                output: manifests(&out.items),
                results: out.results,
            })
        })
        .collect()
}
