//! The wire layer end to end (issue 2): pass-through fidelity, Go readers, the envelope, errors.

use serde_json::{Value, json};

use crate::util::{self, run};

fn mixed() -> String {
    std::fs::read_to_string(util::root().join("tests/testdata/wire/mixed.yaml")).expect("fixture")
}

fn items(v: &Value) -> &Vec<Value> {
    v["items"].as_array().expect("items")
}

/// Every leaf (path, value) of a tree, for "nothing lost" comparisons.
fn leaves(v: &Value, prefix: String, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                leaves(x, format!("{prefix}/{k}"), out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, x) in a.iter().enumerate() {
                leaves(x, format!("{prefix}/{i}"), out);
            }
        }
        _ => out.push((prefix, v.clone())),
    }
}

#[test]
fn pass_through_keeps_every_item_annotation_and_value() {
    let input = util::yaml(&mixed());
    let out = run(&[], &mixed()).expect_code(0);
    let output = util::yaml(&out.stdout);
    assert_eq!(output["apiVersion"], "config.kubernetes.io/v1");
    let (ins, outs) = (items(&input), items(&output));
    assert!(outs.len() >= ins.len(), "items dropped");
    for (i, item) in ins.iter().enumerate() {
        let got = &outs[i];
        assert_eq!(got["kind"], item["kind"], "item {i} moved");
        if item["kind"] != "Deployment" {
            assert_eq!(got, item, "item {i} ({}) changed", item["kind"]);
            continue;
        }
        // The workload gains defaults but loses nothing.
        let mut before = Vec::new();
        leaves(item, String::new(), &mut before);
        let mut after = Vec::new();
        leaves(got, String::new(), &mut after);
        for leaf in &before {
            assert!(after.contains(leaf), "lost {leaf:?}");
        }
        assert_eq!(
            got["metadata"]["annotations"],
            item["metadata"]["annotations"]
        );
    }
}

#[test]
fn changed_items_keep_their_key_order() {
    let out = run(&[], &mixed()).expect_code(0);
    let output = util::yaml(&out.stdout);
    let deploy = items(&output)
        .iter()
        .find(|i| i["kind"] == "Deployment")
        .unwrap();
    let keys: Vec<&String> = deploy.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["apiVersion", "kind", "metadata", "spec"]);
    let c = &deploy["spec"]["template"]["spec"]["containers"][0];
    let ckeys: Vec<&String> = c.as_object().unwrap().keys().collect();
    assert_eq!(
        &ckeys[..5],
        ["name", "image", "ports", "env", "volumeMounts"]
    );
}

/// Builds the Go reader from `tests/goreader` in module mode: sigs.k8s.io/yaml pinned by the
/// committed go.mod/go.sum (`-mod=readonly`: a changed requirement fails rather than edits).
fn go_reader() -> Option<std::path::PathBuf> {
    let go = util::require_tool(
        "go",
        "reads our output with sigs.k8s.io/yaml, as kubectl does",
    )?;
    let out_dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let bin = out_dir.join("goreader");
    let out = std::process::Command::new(go)
        .args(["build", "-mod=readonly", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(util::root().join("tests/goreader"))
        .env("GO111MODULE", "on")
        .env("GOFLAGS", "")
        .env("GOTOOLCHAIN", "local")
        .output()
        .expect("go runs");
    assert!(
        out.status.success(),
        "go build of tests/goreader failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(bin)
}

#[test]
fn go_sigs_k8s_yaml_reads_exactly_what_we_meant() {
    let Some(reader) = go_reader() else { return };
    let out = run(&[], &mixed()).expect_code(0);
    let go = util::run_cmd(&mut std::process::Command::new(reader), &out.stdout).expect_code(0);
    let go_view: Value = serde_json::from_str(&go.stdout).expect("Go printed JSON");
    let our_view = util::yaml(&out.stdout);
    assert_eq!(
        go_view, our_view,
        "kubectl would read our output differently"
    );
    let cm = items(&go_view)
        .iter()
        .find(|i| i["metadata"]["name"] == "traps")
        .unwrap();
    for key in [
        "on",
        "yes",
        "y",
        "n",
        "off",
        "underscore",
        "date",
        "octal",
        "float",
        "null",
        "tilde",
    ] {
        assert!(
            cm["data"][key].is_string(),
            "{key} is {} to Go",
            cm["data"][key]
        );
    }
    let deploy = items(&go_view)
        .iter()
        .find(|i| i["kind"] == "Deployment")
        .unwrap();
    assert_eq!(
        deploy["spec"]["template"]["spec"]["volumes"][0]["configMap"]["defaultMode"],
        json!(420)
    );
    assert_eq!(
        deploy["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"],
        json!("on")
    );
}

#[test]
fn any_input_version_is_accepted_and_v1_written_with_items() {
    let out = run(
        &[],
        "apiVersion: config.kubernetes.io/v1alpha1\nkind: ResourceList\n",
    )
    .expect_code(0);
    assert!(
        out.stdout
            .starts_with("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn json_input_is_accepted() {
    let input = serde_json::to_string(&util::yaml(&mixed())).unwrap();
    let out = run(&[], &input).expect_code(0);
    assert_eq!(
        items(&util::yaml(&out.stdout)).len(),
        items(&util::yaml(&mixed())).len() + count_generated(&out.stdout)
    );
}

fn count_generated(stdout: &str) -> usize {
    items(&util::yaml(stdout))
        .iter()
        .filter(|i| i["metadata"]["annotations"]["apply-defaults.dev/generated"] == "true")
        .count()
}

#[test]
fn results_name_resource_and_file() {
    let out = run(&[], &mixed()).expect_code(0);
    let output = util::yaml(&out.stdout);
    let r = output["results"]
        .as_array()
        .unwrap()
        .iter()
        // Not the first result about it: the Deployment's Service has no caller in the
        // manifests, which issue 14 reports as a warning on the workload too.
        .find(|r| {
            r["resourceRef"]["kind"] == "Deployment"
                && r["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("resources"))
        })
        .expect("a result about the Deployment's resources");
    assert_eq!(r["severity"], "info");
    assert_eq!(r["resourceRef"]["name"], "web");
    assert_eq!(r["file"]["path"], "deploy.yaml");
    assert!(r["message"].as_str().unwrap().contains("resources"), "{r}");
}

#[test]
fn kustomize_style_typed_config_with_function_annotations_is_accepted() {
    let fc = json!({"apiVersion": "apply-defaults.dev/v1alpha1", "kind": "ApplyDefaults",
        "metadata": {"name": "defaults", "annotations": {
            "config.kubernetes.io/function": "container:\n  image: ghcr.io/apply-defaults/apply-defaults:0.1.0\n",
            "config.kubernetes.io/local-config": "true"}},
        "spec": {"environment": "prod"}});
    let input = util::resource_list(&[], Some(&fc));
    run(&[], &input).expect_code(0);
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "defaults", "annotations": {
        "config.kubernetes.io/function": "exec:\n  path: apply-defaults\n"}}, "data": {"environment": "prod"}});
    run(&[], &util::resource_list(&[], Some(&cm))).expect_code(0);
}

#[test]
fn local_config_items_are_never_changed() {
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x",
        "annotations": {"config.kubernetes.io/local-config": "true"}},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}});
    let out = run(&[], &util::resource_list(std::slice::from_ref(&d), None)).expect_code(0);
    assert_eq!(items(&util::yaml(&out.stdout))[0], d);
}

// ---- error cases: what, where, exit 1, no panic -------------------------------------------

fn assert_no_panic(stderr: &str) {
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
}

#[test]
fn malformed_yaml_writes_nothing_and_names_the_line() {
    let r = run(
        &[],
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- a: [1, 2\n  b: 3\n",
    )
    .expect_code(1);
    assert!(r.stdout.is_empty(), "wrote {}", r.stdout);
    assert!(r.stderr.contains("line"), "no line in: {}", r.stderr);
    assert_no_panic(&r.stderr);
}

#[test]
fn not_a_resource_list_writes_nothing_and_points_to_stream() {
    let r = run(
        &[],
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    )
    .expect_code(1);
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr.contains("not a ResourceList") && r.stderr.contains("apply-defaults stream"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_plain_stream_is_refused_with_a_pointer_to_stream() {
    let r = run(&[], "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n").expect_code(1);
    assert!(r.stdout.is_empty());
    assert!(r.stderr.contains("apply-defaults stream"), "{}", r.stderr);
}

#[test]
fn wrong_config_kind_is_an_error_result_and_items_come_back() {
    let fc = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "nope"}});
    let input = util::resource_list(
        &[json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "keep"}})],
        Some(&fc),
    );
    let r = run(&[], &input).expect_code(1);
    let out = util::yaml(&r.stdout);
    assert_eq!(items(&out).len(), 1, "items must come back whole");
    let res = &out["results"][0];
    assert_eq!(res["severity"], "error");
    assert!(
        res["message"]
            .as_str()
            .unwrap()
            .contains("`Secret` is not supported"),
        "{res}"
    );
    assert_eq!(res["field"]["path"], "kind");
    assert!(r.stderr.contains("error:"), "{}", r.stderr);
}

#[test]
fn unknown_config_field_is_named_with_its_path() {
    let fc = json!({"apiVersion": "apply-defaults.dev/v1alpha1", "kind": "ApplyDefaults", "metadata": {"name": "x"},
        "spec": {"classes": {"backend": {"probes": {"paht": "/x"}}}}});
    let r = run(&[], &util::resource_list(&[], Some(&fc))).expect_code(1);
    let res = &util::yaml(&r.stdout)["results"][0];
    assert_eq!(res["field"]["path"], "spec.classes.backend.probes.paht");
    assert!(
        res["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `paht`"),
        "{res}"
    );
}

#[test]
fn unknown_configmap_key_and_environment_are_named() {
    let r = run(
        &[],
        &util::resource_list(&[], Some(&util::configmap(&[("enviroment", "prod")]))),
    )
    .expect_code(1);
    assert!(
        r.stdout.contains("unknown key `enviroment`"),
        "{}",
        r.stdout
    );
    let r = run(
        &[],
        &util::resource_list(&[], Some(&util::configmap(&[("environment", "qa")]))),
    )
    .expect_code(1);
    assert!(
        r.stdout
            .contains("unknown environment `qa`; defined environments: dev, prod"),
        "{}",
        r.stdout
    );
}

#[test]
fn help_and_version() {
    let r = run(&["--help"], "").expect_code(0);
    assert!(
        r.stdout.contains("stream") && r.stdout.contains("Examples:"),
        "{}",
        r.stdout
    );
    let r = run(&["--version"], "").expect_code(0);
    assert!(r.stdout.starts_with("apply-defaults "), "{}", r.stdout);
}

#[test]
fn schema_subcommand_prints_a_json_schema() {
    let r = run(&["schema"], "").expect_code(0);
    let schema: Value = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(schema["title"], "ApplyDefaults");
    assert!(schema["properties"]["spec"].is_object(), "{schema}");
}

/// A bare `apply-defaults` on a terminal hints at what to pipe instead of waiting on stdin
/// (issue 17). `script` gives the binary a pseudo-terminal as stdin.
#[test]
fn bare_run_on_a_terminal_prints_a_hint_and_exits_2() {
    if util::require_tool("script", "gives the binary a terminal (util-linux)").is_none() {
        return;
    }
    let command = format!("{}; echo exit=$?", util::bin().display());
    let out = util::run_cmd(
        std::process::Command::new("timeout").args(["20", "script", "-qec", &command, "/dev/null"]),
        "",
    );
    assert!(out.stdout.contains("stdin is a terminal"), "{out:?}");
    assert!(out.stdout.contains("--help"), "{out:?}");
    assert!(out.stdout.contains("exit=2"), "{out:?}");
}

#[test]
fn a_selector_matching_nothing_warns_and_fails_check_mode() {
    let item = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}});
    let cm = util::configmap(&[("kinds", "deployment"), ("namespaces", "shpo")]);
    let r = run(
        &[],
        &util::resource_list(std::slice::from_ref(&item), Some(&cm)),
    )
    .expect_code(0);
    for want in [
        "selector kinds entry `deployment` matches no item in the input (ConfigMap key `data.kinds`); did you mean `Deployment`;",
        "selector namespaces entry `shpo` matches no item in the input (ConfigMap key `data.namespaces`); did you mean `shop`;",
        "severity: warning",
    ] {
        assert!(r.stdout.contains(want), "{want}\n{}", r.stdout);
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, cm.to_string()).unwrap();
    let r = run(
        &["stream", "--check", "--config", config.to_str().unwrap()],
        &item.to_string(),
    )
    .expect_code(1);
    assert!(
        r.stderr
            .contains("selector kinds entry `deployment` matches no item")
            && r.stderr.contains("check mode"),
        "{}",
        r.stderr
    );
    // A selector that selects something stays quiet about its other entries.
    let cm = util::configmap(&[("kinds", "Deployment,StatefulSet")]);
    let r = run(
        &[],
        &util::resource_list(std::slice::from_ref(&item), Some(&cm)),
    )
    .expect_code(0);
    assert!(!r.stdout.contains("matches no item"), "{}", r.stdout);
}

#[test]
fn own_group_annotation_typos_and_missing_containers_warn() {
    let item = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "annotations": {
            "apply-defaults.dev/skip-container": "istio-proxy",
            "apply-defaults.dev/skip-containers": "sidecar; web=probez"}},
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}});
    let r = run(&[], &util::resource_list(&[item], None)).expect_code(0);
    for want in [
        "unknown annotation `apply-defaults.dev/skip-container` is ignored; valid annotations: apply-defaults.dev/skip-containers, apply-defaults.dev/skip,",
        "names container `sidecar`, which the pod does not have; the pod's containers: web",
        "names unknown default `probez`; did you mean `probes`;",
        "path: metadata.annotations.apply-defaults.dev/skip-containers",
    ] {
        assert!(r.stdout.contains(want), "{want}\n{}", r.stdout);
    }
}

/// Numbers keep the text the user wrote where a Go reader reads the same value (issue 17): a
/// float in exponent form, trailing zeros, a leading dot, an integer wider than 64 bits; in
/// function mode and in stream mode. Go's sigs.k8s.io/yaml reads the output exactly as it reads
/// the input.
#[test]
fn numbers_keep_their_spelling_and_go_reads_the_same_value() {
    let thing = "apiVersion: example.com/v1\nkind: Thing\nmetadata:\n  name: t\nspec:\n  exp: 1e3\n  wide: 12345678901234567890123\n  zeros: 1.50\n  dot: .5\n  list:\n  - 2.5E-3\n  plain: 0.25\n  int: 7\n";
    let kept = [
        "exp: 1e3\n",
        "wide: 12345678901234567890123\n",
        "zeros: 1.50\n",
        "dot: .5\n",
        "- 2.5E-3\n",
        "plain: 0.25\n",
        "int: 7\n",
    ];
    let streamed = run(&["stream"], thing).expect_code(0);
    let items = vec![util::yaml(thing)];
    let listed = run(&[], &util::resource_list(&items, None)).expect_code(0);
    for out in [&streamed.stdout, &listed.stdout] {
        for k in kept {
            assert!(out.contains(k), "{k:?} not kept:\n{out}");
        }
    }
    let Some(reader) = go_reader() else { return };
    let go = |text: &str| -> Value {
        let r = util::run_cmd(&mut std::process::Command::new(&reader), text).expect_code(0);
        serde_json::from_str(&r.stdout).expect("Go printed JSON")
    };
    let doc = streamed.stdout.trim_start_matches("---\n");
    assert_eq!(go(doc), go(thing), "Go reads the output otherwise:\n{doc}");
}

/// The same through the parallel reader (a ResourceList over 1 MiB is parsed in pieces on
/// several threads) and JSON input.
#[test]
fn numbers_keep_their_spelling_in_large_and_json_lists() {
    let filler: Vec<Value> = (0..4000)
        .map(|i| {
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("cm-{i}")}, "data": {"k": "x".repeat(200)}})
        })
        .collect();
    let mut items = vec![util::yaml(
        "apiVersion: example.com/v1\nkind: Thing\nmetadata: {name: t}\nspec: {exp: 1e3, wide: 12345678901234567890123}\n",
    )];
    items.extend(filler);
    let yaml = util::resource_list(&items, None);
    assert!(yaml.len() > 1 << 20, "large enough for the parallel reader");
    // util::resource_list wrote the tree, so write the spellings back into the text.
    let yaml = yaml.replacen("exp: 1000.0", "exp: 1e3", 1).replacen(
        "wide: 1.2345678901234568e+22",
        "wide: 12345678901234567890123",
        1,
    );
    assert!(yaml.contains("exp: 1e3") && yaml.contains("wide: 12345678901234567890123"));
    let out = run(&[], &yaml).expect_code(0);
    assert!(
        out.stdout.contains("exp: 1e3\n"),
        "parallel reader lost 1e3"
    );
    assert!(out.stdout.contains("wide: 12345678901234567890123\n"));

    let json = r#"{"apiVersion":"config.kubernetes.io/v1","kind":"ResourceList","items":[{"apiVersion":"example.com/v1","kind":"Thing","metadata":{"name":"t"},"spec":{"exp":1e3,"zeros":1.50}}]}"#;
    let out = run(&[], json).expect_code(0);
    assert!(out.stdout.contains("exp: 1e3\n"), "{}", out.stdout);
    assert!(out.stdout.contains("zeros: 1.50\n"), "{}", out.stdout);
}
