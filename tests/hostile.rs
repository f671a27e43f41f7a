//! Hostile and broken input: a clear error for every row of the bad-input matrix, fixed bounds
//! on what an input may cost (run under a 2 GiB address-space limit), the fuzz corpus as
//! regression tests, no Secret value in any result or log, and no I/O beyond stdin, stdout
//! and stderr.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use apply_defaults::krm::yaml::limits;
use serde_json::{Value, json};

use crate::util::{self, Run};

/// Address-space bound every hostile input must stay under (the 2 GiB).
const ADDRESS_SPACE: &str = "2147483648";
/// Kill a run after this long. Only a hang guard: the tests assert outcomes, not timings
/// (a debug build needs about a minute to count five million nodes on a busy machine).
const HANG_GUARD: Duration = Duration::from_secs(600);

/// Runs the binary on raw bytes under `prlimit --as=2 GiB`, killed after [`HANG_GUARD`].
fn run_bounded(args: &[&str], stdin: &[u8]) -> Run {
    let mut cmd = match util::which("prlimit") {
        Some(prlimit) => {
            let mut c = Command::new(prlimit);
            c.arg(format!("--as={ADDRESS_SPACE}"))
                .arg("--")
                .arg(util::bin());
            c
        }
        None => {
            // util-linux is part of every supported build machine; without it, run unbounded.
            util::require_tool("prlimit", "bounds the address space of hostile runs");
            Command::new(util::bin())
        }
    };
    cmd.args(args);
    run_bytes(&mut cmd, stdin)
}

fn run_bytes(cmd: &mut Command, stdin: &[u8]) -> Run {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("failed to start {cmd:?}: {e}"));
    let mut input = child.stdin.take().expect("piped stdin");
    let data = stdin.to_vec();
    // The process may refuse input early and close stdin: a broken pipe here is expected.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let pid = child.id();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let guard = std::thread::spawn(move || {
        if done_rx.recv_timeout(HANG_GUARD).is_err() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            return true;
        }
        false
    });
    let out = child.wait_with_output().expect("process ran");
    let _ = done_tx.send(());
    let killed = guard.join().unwrap_or(false);
    let _ = writer.join();
    assert!(!killed, "hang guard: killed after {HANG_GUARD:?} ({cmd:?})");
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// Input that cannot be read as a ResourceList: exit 1, nothing on stdout, and stderr says
/// what is wrong (every `wanted` fragment).
fn refused(run: Run, wanted: &[&str]) {
    assert_eq!(run.code, 1, "exit code\n--- stderr\n{}", run.stderr);
    assert!(
        run.stdout.is_empty(),
        "stdout must stay empty, got:\n{}",
        run.stdout
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    for w in wanted {
        assert!(
            run.stderr.contains(w),
            "stderr lacks `{w}`:\n{}",
            run.stderr
        );
    }
}

/// A readable ResourceList with bad items or config: written back with error results, exit 1.
fn written_with_errors(run: Run) -> (Value, Vec<Value>) {
    assert_eq!(
        run.code, 1,
        "exit code\n--- stdout\n{}\n--- stderr\n{}",
        run.stdout, run.stderr
    );
    let out = util::yaml(&run.stdout);
    assert_eq!(out["kind"], "ResourceList");
    let errors: Vec<Value> = out["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["severity"] == "error")
        .cloned()
        .collect();
    assert!(!errors.is_empty(), "no error results in\n{}", run.stdout);
    (out, errors)
}

fn messages(results: &[Value]) -> String {
    results
        .iter()
        .map(|r| {
            format!(
                "{} @ {}",
                r["message"].as_str().unwrap_or_default(),
                r["field"]["path"]
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn deployment(name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27", "ports": [{"name": "http", "containerPort": 8080}]}]}}}})
}

fn typed_config(spec: Value) -> Value {
    json!({"apiVersion": "apply-defaults.dev/v1alpha1", "kind": "ApplyDefaults", "metadata": {"name": "defaults"}, "spec": spec})
}

// ---------------------------------------------------------------------------------------------
// The bad-input matrix: input that is not a ResourceList at all.

#[test]
fn empty_stdin() {
    refused(
        run_bounded(&[], b""),
        &["stdin is empty", "kind: ResourceList"],
    );
    refused(run_bounded(&[], b"  \n\n"), &["stdin is empty"]);
}

#[test]
fn not_yaml() {
    refused(
        run_bounded(&[], b"{{{: ["),
        &["failed to parse YAML", "line 1"],
    );
}

#[test]
fn yaml_that_is_not_a_resource_list() {
    refused(
        run_bounded(
            &[],
            b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        ),
        &["`ConfigMap`, not a ResourceList", "apply-defaults stream"],
    );
    refused(
        run_bounded(&[], b"hello\n"),
        &["not a mapping with `kind: ResourceList`"],
    );
    refused(
        run_bounded(&[], b"- a\n- b\n"),
        &["not a mapping with `kind: ResourceList`"],
    );
    refused(
        run_bounded(&[], b"null\n"),
        &["not a mapping with `kind: ResourceList`"],
    );
    refused(
        run_bounded(&[], b"# only a comment\n"),
        &["not a mapping with `kind: ResourceList`"],
    );
    refused(
        run_bounded(&[], b"kind: ResourceList\nitems: {a: 1}\n"),
        &["`items` of the ResourceList must be a list"],
    );
    refused(
        run_bounded(&[], b"kind: ResourceList\nitems: []\nfunctionConfig: [1]\n"),
        &["`functionConfig` of the ResourceList must be a mapping"],
    );
}

#[test]
fn duplicate_keys() {
    refused(
        run_bounded(&[], b"kind: ResourceList\nitems: []\nitems: []\n"),
        &["duplicate mapping key `items`", "line 3"],
    );
    // Inside an item too: the second `name` would silently win in some readers.
    refused(
        run_bounded(&[], b"kind: ResourceList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\n    name: b\n"),
        &["duplicate mapping key `name`", "line 7"],
    );
}

#[test]
fn invalid_utf8() {
    refused(
        run_bounded(&[], b"kind: ResourceList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: \"\xff\xfe\"}\n"),
        &["not valid UTF-8 at byte"],
    );
    refused(
        run_bounded(&["stream"], b"a: \xc3\x28\n"),
        &["not valid UTF-8 at byte 3"],
    );
}

#[test]
fn tabs_as_indentation() {
    refused(
        run_bounded(&[], b"kind: ResourceList\nitems:\n\t- apiVersion: v1\n"),
        &["tabs", "line 3"],
    );
}

#[test]
fn truncated_document() {
    refused(
        run_bounded(
            &[],
            b"kind: ResourceList\nitems:\n- apiVersion: \"v1\n  kind: Conf",
        ),
        &["failed to parse YAML", "line 3"],
    );
    refused(
        run_bounded(&[], b"{\"kind\": \"ResourceList\", \"items\": [{\"a\": "),
        &["failed to parse YAML"],
    );
}

#[test]
fn several_documents_where_one_is_expected() {
    refused(
        run_bounded(
            &[],
            b"kind: ResourceList\nitems: []\n---\nkind: ResourceList\nitems: []\n",
        ),
        &[
            "2 YAML documents",
            "exactly one ResourceList",
            "apply-defaults stream",
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// The bad-input matrix: a readable ResourceList with bad items, written back with errors.

#[test]
fn items_that_are_not_mappings() {
    let run = run_bounded(&[], b"kind: ResourceList\nitems: [1, foo, [a], null]\n");
    let (out, errors) = written_with_errors(run);
    assert_eq!(
        out["items"],
        json!([1, "foo", ["a"], null]),
        "items are written back as they were"
    );
    let text = messages(&errors);
    for (i, what) in [(0, "number"), (1, "string"), (2, "list"), (3, "null")] {
        assert!(
            text.contains(&format!("item {i} is not a mapping (found {what})")),
            "{text}"
        );
    }
}

#[test]
fn items_without_api_version_or_kind() {
    let items = [
        json!({"kind": "Deployment", "metadata": {"name": "a"}}),
        json!({"apiVersion": "v1", "metadata": {"name": "b"}}),
        json!({"apiVersion": 7, "kind": "ConfigMap", "metadata": {"name": "c"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": "d"}),
    ];
    let run = run_bounded(&[], util::resource_list(&items, None).as_bytes());
    let (out, errors) = written_with_errors(run);
    assert_eq!(out["items"], json!(items));
    let text = messages(&errors);
    assert!(
        text.contains("item 0 has no `apiVersion` @ \"apiVersion\""),
        "{text}"
    );
    assert!(text.contains("item 1 has no `kind` @ \"kind\""), "{text}");
    assert!(text.contains("item 2 has a number `apiVersion`"), "{text}");
    assert!(text.contains("item 3 has a string `metadata`"), "{text}");
}

#[test]
fn workloads_without_metadata_or_name() {
    let mut no_meta = deployment("x");
    no_meta.as_object_mut().unwrap().remove("metadata");
    let mut no_name = deployment("y");
    no_name["metadata"].as_object_mut().unwrap().remove("name");
    let list = json!({"apiVersion": "v1", "kind": "List", "items": [deployment("inner")]});
    let nameless_cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}});
    let items = [
        no_meta.clone(),
        no_name.clone(),
        list.clone(),
        nameless_cm.clone(),
    ];
    let (out, errors) = written_with_errors(run_bounded(
        &[],
        util::resource_list(&items, None).as_bytes(),
    ));
    let text = messages(&errors);
    assert!(
        text.contains("Deployment at item 0 has no metadata.name"),
        "{text}"
    );
    assert!(
        text.contains("Deployment at item 1 has no metadata.name"),
        "{text}"
    );
    assert_eq!(
        errors.len(),
        2,
        "only the two workloads are errors:\n{text}"
    );
    assert_eq!(out["items"][0], no_meta);
    assert_eq!(out["items"][1], no_name);
    assert_eq!(
        out["items"][2], list,
        "a kind: List passes through untouched"
    );
    assert_eq!(
        out["items"][3], nameless_cm,
        "a non-workload without a name passes through untouched"
    );
}

#[test]
fn workloads_with_wrong_shapes_do_not_panic() {
    let text =
        std::fs::read(corpus_dir().join("wrong-shapes-in-workloads.yaml")).expect("corpus file");
    let run = run_bounded(&[], &text);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    util::yaml(&run.stdout);
}

// ---------------------------------------------------------------------------------------------
// The bad-input matrix: wrong config. The items come back unchanged, with error results.

fn config_errors(spec: Value) -> String {
    let items = [deployment("web")];
    let fc = typed_config(spec);
    let (out, errors) = written_with_errors(run_bounded(
        &[],
        util::resource_list(&items, Some(&fc)).as_bytes(),
    ));
    assert_eq!(out["items"], json!(items), "a bad config changes nothing");
    messages(&errors)
}

#[test]
fn config_string_for_a_number() {
    let text = config_errors(
        json!({"classes": {"backend": {"environments": {"prod": {"replicas": "three"}}}}}),
    );
    assert!(
        text.contains("spec.classes.backend.environments.prod.replicas"),
        "{text}"
    );
    assert!(text.contains("invalid type"), "{text}");
}

#[test]
fn config_bad_quantity() {
    let text = config_errors(
        json!({"classes": {"backend": {"environments": {"dev": {"resources": {"requests": {"memory": "1.5.0Gi"}}}}}}}),
    );
    assert!(text.contains("1.5.0Gi"), "{text}");
    assert!(
        text.contains("spec.classes.backend.environments.dev.resources.requests.memory"),
        "{text}"
    );
}

#[test]
fn config_negative_replicas() {
    let text =
        config_errors(json!({"classes": {"backend": {"environments": {"dev": {"replicas": -2}}}}}));
    assert!(
        text.contains("-2 is negative @ \"spec.classes.backend.environments.dev.replicas\""),
        "{text}"
    );
}

#[test]
fn config_hpa_min_above_max() {
    let text = config_errors(
        json!({"classes": {"backend": {"environments": {"prod": {"autoscaling": {
        "minReplicas": 6, "maxReplicas": 2, "targetCPUUtilizationPercentage": 70}}}}}}),
    );
    assert!(text.contains("2 is below minReplicas 6"), "{text}");
}

#[test]
fn config_unknown_class_names() {
    let text = config_errors(json!({"fallbackClass": "nope"}));
    assert!(
        text.contains("unknown class `nope`") && text.contains("spec.fallbackClass"),
        "{text}"
    );
    let text =
        config_errors(json!({"networkPolicy": {"edges": [{"from": "class:ghost", "to": "web"}]}}));
    assert!(
        text.contains("unknown class `ghost`") && text.contains("edges[0].from"),
        "{text}"
    );
    // On a workload: an error about that workload; the others are still processed.
    let mut d = deployment("annotated");
    d["metadata"]["annotations"] = json!({"apply-defaults.dev/class": "nope"});
    let items = [d.clone(), deployment("fine")];
    let (out, errors) = written_with_errors(run_bounded(
        &[],
        util::resource_list(&items, None).as_bytes(),
    ));
    let text = messages(&errors);
    assert!(text.contains("names unknown class `nope`"), "{text}");
    assert_eq!(
        out["items"][0], d,
        "the misclassified workload is left alone"
    );
}

#[test]
fn config_unknown_field_and_wrong_kind() {
    let text = config_errors(json!({"clases": {}}));
    assert!(text.contains("clases"), "{text}");
    let items = [deployment("web")];
    let fc = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}});
    let (_, errors) = written_with_errors(run_bounded(
        &[],
        util::resource_list(&items, Some(&fc)).as_bytes(),
    ));
    assert!(messages(&errors).contains("functionConfig kind `Secret` is not supported"));
}

#[test]
fn config_that_matches_no_workload_is_a_warning() {
    let fc = typed_config(json!({
        "classes": {"payments": {"match": {"labels": {"team": "payments"}, "names": ["pay-*"]}}},
        "networkPolicy": {"edges": [{"from": "ghost-caller", "to": "web"}, {"from": "web", "to": "ghost-callee"}]},
    }));
    let items = [deployment("web")];
    let run = run_bounded(&[], util::resource_list(&items, Some(&fc)).as_bytes()).expect_code(0);
    let out = util::yaml(&run.stdout);
    let warnings: Vec<Value> = out["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["severity"] == "warning")
        .cloned()
        .collect();
    let text = messages(&warnings);
    assert!(
        text.contains("class `payments` matches no workload"),
        "{text}"
    );
    assert!(text.contains("spec.classes.payments.match"), "{text}");
    assert!(
        text.contains("`ghost-caller` names no workload in the input"),
        "{text}"
    );
    assert!(text.contains("spec.networkPolicy.edges[0].from"), "{text}");
    assert!(
        text.contains("`ghost-callee`") && text.contains("edges[1].to"),
        "{text}"
    );
    assert!(
        !text.contains("`web`"),
        "an edge end that exists is not warned about:\n{text}"
    );
    assert!(
        run.stderr.contains("warning: "),
        "warnings are on stderr too:\n{}",
        run.stderr
    );
    // The shipped profile's own classes are not the user's doing: no warning for them.
    assert!(
        !text.contains("class `backend`") && !text.contains("class `frontend`"),
        "{text}"
    );

    // Matched classes and edges between existing workloads are silent.
    let mut pay = deployment("pay-api");
    pay["spec"]["template"]["metadata"]["labels"]["team"] = json!("payments");
    let fc = typed_config(json!({
        "classes": {"payments": {"match": {"labels": {"team": "payments"}}}},
        "networkPolicy": {"edges": [{"from": "pay-api", "to": "web"}]},
    }));
    let run = run_bounded(
        &[],
        util::resource_list(&[deployment("web"), pay], Some(&fc)).as_bytes(),
    )
    .expect_code(0);
    let out = util::yaml(&run.stdout);
    let warnings = out["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["severity"] == "warning")
        .count();
    assert_eq!(warnings, 0, "{}", run.stdout);
}

// ---------------------------------------------------------------------------------------------
// Resource bounds: refused with the bound named, under 2 GiB, without hanging.

fn limit_refused(run: Run, bound: usize, name: &str) {
    refused(run, &["input refused", &bound.to_string(), name]);
}

#[test]
fn deep_nesting_is_refused() {
    let yaml = format!(
        "kind: ResourceList\nitems: {}{}\n",
        "[".repeat(300),
        "]".repeat(300)
    );
    limit_refused(
        run_bounded(&[], yaml.as_bytes()),
        limits::MAX_DEPTH,
        "MAX_DEPTH",
    );
    let json = format!(
        "{{\"kind\": \"ResourceList\", \"items\": {}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    limit_refused(
        run_bounded(&[], json.as_bytes()),
        limits::MAX_DEPTH,
        "MAX_DEPTH",
    );
    let mut block =
        String::from("kind: ResourceList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  data:\n");
    for i in 0..200 {
        block.push_str(&format!("{}k{i}:\n", "  ".repeat(i + 2)));
    }
    limit_refused(
        run_bounded(&[], block.as_bytes()),
        limits::MAX_DEPTH,
        "MAX_DEPTH",
    );
    let stream = format!("a: {}{}\n", "[".repeat(300), "]".repeat(300));
    limit_refused(
        run_bounded(&["stream"], stream.as_bytes()),
        limits::MAX_DEPTH,
        "MAX_DEPTH",
    );
}

/// A "billion laughs" document: ten levels of nine aliases each (9^10 strings if expanded).
fn laughs(indent: &str) -> String {
    let mut s = format!(
        "{indent}a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
    );
    let names: Vec<char> = "abcdefghij".chars().collect();
    for w in names.windows(2) {
        let (prev, name) = (w[0], w[1]);
        let refs = vec![format!("*{prev}"); 9].join(",");
        s.push_str(&format!("{indent}{name}: &{name} [{refs}]\n"));
    }
    s
}

#[test]
fn alias_bombs_are_refused_wherever_they_are() {
    let top = format!("kind: ResourceList\nitems: []\n{}", laughs(""));
    let item = format!(
        "kind: ResourceList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {{name: x}}\n  data:\n{}",
        laughs("    ")
    );
    let config = format!(
        "kind: ResourceList\nitems: []\nfunctionConfig:\n  kind: ConfigMap\n  data:\n{}",
        laughs("    ")
    );
    for input in [&top, &item, &config] {
        limit_refused(
            run_bounded(&[], input.as_bytes()),
            limits::MAX_ALIAS_REPLAY,
            "MAX_ALIAS_REPLAY",
        );
    }
    limit_refused(
        run_bounded(&["stream"], laughs("").as_bytes()),
        limits::MAX_ALIAS_REPLAY,
        "MAX_ALIAS_REPLAY",
    );
    limit_refused(
        run_bounded(&["graph"], laughs("").as_bytes()),
        limits::MAX_ALIAS_REPLAY,
        "MAX_ALIAS_REPLAY",
    );
}

#[test]
fn aliases_to_a_long_string_are_refused() {
    // 2 MB of text, repeated by 200 aliases: 400 MB once expanded.
    let input = format!(
        "kind: ResourceList\nitems:\n- a: &a \"{}\"\n  b: [{}]\n",
        "x".repeat(2_000_000),
        vec!["*a"; 200].join(",")
    );
    limit_refused(
        run_bounded(&[], input.as_bytes()),
        limits::MAX_SCALAR_BYTES,
        "MAX_SCALAR_BYTES",
    );
}

#[test]
fn oversized_input_is_refused_by_size() {
    // One long string just past the input bound: refused before any parsing.
    let mut input = b"kind: ResourceList\nitems: []\nx: \"".to_vec();
    input.resize(limits::MAX_INPUT_BYTES + 10, b'x');
    input.extend_from_slice(b"\"\n");
    limit_refused(
        run_bounded(&[], &input),
        limits::MAX_INPUT_BYTES,
        "MAX_INPUT_BYTES",
    );
    limit_refused(
        run_bounded(&["stream"], &input),
        limits::MAX_INPUT_BYTES,
        "MAX_INPUT_BYTES",
    );
}

#[test]
fn very_many_nodes_are_refused() {
    // One list of one-character entries, just past the node bound, in about 10 MB: in YAML
    // flow syntax and in JSON (serde_json has no node budget of its own).
    let zeros = "0,".repeat(limits::MAX_NODES);
    let yaml = format!("{{kind: ResourceList, items: [{{data: [{zeros}0]}}]}}");
    limit_refused(
        run_bounded(&[], yaml.as_bytes()),
        limits::MAX_NODES,
        "MAX_NODES",
    );
    let json = format!("{{\"kind\": \"ResourceList\", \"items\": [{{\"data\": [{zeros}0]}}]}}");
    limit_refused(
        run_bounded(&[], json.as_bytes()),
        limits::MAX_NODES,
        "MAX_NODES",
    );
}

#[test]
fn very_many_items_are_refused() {
    let n = limits::MAX_ITEMS + 1;
    let json = format!(
        "{{\"kind\": \"ResourceList\", \"items\": [{}{{}}]}}",
        "{},".repeat(n - 1)
    );
    refused(
        run_bounded(&[], json.as_bytes()),
        &[
            &format!("{n} items"),
            &limits::MAX_ITEMS.to_string(),
            "MAX_ITEMS",
        ],
    );
    let stream = "---\nkind: X\n".repeat(n);
    refused(
        run_bounded(&["stream"], stream.as_bytes()),
        &[&limits::MAX_ITEMS.to_string()],
    );
}

#[test]
fn many_documents_in_function_mode_are_one_clear_error() {
    let input = "---\nkind: ResourceList\n".repeat(20_000);
    refused(
        run_bounded(&[], input.as_bytes()),
        &["20000 YAML documents"],
    );
}

// ---------------------------------------------------------------------------------------------
// The fuzz corpus (seeds, minimized finds and crashers) as regression tests.

fn corpus_dir() -> std::path::PathBuf {
    util::root().join("tests/testdata/hostile/corpus")
}

/// Whatever the input: no panic, exit 0 or 1, stdout empty or a readable ResourceList, and
/// exit 1 exactly when there is no output or the output has an error result.
fn check_invariants(name: &str, input: &[u8], run: &Run) {
    assert!(
        !run.stderr.contains("panicked"),
        "{name}: panic\n{}",
        run.stderr
    );
    assert!(
        run.code == 0 || run.code == 1,
        "{name}: exit {}\n{}",
        run.code,
        run.stderr
    );
    if run.stdout.is_empty() {
        assert_eq!(run.code, 1, "{name}: no output but exit 0");
        assert!(
            run.stderr.contains("error"),
            "{name}: no output and no error on stderr"
        );
        return;
    }
    let out: Value = apply_defaults::krm::yaml::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{name}: stdout is not YAML ({e})\n{}", run.stdout));
    assert_eq!(out["kind"], "ResourceList", "{name}");
    let has_errors = out["results"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["severity"] == "error");
    assert_eq!(
        run.code == 1,
        has_errors,
        "{name}: exit {} with error results: {has_errors}",
        run.code
    );
    let items_in = apply_defaults::krm::ResourceList::from_bytes(input)
        .map(|rl| rl.items.len())
        .unwrap_or(0);
    let items_out = out["items"].as_array().map_or(0, Vec::len);
    assert!(
        items_out >= items_in,
        "{name}: {items_in} items in, {items_out} out"
    );
}

#[test]
fn fuzz_corpus_runs_clean() {
    let mut entries: Vec<_> = std::fs::read_dir(corpus_dir())
        .expect("corpus directory")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    assert!(
        entries.len() >= 20,
        "the corpus has {} files",
        entries.len()
    );
    for path in entries {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let input = std::fs::read(&path).expect("read corpus file");
        let run = run_bounded(&[], &input);
        check_invariants(&name, &input, &run);
        // The same bytes as a manifest stream must not panic either.
        let run = run_bounded(&["stream"], &input);
        assert!(
            !run.stderr.contains("panicked"),
            "{name} (stream): {}",
            run.stderr
        );
        assert!(
            run.code == 0 || run.code == 1,
            "{name} (stream): exit {}",
            run.code
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Secrets never leak into results, errors or logs.

const PLANTED: [&str; 6] = [
    "PLANTED-s3cr3t-password-9f2a",
    "PLANTED-api-token-77c1",
    "UExBTlRFRC1iYXNlNjQtdmFsdWU=",
    "PLANTED-malformed-secret-3d4e",
    "PLANTED-cm-db-password-51aa",
    "PLANTED-string-data-8b0c",
];

fn secret_laden_items() -> Vec<Value> {
    let mut web = deployment("web");
    web["spec"]["template"]["spec"]["containers"][0]["env"] = json!([
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
        {"name": "DB_URL", "valueFrom": {"configMapKeyRef": {"name": "web-config", "key": "DATABASE_URL"}}},
    ]);
    web["spec"]["template"]["spec"]["containers"][0]["envFrom"] =
        json!([{"secretRef": {"name": "api"}}, {"configMapRef": {"name": "web-config"}}]);
    vec![
        web,
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "type": "Opaque",
            "stringData": {"password": PLANTED[0], "host": "db"}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "api"},
            "data": {"token": PLANTED[2]}, "stringData": {"API_TOKEN": PLANTED[1]}}),
        // Malformed Secrets: data of the wrong shape, no name, a list for stringData.
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "bad1"}, "data": PLANTED[3]}),
        json!({"apiVersion": "v1", "kind": "Secret", "data": {"x": PLANTED[3]}, "stringData": [PLANTED[5]]}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": PLANTED[3]}),
        // A ConfigMap that names hosts (the graph reads such ConfigMaps) with credentials inside.
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-config"},
            "data": {"DATABASE_URL": format!("postgres://app:{}@db:5432/app", PLANTED[4]),
                     "REDIS_HOST": "redis", "PASSWORD": PLANTED[4]}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "db"}, "spec": {"template": {
            "metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "postgres", "image": "postgres:16",
            "env": [{"name": "POSTGRES_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}]}}}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"}, "spec": {"selector": {"app": "db"}, "ports": [{"port": 5432}]}}),
    ]
}

fn assert_no_secret(context: &str, text: &str) {
    for s in PLANTED {
        assert!(!text.contains(s), "{context} leaks `{s}`:\n{text}");
    }
}

#[test]
fn secret_values_never_appear_in_results_or_logs() {
    let items = secret_laden_items();
    let prod = util::configmap(&[("environment", "prod"), ("per-field-results", "true")]);
    for fc in [None, Some(&prod)] {
        let input = util::resource_list(&items, fc);
        for args in [
            &[][..],
            &["--report"],
            &["--diff"],
            &["--report", "--diff"],
            &["check"],
            &["check", "--diff"],
        ] {
            let run = run_bounded(args, input.as_bytes());
            let ctx = format!("{args:?} (config {})", fc.is_some());
            assert!(!run.stderr.contains("panicked"), "{ctx}: {}", run.stderr);
            assert_no_secret(&format!("stderr of {ctx}"), &run.stderr);
            let out = util::yaml(&run.stdout);
            // The items carry the Secrets, as they must; nothing else may.
            let results = apply_defaults::krm::yaml::to_string(&out["results"]).expect("writes");
            assert_no_secret(&format!("results of {ctx}"), &results);
        }
        // Stream mode and the graph say nothing about Secret values either.
        let stream_input = apply_defaults::krm::yaml::documents_to_string(&items).expect("writes");
        for args in [
            &["stream", "--report", "--diff"][..],
            &["stream", "--check"],
            &["graph"],
            &["graph", "--format", "dot"],
        ] {
            let run = run_bounded(args, stream_input.as_bytes());
            assert_no_secret(&format!("stderr of {args:?}"), &run.stderr);
            if args[0] == "graph" {
                assert_no_secret(&format!("stdout of {args:?}"), &run.stdout);
            }
        }
    }
}

#[test]
fn the_diff_view_redacts_secret_data() {
    // A generated or changed Secret would be shown by --diff: its values must be masked. The
    // report works on the items before and after, so exercise it directly.
    let before = vec![
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "data": {"password": PLANTED[2]}}),
    ];
    let mut after = before.clone();
    after[0]["stringData"] = json!({"token": PLANTED[1]});
    after[0]["metadata"]["labels"] = json!({"changed": "yes"});
    let diff = apply_defaults::diff(&before, &after);
    assert_no_secret("the diff", &diff);
    assert!(
        diff.contains("changed: \"yes\"") || diff.contains("changed: yes"),
        "the diff still shows the change:\n{diff}"
    );
    assert!(
        diff.contains("password:") && diff.contains("(redacted)"),
        "keys stay, values are masked:\n{diff}"
    );
}

// ---------------------------------------------------------------------------------------------
// No I/O beyond stdin, stdout, stderr (and --config).

/// Files the dynamic loader and the Rust runtime open on their own.
fn runtime_file(path: &str) -> bool {
    const PREFIXES: [&str; 8] = [
        "/etc/ld.so",
        "/lib/",
        "/lib64/",
        "/usr/lib/",
        "/usr/lib64/",
        "/proc/self/",
        // mimalloc reads the kernel's overcommit setting once, read-only, at start.
        "/proc/sys/vm/overcommit_memory",
        "/sys/",
    ];
    // Shared libraries, wherever LD_LIBRARY_PATH (cargo sets it for tests) sends the loader.
    let library = path.rsplit('/').next().is_some_and(|f| f.contains(".so"));
    PREFIXES.iter().any(|p| path.starts_with(p))
        || library
        || path.starts_with("/dev/") && path.contains("null")
}

fn traced(strace: &Path, args: &[&str], stdin: &[u8], dir: &Path) -> Vec<String> {
    let log = dir.join(format!(
        "trace-{}.log",
        args.join("_").replace(['/', '='], "-")
    ));
    let mut cmd = Command::new(strace);
    cmd.args(["-f", "-qq", "-e", "trace=file,network,process", "-o"])
        .arg(&log)
        .arg(util::bin())
        .args(args);
    let run = run_bytes(&mut cmd, stdin);
    assert!(run.code == 0 || run.code == 1, "{args:?}: {}", run.stderr);
    std::fs::read_to_string(&log)
        .expect("trace log")
        .lines()
        .map(str::to_string)
        .collect()
}

/// The path of a traced file syscall, when the line has one.
fn traced_path(line: &str) -> Option<&str> {
    let start = line.find('"')? + 1;
    let end = start + line[start..].find('"')?;
    Some(&line[start..end])
}

#[test]
fn no_io_beyond_stdio_and_config() {
    let Some(strace) =
        util::require_tool("strace", "checks the binary opens no files and no sockets")
    else {
        return;
    };
    let dir = util::tempdir();
    let config = dir.path().join("prod.yaml");
    std::fs::write(
        &config,
        "apiVersion: apply-defaults.dev/v1alpha1\nkind: ApplyDefaults\nspec: {environment: prod}\n",
    )
    .expect("write config");
    let config_arg = format!("--config={}", config.display());
    let items = secret_laden_items();
    let rl = util::resource_list(&items, Some(&util::configmap(&[("environment", "prod")])));
    let stream = apply_defaults::krm::yaml::documents_to_string(&items).expect("writes");
    let cases: [(&[&str], &str); 5] = [
        (&[], &rl),
        (&["--report", "--diff"], &rl),
        (&["stream", &config_arg], &stream),
        (&["graph", &config_arg], &stream),
        (&[], "not: [valid"),
    ];
    for (args, input) in cases {
        for line in traced(&strace, args, input.as_bytes(), dir.path()) {
            // No sockets at all: no DNS, no telemetry, no network.
            for call in ["socket(", "connect(", "bind(", "sendto(", "listen("] {
                assert!(!line.contains(call), "{args:?} uses the network: {line}");
            }
            assert!(
                !line.contains("execve(") || line.contains(util::bin().to_str().unwrap_or("?")),
                "{args:?} runs a program: {line}"
            );
            let opens = [
                "open(",
                "openat(",
                "creat(",
                "mkdir",
                "unlink",
                "rename",
                "truncate(",
            ];
            if opens.iter().any(|c| line.contains(c)) {
                let path = traced_path(&line).unwrap_or_default();
                let allowed = runtime_file(path) || path == config.to_str().unwrap_or("?");
                assert!(allowed, "{args:?} touches `{path}`: {line}");
                let writes = line.contains("O_WRONLY")
                    || line.contains("O_RDWR")
                    || line.contains("O_CREAT");
                assert!(
                    !writes || path.starts_with("/dev/"),
                    "{args:?} writes `{path}`: {line}"
                );
            }
        }
    }
}
