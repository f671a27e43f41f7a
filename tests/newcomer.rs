//! The newcomer's path (issue 17): what a user adopting the function in an existing kustomize
//! repository meets first. Stream output that reaches the cluster carries nothing an
//! orchestrator put there, `kpt fn eval` on a kustomize directory keeps the build whole, and the
//! messages name what the user wrote.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::util::{self, Run};

/// A Deployment the prod profile gives an HPA, a PDB and NetworkPolicies, with the Service
/// that calls it: every kind of generated object at once.
const SHOP: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app.kubernetes.io/component: api}
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web, app.kubernetes.io/component: api}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports:
        - {name: http, containerPort: 8080}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
";

/// The prod config file, as `apply-defaults profile --environment prod` gives it.
fn prod_config(dir: &Path) -> String {
    let out = util::run(&["profile", "--environment", "prod"], "").expect_code(0);
    let path = dir.join("prod.yaml");
    std::fs::write(&path, out.stdout).expect("write config");
    path.to_string_lossy().into_owned()
}

fn stream(args: &[&str], input: &str) -> Run {
    let mut all = vec!["stream"];
    all.extend_from_slice(args);
    util::run(&all, input)
}

/// Annotation keys an orchestrator reads or writes.
fn orchestrator_keys(doc: &Value) -> Vec<String> {
    doc["metadata"]["annotations"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k.clone())
        .filter(|k| {
            ["config.kubernetes.io/", "internal.config.kubernetes.io/"]
                .iter()
                .any(|p| k.starts_with(p))
        })
        .collect()
}

fn kinds(docs: &[Value]) -> Vec<&str> {
    docs.iter().filter_map(|d| d["kind"].as_str()).collect()
}

// Stream output

#[test]
fn stream_output_gains_no_orchestrator_annotation() {
    let tmp = util::tempdir();
    let config = prod_config(tmp.path());
    let out = stream(&["--config", &config, "--report"], SHOP).expect_code(0);
    let docs = util::yaml_docs(&out.stdout);
    for kind in [
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
    ] {
        assert!(kinds(&docs).contains(&kind), "no {kind}:\n{}", out.stdout);
    }
    for doc in &docs {
        assert_eq!(
            orchestrator_keys(doc),
            Vec::<String>::new(),
            "{} {} gained orchestrator annotations",
            doc["kind"],
            doc["metadata"]["name"]
        );
    }
    // The generated objects are still marked as ours (a second run updates them), and that is
    // the only annotation they gained.
    let hpa = docs
        .iter()
        .find(|d| d["kind"] == "HorizontalPodAutoscaler")
        .unwrap();
    assert_eq!(
        hpa["metadata"]["annotations"]["apply-defaults.dev/generated"],
        "true"
    );
    // No result names a file (`[path]` at the end of a line): a stream has none.
    assert!(
        !out.stderr.lines().any(|l| l.ends_with(".yaml]")),
        "{}",
        out.stderr
    );
    // A second pass changes nothing.
    let again = stream(&["--config", &config], &out.stdout).expect_code(0);
    assert_eq!(again.stdout, out.stdout);
}

#[test]
fn stream_keeps_the_orchestrator_annotations_the_input_carried() {
    let tmp = util::tempdir();
    let config = prod_config(tmp.path());
    let input = SHOP.replacen(
        "  namespace: shop\n  labels:",
        "  namespace: shop\n  annotations:\n    config.kubernetes.io/path: deploy/web.yaml\n    config.kubernetes.io/index: '0'\n  labels:",
        1,
    );
    assert_ne!(input, SHOP);
    let out = stream(&["--config", &config, "--report"], &input).expect_code(0);
    let docs = util::yaml_docs(&out.stdout);
    let web = docs.iter().find(|d| d["kind"] == "Deployment").unwrap();
    assert_eq!(
        orchestrator_keys(web),
        ["config.kubernetes.io/path", "config.kubernetes.io/index"]
    );
    for doc in docs.iter().filter(|d| d["kind"] != "Deployment") {
        assert_eq!(
            orchestrator_keys(doc),
            Vec::<String>::new(),
            "{} {}",
            doc["kind"],
            doc["metadata"]["name"]
        );
    }
    // The generated objects' would-be files (deploy/horizontalpodautoscaler_web.yaml) do not
    // exist, so no result names them.
    assert!(!out.stderr.contains("deploy/horizontal"), "{}", out.stderr);
    assert!(
        !out.stderr.contains("deploy/poddisruption"),
        "{}",
        out.stderr
    );
}

// kpt on a kustomize directory

const KUSTOMIZATION: &str = "\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
# the shop's base, as the user wrote it
resources:
- deployment.yaml
- service.yaml
";

/// A kustomize directory of `SHOP`; `typed`: the kustomization has apiVersion and kind (many
/// have neither, which kustomize accepts).
fn kustomize_dir(dir: &Path, typed: bool) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let text = if typed {
        KUSTOMIZATION.to_string()
    } else {
        KUSTOMIZATION
            .lines()
            .skip(2)
            .map(|l| format!("{l}\n"))
            .collect()
    };
    std::fs::write(dir.join("kustomization.yaml"), text).expect("write");
    let (deployment, service) = SHOP.split_once("---\n").unwrap();
    std::fs::write(dir.join("deployment.yaml"), deployment).expect("write");
    std::fs::write(dir.join("service.yaml"), service).expect("write");
}

/// `kpt fn eval --exec` the built binary on `dir`, results written to `results`.
fn kpt_eval(kpt: &Path, dir: &Path, results: &Path) -> Run {
    util::run_cmd(
        Command::new(kpt)
            .args(["fn", "eval"])
            .arg(dir)
            .arg("--results-dir")
            .arg(results)
            .arg("--exec")
            .arg(util::bin())
            .args(["--", "environment=prod"]),
        "",
    )
}

#[test]
fn kpt_fn_eval_on_a_kustomize_directory_lists_the_generated_files() {
    let Some(kpt) = util::require_tool("kpt", "runs the function on a kustomize directory") else {
        return;
    };
    let Some(kubectl) = util::require_tool("kubectl", "builds the directory afterwards") else {
        return;
    };
    for typed in [true, false] {
        eval_lists_generated_files(&kpt, &kubectl, typed);
    }
}

fn eval_lists_generated_files(kpt: &Path, kubectl: &Path, typed: bool) {
    let tmp = util::tempdir();
    let dir = tmp.path().join("base");
    kustomize_dir(&dir, typed);
    let results = tmp.path().join("results");
    kpt_eval(kpt, &dir, &results).expect_code(0);
    let text = std::fs::read_to_string(dir.join("kustomization.yaml")).expect("read");
    assert!(
        text.contains("# the shop's base, as the user wrote it"),
        "comment kept:\n{text}"
    );
    let kustomization = util::yaml(&text);
    let resources: Vec<&str> = kustomization["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        &resources[..2],
        ["deployment.yaml", "service.yaml"],
        "{text}"
    );
    for file in &resources[2..] {
        assert!(dir.join(file).is_file(), "{file} is listed but not written");
    }
    for prefix in [
        "horizontalpodautoscaler_",
        "poddisruptionbudget_",
        "networkpolicy_",
    ] {
        assert!(
            resources.iter().any(|r| r.starts_with(prefix)),
            "no {prefix}* in resources: {resources:?}"
        );
    }
    // Said in a result about the Kustomization, at the field changed.
    let said = std::fs::read_to_string(results.join("results.yaml")).expect("results");
    let said = util::yaml(&said);
    let about: Vec<&Value> = said["items"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|i| i["results"].as_array().into_iter().flatten())
        .filter(|r| r["file"]["path"] == "kustomization.yaml")
        .collect();
    assert_eq!(about.len(), 1, "{said:#}");
    assert_eq!(about[0]["field"]["path"], "resources");
    assert_eq!(about[0]["severity"], "info");
    assert!(
        about[0]["message"]
            .as_str()
            .unwrap()
            .contains("networkpolicy_default-deny.yaml"),
        "{:#}",
        about[0]
    );

    let built = util::run_cmd(Command::new(kubectl).arg("kustomize").arg(&dir), "").expect_code(0);
    let docs = util::yaml_docs(&built.stdout);
    for kind in [
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
    ] {
        assert!(
            kinds(&docs).contains(&kind),
            "kubectl kustomize lost the {kind}s"
        );
    }

    // A second run changes nothing, the kustomization included.
    let before = std::fs::read_to_string(dir.join("kustomization.yaml")).unwrap();
    kpt_eval(kpt, &dir, &results).expect_code(0);
    assert_eq!(
        std::fs::read_to_string(dir.join("kustomization.yaml")).unwrap(),
        before
    );
}

// Messages

/// A ResourceList of `SHOP` (the Deployment, the Service) and a functionConfig.
fn shop_list(fc: &Value) -> String {
    util::resource_list(&util::yaml_docs(SHOP), Some(fc))
}

#[test]
fn report_says_which_environment_and_config_and_why_a_column_is_empty() {
    let out = util::run(&["--report"], &shop_list(&util::configmap(&[]))).expect_code(0);
    assert!(
        out.stderr.starts_with(
            "apply-defaults: environment `dev` (the default: the config sets none; set \
             `spec.environment`, or `environment` in the ConfigMap form); config: functionConfig \
             ConfigMap/function-input\n"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "  - no HorizontalPodAutoscaler: class `backend` has no `autoscaling` in environment `dev`\n"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "  - no PodDisruptionBudget: class `backend` has no `disruptionBudget` in environment `dev`\n"
        ),
        "{}",
        out.stderr
    );

    // One replica as written, in prod: the PDB column says why it is empty.
    let one = SHOP.replacen("spec:\n  selector:", "spec:\n  replicas: 1\n  selector:", 1);
    let items = util::yaml_docs(&one);
    let fc = util::configmap(&[("environment", "prod")]);
    let out = util::run(&["--report"], &util::resource_list(&items, Some(&fc))).expect_code(0);
    assert!(
        out.stderr
            .starts_with("apply-defaults: environment `prod` (set by the config); config: functionConfig ConfigMap/function-input\n"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("  - no PodDisruptionBudget: the workload runs 1 replica"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("  - no HorizontalPodAutoscaler generated although the class asks for autoscaling: spec.replicas is 1 as written"),
        "{}",
        out.stderr
    );
}

#[test]
fn graph_refuses_the_flags_it_would_ignore() {
    for flag in ["--report", "--diff"] {
        for args in [vec!["graph", flag], vec![flag, "graph"]] {
            let out = util::run(&args, SHOP).expect_code(2);
            assert!(out.stdout.is_empty());
            assert!(
                out.stderr
                    .contains(&format!("`graph` does not take {flag}")),
                "{}",
                out.stderr
            );
        }
    }
    util::run(&["schema", "--diff"], "").expect_code(2);
    util::run(&["profile", "--report"], "").expect_code(2);
}

#[test]
fn graph_shows_namespaces_and_marks_workloads_nothing_may_reach() {
    let tmp = util::tempdir();
    let config = prod_config(tmp.path());
    let caller = "\
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shopper
  namespace: front
spec:
  selector:
    matchLabels: {app: shopper}
  template:
    metadata:
      labels: {app: shopper}
    spec:
      containers:
      - name: shopper
        image: example.com/shopper:1
        env:
        - {name: WEB_URL, value: http://web.shop.svc:80}
";
    let input = format!("{SHOP}{caller}");
    let mermaid = util::run(&["graph", "--config", &config], &input).expect_code(0);
    let m = &mermaid.stdout;
    assert!(
        m.contains("  subgraph ns_front [\"namespace front\"]\n"),
        "{m}"
    );
    assert!(
        m.contains("  subgraph ns_shop [\"namespace shop\"]\n"),
        "{m}"
    );
    // shopper calls web; nothing calls shopper, so in prod its policy admits no one.
    assert!(
        m.contains("w_front_shopper -->|\"8080\"| w_shop_web"),
        "{m}"
    );
    assert!(
        m.contains("[\"front/shopper (nothing may reach it)\"]"),
        "{m}"
    );
    assert!(m.contains("    w_shop_web[\"shop/web\"]\n"), "{m}");
    assert!(m.contains("  class w_front_shopper unreachable\n"), "{m}");

    let dot = util::run(&["graph", "--format", "dot", "--config", &config], &input).expect_code(0);
    let d = &dot.stdout;
    assert!(
        d.contains("  subgraph cluster_shop {\n    label=\"namespace shop\";\n"),
        "{d}"
    );
    assert!(
        d.contains("w_front_shopper [label=\"front/shopper (nothing may reach it)\", color=red];"),
        "{d}"
    );
}

#[test]
fn a_bad_configmap_value_points_at_the_knob_written() {
    let out = util::run(
        &[],
        &shop_list(&util::configmap(&[("environment", "staging")])),
    )
    .expect_code(1);
    let list = util::yaml(&out.stdout);
    let r = &list["results"][0];
    assert_eq!(r["field"]["path"], "data.environment", "{r:#}");
    assert!(r["message"].as_str().unwrap().contains("staging"));
    assert!(
        out.stderr.contains("(field data.environment)"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("spec.environment`"), "{}", out.stderr);
}

#[test]
fn a_bad_default_in_skip_containers_points_at_that_annotation() {
    let annotated = SHOP.replacen(
        "    metadata:\n      labels:",
        "    metadata:\n      annotations:\n        apply-defaults.dev/skip-containers: web=probez\n      labels:",
        1,
    );
    let out = util::run(&["stream"], &annotated).expect_code(0);
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains("probez"))
        .unwrap_or_else(|| panic!("{}", out.stderr));
    assert!(
        line.contains(
            "(field spec.template.metadata.annotations.apply-defaults.dev/skip-containers)"
        ),
        "{line}"
    );
    assert!(line.contains("did you mean `probes`"), "{line}");
}

#[test]
fn check_given_a_plain_stream_suggests_stream_check() {
    for input in [
        SHOP,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    ] {
        let out = util::run(&["check"], input).expect_code(1);
        assert!(out.stdout.is_empty());
        assert!(
            out.stderr.contains("use `apply-defaults stream --check`"),
            "{}",
            out.stderr
        );
    }
    // Function mode still points at `stream`.
    let out = util::run(&[], SHOP).expect_code(1);
    assert!(
        out.stderr.contains("use `apply-defaults stream`"),
        "{}",
        out.stderr
    );
}

/// A typed config with the given `spec.networkPolicy.edges`.
fn with_edges(edges: &str) -> Value {
    util::yaml(&format!(
        "apiVersion: apply-defaults.dev/v1alpha1\nkind: ApplyDefaults\nmetadata: {{name: defaults}}\n\
         spec:\n  networkPolicy:\n    edges: {edges}\n"
    ))
}

#[test]
fn an_edge_naming_no_workload_is_warned_once() {
    let fc = with_edges("[{from: nobody, to: web}, {from: web, to: nowhere}]");
    let out = util::run(&[], &shop_list(&fc)).expect_code(0);
    for name in ["nobody", "nowhere"] {
        let n = out.stderr.lines().filter(|l| l.contains(name)).count();
        assert_eq!(n, 1, "{name} warned {n} times:\n{}", out.stderr);
    }
}

#[test]
fn an_edge_to_a_service_with_no_pods_is_warned_once() {
    let orphan = "---\napiVersion: v1\nkind: Service\nmetadata: {name: orphan, namespace: shop}\nspec:\n  selector: {app: gone}\n  ports: [{port: 80}]\n";
    let mut items = util::yaml_docs(SHOP);
    items.extend(util::yaml_docs(orphan));
    let fc = with_edges("[{from: web, to: orphan}]");
    let out = util::run(&[], &util::resource_list(&items, Some(&fc))).expect_code(0);
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("edge to `orphan`"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(lines[0].contains("selects no workload"), "{}", lines[0]);
}

#[test]
fn a_name_kustomize_prefixed_gets_did_you_mean() {
    // namePrefix: prod- renamed web; the config still says web.
    let renamed = SHOP.replace("name: web\n  namespace", "name: prod-web\n  namespace");
    let items = util::yaml_docs(&renamed);
    let fc = with_edges("[{from: web, to: prod-web}]");
    let out = util::run(&[], &util::resource_list(&items, Some(&fc))).expect_code(0);
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains("edge from `web`"))
        .unwrap_or_else(|| panic!("{}", out.stderr));
    assert!(line.contains("did you mean `prod-web`"), "{line}");
    assert!(
        line.contains("(field spec.networkPolicy.edges[0].from)"),
        "{line}"
    );

    let class = util::yaml(
        "apiVersion: apply-defaults.dev/v1alpha1\nkind: ApplyDefaults\nmetadata: {name: d}\n\
         spec:\n  classes:\n    storefront:\n      match: {names: [web]}\n",
    );
    let out = util::run(&[], &util::resource_list(&items, Some(&class))).expect_code(0);
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains("class `storefront` matches no workload"))
        .unwrap_or_else(|| panic!("{}", out.stderr));
    assert!(line.contains("did you mean `prod-web`"), "{line}");

    let sel = util::configmap(&[("names", "web")]);
    let out = util::run(&[], &util::resource_list(&items, Some(&sel))).expect_code(0);
    assert!(
        out.stderr.contains("did you mean `prod-web`"),
        "{}",
        out.stderr
    );
}

// The JSON Schema refuses what the function refuses

/// Validates `{name: document}` (stdin) against the schema file with Python's `jsonschema`
/// (JSON Schema 2020-12, as editors do): prints `{name: valid}`.
const SCHEMA_VERDICTS_PY: &str = r#"
import json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
validator = Draft202012Validator(schema)
docs = json.load(sys.stdin)
print(json.dumps({name: validator.is_valid(doc) for name, doc in docs.items()}))
"#;

#[test]
fn the_schema_refuses_what_the_function_refuses() {
    let Some(python) = util::require_tool("python3", "validates configs against the schema") else {
        return;
    };
    if util::run_cmd(Command::new(&python).args(["-c", "import jsonschema"]), "").code != 0 {
        assert!(!util::in_ci(), "python3 has no jsonschema module");
        eprintln!("SKIPPED: python3 has no jsonschema module");
        return;
    }
    let env = |settings: &str| format!("{{environments: {{prod: {settings}}}}}");
    // (name, spec): each spec is run through the function and the schema; they must agree.
    let cases: Vec<(&str, String)> = vec![
        ("shipped class, target from the profile", format!("{{classes: {{backend: {}}}}}", env("{autoscaling: {minReplicas: 2, maxReplicas: 4}}"))),
        ("new class, no target", format!("{{classes: {{batch: {}}}}}", env("{autoscaling: {minReplicas: 2, maxReplicas: 4}}"))),
        ("new class, null target", format!("{{classes: {{batch: {}}}}}", env("{autoscaling: {minReplicas: 2, maxReplicas: 4, targetCPUUtilizationPercentage: null}}"))),
        ("new class, a target", format!("{{classes: {{batch: {}}}}}", env("{autoscaling: {minReplicas: 2, maxReplicas: 4, targetMemoryUtilizationPercentage: 80}}"))),
        ("shipped class, env without a shipped HPA", "{classes: {backend: {environments: {dev: {autoscaling: {minReplicas: 1, maxReplicas: 2}}}}}}".into()),
        ("minReplicas 0", format!("{{classes: {{batch: {}}}}}", env("{autoscaling: {minReplicas: 0, maxReplicas: 2, targetCPUUtilizationPercentage: 50}}"))),
        ("target 0", format!("{{classes: {{batch: {}}}}}", env("{autoscaling: {minReplicas: 1, maxReplicas: 2, targetCPUUtilizationPercentage: 0}}"))),
        ("a class removed", "{classes: {minio: null}}".into()),
        ("quantity 250m", format!("{{classes: {{backend: {}}}}}", env("{resources: {requests: {cpu: 250m}}}"))),
        ("quantity 5e-1", format!("{{classes: {{backend: {}}}}}", env("{resources: {requests: {cpu: '5e-1'}}}"))),
        ("quantity .5", format!("{{classes: {{backend: {}}}}}", env("{resources: {requests: {cpu: '.5'}}}"))),
        ("quantity 1.5.0Gi", format!("{{classes: {{backend: {}}}}}", env("{resources: {limits: {memory: 1.5.0Gi}}}"))),
        ("quantity 1GB", format!("{{classes: {{backend: {}}}}}", env("{resources: {limits: {memory: 1GB}}}"))),
        ("quantity -1", format!("{{classes: {{backend: {}}}}}", env("{resources: {limits: {memory: '-1'}}}"))),
        ("quantity as a number", format!("{{classes: {{backend: {}}}}}", env("{resources: {limits: {cpu: 1}}}"))),
        ("eviction policy enum", format!("{{classes: {{backend: {}}}}}", env("{disruptionBudget: {unhealthyPodEvictionPolicy: Sometimes}}"))),
        ("eviction policy valid", format!("{{classes: {{backend: {}}}}}", env("{disruptionBudget: {unhealthyPodEvictionPolicy: IfHealthyBudget}}"))),
        ("maxUnavailable 0", format!("{{classes: {{backend: {}}}}}", env("{disruptionBudget: {maxUnavailable: 0}}"))),
        ("maxUnavailable 0%", format!("{{classes: {{backend: {}}}}}", env("{disruptionBudget: {maxUnavailable: '0%'}}"))),
        ("maxUnavailable 25%", format!("{{classes: {{backend: {}}}}}", env("{disruptionBudget: {maxUnavailable: '25%'}}"))),
        ("maxUnavailable 150%", format!("{{classes: {{backend: {}}}}}", env("{disruptionBudget: {maxUnavailable: '150%'}}"))),
        ("minAvailable 100%", format!("{{classes: {{backend: {}}}}}", env("{disruptionBudget: {minAvailable: '100%'}}"))),
        ("minAvailable instead", format!("{{classes: {{backend: {}}}}}", env("{disruptionBudget: {minAvailable: 2}}"))),
        ("both budget fields", format!("{{classes: {{batch: {}}}}}", env("{disruptionBudget: {minAvailable: 2, maxUnavailable: 1}}"))),
        ("new class, no budget field", format!("{{classes: {{batch: {}}}}}", env("{disruptionBudget: {unhealthyPodEvictionPolicy: AlwaysAllow}}"))),
        ("mode enum", "{mode: dry-run}".into()),
        ("without the profile, no target", "{useShippedProfile: false, environments: {dev: {}}, classes: {default: {environments: {dev: {autoscaling: {minReplicas: 1, maxReplicas: 2}}}}}}".into()),
        ("without the profile, a target", "{useShippedProfile: false, environments: {dev: {}}, classes: {default: {environments: {dev: {autoscaling: {minReplicas: 1, maxReplicas: 2, targetCPUUtilizationPercentage: 60}}}}}}".into()),
    ];
    let tmp = util::tempdir();
    let mut docs = serde_json::Map::new();
    let mut function = std::collections::BTreeMap::new();
    for (name, spec) in &cases {
        let text = format!(
            "apiVersion: apply-defaults.dev/v1alpha1\nkind: ApplyDefaults\nmetadata: {{name: d}}\nspec: {spec}\n"
        );
        let path = tmp.path().join("config.yaml");
        std::fs::write(&path, &text).unwrap();
        let out = stream(&["--config", path.to_str().unwrap()], SHOP);
        assert!(out.code == 0 || out.code == 1, "{name}: {out:?}");
        function.insert(name.to_string(), out.code == 0);
        docs.insert(name.to_string(), util::yaml(&text));
    }
    let schema = util::root().join("docs/apply-defaults.schema.json");
    let run = util::run_cmd(
        Command::new(&python)
            .arg("-c")
            .arg(SCHEMA_VERDICTS_PY)
            .arg(&schema),
        &Value::Object(docs).to_string(),
    )
    .expect_code(0);
    let by_schema: std::collections::BTreeMap<String, bool> =
        serde_json::from_str(&run.stdout).unwrap();
    let disagree: Vec<String> = function
        .iter()
        .filter(|(name, ok)| by_schema[*name] != **ok)
        .map(|(name, ok)| format!("{name}: function {ok}, schema {}", by_schema[name]))
        .collect();
    assert!(disagree.is_empty(), "{disagree:#?}");
    // The cases cover both verdicts.
    assert!(function.values().any(|ok| *ok) && function.values().any(|ok| !*ok));
}
