//! The README is tested like code: its two top commands, its before/after example and its
//! traffic picture come from (or run) the real binary. `UPDATE_GOLDEN=1` (or
//! `scripts/gen-readme-graph.sh`) rewrites the generated blocks after review.

use std::process::Command;

use crate::util::{self, run};

fn readme() -> String {
    std::fs::read_to_string(util::root().join("README.md")).expect("README.md")
}

/// The text between `<!-- readme:NAME:begin -->` and `<!-- readme:NAME:end -->`.
fn block(text: &str, name: &str) -> (usize, usize) {
    let begin = format!("<!-- readme:{name}:begin -->\n");
    let end = format!("<!-- readme:{name}:end -->");
    let b = text
        .find(&begin)
        .unwrap_or_else(|| panic!("README has no {begin}"))
        + begin.len();
    let e = text[b..]
        .find(&end)
        .unwrap_or_else(|| panic!("README has no {end}"))
        + b;
    (b, e)
}

/// Compares a generated block with the README, or rewrites it under UPDATE_GOLDEN=1.
fn check_block(name: &str, fence: &str, generated: &str) {
    let text = readme();
    let (b, e) = block(&text, name);
    let wanted = format!("```{fence}\n{generated}```\n");
    if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        let updated = format!("{}{wanted}{}", &text[..b], &text[e..]);
        std::fs::write(util::root().join("README.md"), updated).expect("write README");
        return;
    }
    assert_eq!(
        &text[b..e],
        wanted,
        "README block `{name}` is stale: run scripts/gen-readme-graph.sh (or UPDATE_GOLDEN=1) and review"
    );
}

fn fenced_body(text: &str) -> &str {
    let start = text.find("```").expect("fence");
    let body = &text[start..];
    let body = &body[body.find('\n').expect("fence line") + 1..];
    &body[..body.find("```").expect("closing fence")]
}

#[test]
fn the_two_commands_at_the_top_are_render_and_test() {
    let text = readme();
    let first = fenced_body(&text);
    let commands: Vec<&str> = first
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        commands,
        ["scripts/render.sh overlays/prod", "scripts/test.sh"]
    );
    for script in ["scripts/render.sh", "scripts/test.sh", ".ci/run"] {
        assert!(util::root().join(script).is_file(), "{script} is missing");
    }
    let ci = std::fs::read_to_string(util::root().join(".ci/run")).unwrap();
    assert!(
        ci.contains("scripts/test.sh"),
        ".ci/run must call the README's test command"
    );
}

#[test]
fn render_command_renders_prod_with_the_defaults() {
    if util::require_tool(
        "podman",
        "renders overlays/prod through the container function",
    )
    .is_none()
    {
        return;
    }
    if util::require_tool("kubectl", "renders overlays/prod").is_none() {
        return;
    }
    let out = util::run_cmd(
        Command::new(util::root().join("scripts/render.sh")).arg("overlays/prod"),
        "",
    )
    .expect_code(0);
    let docs = util::yaml_docs(&out.stdout);
    let kinds: Vec<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
    for kind in [
        "Deployment",
        "StatefulSet",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
    ] {
        assert!(kinds.contains(&kind), "no {kind} in the prod render");
    }
    let backend = docs
        .iter()
        .find(|d| d["kind"] == "Deployment" && d["metadata"]["name"] == "ai-interviewer-backend")
        .expect("the backend");
    assert!(
        backend["spec"]["replicas"].is_null(),
        "the HPA manages the backend's replicas"
    );
    assert_eq!(
        backend["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"],
        true
    );
}

#[test]
fn before_and_after_is_the_real_output() {
    let text = readme();
    let (b, e) = block(&text, "before");
    let before = fenced_body(&text[b..e]).to_string();
    let config = util::root().join("tests/testdata/readme-prod.yaml");
    let out = run(&["stream", "--config", config.to_str().unwrap()], &before).expect_code(0);
    let docs = util::yaml_docs(&out.stdout);
    let deployment = docs
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("the Deployment");
    let generated: Vec<String> = docs
        .iter()
        .filter(|d| d["metadata"]["annotations"]["apply-defaults.dev/generated"] == "true")
        .map(|d| d["kind"].as_str().unwrap_or_default().to_string())
        .collect();
    for kind in [
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
    ] {
        assert!(
            generated.iter().any(|g| g == kind),
            "no {kind} generated: {generated:?}"
        );
    }
    let mut shown = deployment.clone();
    if let Some(a) = shown["metadata"].as_object_mut() {
        a.remove("annotations");
    }
    check_block(
        "after",
        "yaml",
        &apply_defaults::krm::yaml::to_string(&shown).unwrap(),
    );
}

#[test]
fn traffic_picture_is_the_graph_of_this_repository() {
    if util::require_tool(
        "kubectl",
        "renders base/ and functions/settings/prod for the graph",
    )
    .is_none()
    {
        return;
    }
    let kustomize = |dir: &str| {
        util::run_cmd(
            Command::new("kubectl")
                .args(["kustomize", dir])
                .current_dir(util::root()),
            "",
        )
        .expect_code(0)
        .stdout
    };
    let base = kustomize("base");
    let settings = kustomize("functions/settings/prod");
    let dir = util::tempdir();
    let config = dir.path().join("prod.yaml");
    std::fs::write(&config, settings).unwrap();
    let graph = run(
        &[
            "graph",
            "--format",
            "mermaid",
            "--config",
            config.to_str().unwrap(),
        ],
        &base,
    )
    .expect_code(0);
    check_block("graph", "mermaid", &graph.stdout);
}
