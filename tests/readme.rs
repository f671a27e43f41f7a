//! The README is tested like code: its two top commands, its before/after example and its
//! traffic picture come from (or run) the real binary. `UPDATE_GOLDEN=1` (or
//! `scripts/gen-readme-graph.sh`) rewrites the generated blocks after review.

use std::process::Command;

use crate::util::{self, PUBLISHED_IMAGE, run};

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

// ---------------------------------------------------------------------------------------------
// Every shell command in the README and every Makefile target is run by a test (issue 17).

/// README sections other work owns and rewrites (the runners, Helm, the tests' tool installs):
/// their commands are tested in tests/runners.rs and tests/helm.rs (which runs the Helm block as
/// written), not listed here.
fn excluded_section(h2: &str, h3: &str) -> bool {
    h2 == "Running it" || h2 == "Tests" || h2.contains("Helm") || h3.contains("Helm")
}

/// The shell commands of the README's `sh` and `console` blocks outside the excluded sections,
/// continuation lines joined and comments dropped.
fn readme_commands(text: &str) -> Vec<String> {
    let (mut h2, mut h3) = (String::new(), String::new());
    let mut fence: Option<String> = None;
    let mut commands = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        if let Some(kind) = &fence {
            if line.starts_with("```") {
                fence = None;
                continue;
            }
            if excluded_section(&h2, &h3) {
                continue;
            }
            let line = match kind.as_str() {
                "sh" => line,
                "console" => match line.strip_prefix("$ ") {
                    Some(l) => l,
                    None if !pending.is_empty() => line,
                    None => continue,
                },
                _ => continue,
            };
            // A `#` after a space starts a comment; none of the commands quotes one.
            let code = line.split(" #").next().unwrap_or_default();
            let code = if code.trim_start().starts_with('#') {
                ""
            } else {
                code
            };
            let code = code.trim();
            if let Some(head) = code.strip_suffix('\\') {
                pending.push_str(head.trim());
                pending.push(' ');
                continue;
            }
            pending.push_str(code);
            if !pending.trim().is_empty() {
                commands.push(pending.trim().to_string());
            }
            pending.clear();
            continue;
        }
        if let Some(t) = line.strip_prefix("## ") {
            (h2, h3) = (t.trim().to_string(), String::new());
        } else if let Some(t) = line.strip_prefix("### ") {
            h3 = t.trim().to_string();
        } else if let Some(kind) = line.strip_prefix("```") {
            fence = Some(kind.trim().to_string());
        }
    }
    commands
}

/// The README's commands, each with the test that runs it. A command added to the README
/// fails `every_readme_command_is_exercised` until it is listed here with its test.
const README_COMMANDS: &[(&str, &str)] = &[
    (
        "scripts/render.sh overlays/prod",
        "render_command_renders_prod_with_the_defaults",
    ),
    (
        "scripts/test.sh",
        "the command that runs this suite (the_two_commands_at_the_top_are_render_and_test)",
    ),
    (
        "cargo install --path .",
        "install_commands_install_the_binary",
    ),
    (
        "cargo install --git \"$APPLY_DEFAULTS_GIT\" apply-defaults",
        "install_commands_install_the_binary",
    ),
    (
        "scripts/build-image.sh",
        "image_commands_build_and_name_the_image",
    ),
    (
        "scripts/build-image.sh --print-tag",
        "image_commands_build_and_name_the_image",
    ),
    (
        "PATH=\"$PWD/scripts/docker-shim:$PATH\" kubectl kustomize --enable-alpha-plugins overlays/prod",
        "docker_shim_renders_with_podman",
    ),
    (
        "apply-defaults profile --environment prod > prod.yaml",
        "stream_config_commands_give_the_prod_output",
    ),
    (
        "kubectl kustomize functions/settings/prod > prod.yaml",
        "stream_config_commands_give_the_prod_output",
    ),
    (
        "kubectl kustomize base | apply-defaults stream --config prod.yaml",
        "stream_config_commands_give_the_prod_output",
    ),
    (
        "apply-defaults stream --report --config examples/prod-stack/fn-config.yaml < examples/prod-stack/stack.yaml > /dev/null",
        "report_example_is_the_real_report",
    ),
    ("make image", "makefile_targets_run"),
    ("make render-prod", "makefile_targets_run"),
    ("make validate", "makefile_targets_run"),
    ("make apply-prod", "makefile_targets_run"),
    (
        "make render-prod STACK=examples/interview-prep",
        "makefile_targets_run",
    ),
    (
        "kubectl -n ai-interviewer create secret generic ai-interviewer-postgres --from-literal=POSTGRES_USER=interviewer --from-literal=POSTGRES_PASSWORD=\"$(openssl rand -hex 24)\"",
        "secret_command_makes_the_secret",
    ),
];

/// Every Makefile target, each run (or dry-run, for a cluster) by `makefile_targets_run`.
const MAKE_TARGETS: &[&str] = &[
    "image",
    "render-dev",
    "render-prod",
    "render",
    "validate",
    "apply-dev",
    "apply-prod",
    "test",
    "clean-out",
];

#[test]
fn every_readme_command_is_exercised() {
    let found = readme_commands(&readme());
    let listed: Vec<String> = README_COMMANDS.iter().map(|(c, _)| c.to_string()).collect();
    assert_eq!(
        found, listed,
        "README commands changed: list each one in README_COMMANDS with the test that runs it"
    );
}

#[test]
fn every_makefile_target_is_exercised() {
    let makefile = std::fs::read_to_string(util::root().join("Makefile")).unwrap();
    let phony: Vec<&str> = makefile
        .lines()
        .find_map(|l| l.strip_prefix(".PHONY:"))
        .expect(".PHONY line")
        .split_whitespace()
        .collect();
    assert_eq!(phony, MAKE_TARGETS, "a Makefile target no test runs");
}

/// A copy of what the Makefile and the README's commands use, with the container function
/// pointing at the image under test (which may be a private tag on a shared machine).
fn tree_copy(image: &str) -> tempfile::TempDir {
    let tmp = util::tempdir();
    let root = util::root();
    for dir in [
        "base",
        "overlays",
        "functions",
        "examples/interview-prep",
        "examples/prod-stack",
        "scripts/docker-shim",
    ] {
        util::copy_dir(&root.join(dir), &tmp.path().join(dir));
    }
    std::fs::copy(root.join("Makefile"), tmp.path().join("Makefile")).unwrap();
    let component = tmp.path().join("functions/container/kustomization.yaml");
    let text = std::fs::read_to_string(&component).unwrap();
    assert!(
        text.contains(PUBLISHED_IMAGE),
        "the component names the image"
    );
    std::fs::write(&component, text.replace(PUBLISHED_IMAGE, image)).unwrap();
    tmp
}

fn write_executable(path: &std::path::Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// PATH with `dirs` first.
fn path_with(dirs: &[&std::path::Path]) -> std::ffi::OsString {
    let mut all: Vec<std::path::PathBuf> = dirs.iter().map(|d| d.to_path_buf()).collect();
    all.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(all).unwrap()
}

/// A directory whose `apply-defaults` is the binary under test.
fn bin_dir(tmp: &std::path::Path) -> std::path::PathBuf {
    let d = tmp.join("bin");
    std::fs::create_dir_all(&d).unwrap();
    std::os::unix::fs::symlink(util::bin(), d.join("apply-defaults")).unwrap();
    d
}

/// Runs one README command as written, with bash, in `dir`.
fn sh(dir: &std::path::Path, command: &str, path: &std::ffi::OsStr) -> util::Run {
    util::run_cmd(
        Command::new("bash")
            .args(["-euo", "pipefail", "-c", command])
            .current_dir(dir)
            .env("PATH", path),
        "",
    )
}

fn readme_command(name_prefix: &str) -> &'static str {
    README_COMMANDS
        .iter()
        .map(|(c, _)| *c)
        .find(|c| c.starts_with(name_prefix))
        .unwrap_or_else(|| panic!("no README command starts with {name_prefix}"))
}

fn has_defaults(rendered: &str) -> bool {
    rendered.contains("runAsNonRoot: true") && rendered.contains("kind: NetworkPolicy")
}

#[test]
fn makefile_targets_run() {
    let Some(image) = util::function_image() else {
        return;
    };
    if util::require_tool("kubectl", "renders the overlays").is_none() {
        return;
    }
    let tree = tree_copy(&image);
    let dir = tree.path();
    let path = path_with(&[]);
    let make = |args: &[&str]| {
        util::run_cmd(
            Command::new("make")
                .args(args)
                .current_dir(dir)
                .env("PATH", &path),
            "",
        )
    };
    // `validate` renders dev and prod (render, render-dev, render-prod) and checks them; without
    // kubernetes-validate the renders still run.
    let validator = util::which("kubernetes-validate").is_some();
    if validator {
        let out = sh(dir, readme_command("make validate"), &path).expect_code(0);
        assert!(out.stdout.contains("are valid"), "{}", out.stdout);
    } else {
        assert!(
            !util::in_ci(),
            "kubernetes-validate is missing (make validate)"
        );
        eprintln!(
            "SKIPPED: kubernetes-validate is not installed; `make render` instead of `make validate`"
        );
        make(&["render"]).expect_code(0);
    }
    for env in ["dev", "prod"] {
        let text = std::fs::read_to_string(dir.join(format!("out/{env}.yaml"))).unwrap();
        assert!(has_defaults(&text), "out/{env}.yaml has no defaults");
    }
    // apply-* render and hand the file to `kubectl apply -f`: a kubectl that records its apply
    // calls (there is no cluster) and passes `kustomize` to the real one.
    let fake = dir.join("fake-kubectl");
    let log = dir.join("apply.log");
    write_executable(
        &fake,
        &format!(
            "#!/bin/sh\nif [ \"$1\" = apply ]; then echo \"ARGS $*\" >> {log}; cat \"$3\" >> {log}; exit 0; fi\nexec kubectl \"$@\"\n",
            log = log.display()
        ),
    );
    std::fs::remove_dir_all(dir.join("out")).unwrap();
    make(&["apply-dev", &format!("KUBECTL={}", fake.display())]).expect_code(0);
    let out = util::run_cmd(
        Command::new("bash")
            .args(["-c", readme_command("make apply-prod")])
            .current_dir(dir)
            .env("PATH", &path)
            .env("KUBECTL", &fake),
        "",
    )
    .expect_code(0);
    assert!(!out.stderr.contains("unknown flag"), "{}", out.stderr);
    let applied = std::fs::read_to_string(&log).unwrap();
    assert!(applied.contains("ARGS apply -f out/dev.yaml"), "{applied}");
    assert!(applied.contains("ARGS apply -f out/prod.yaml"), "{applied}");
    assert!(has_defaults(&applied) && applied.contains("kind: HorizontalPodAutoscaler"));
    // The real `kubectl apply` takes those arguments (a client-side dry run needs no cluster
    // only for parsing flags; an unknown flag fails before any connection).
    let help = util::run_cmd(Command::new("kubectl").args(["apply", "--help"]), "").expect_code(0);
    assert!(!help.stdout.contains("--enable-alpha-plugins"));
    // The other stack.
    sh(dir, readme_command("make render-prod STACK="), &path).expect_code(0);
    let text = std::fs::read_to_string(dir.join("out/prod.yaml")).unwrap();
    assert!(
        has_defaults(&text) && text.contains("interview-prep"),
        "interview-prep render"
    );
    sh(dir, readme_command("make render-prod"), &path).expect_code(0);
    make(&["clean-out"]).expect_code(0);
    assert!(!dir.join("out").exists(), "clean-out removes out/");
    // `test` is this suite and `image` runs scripts/build-image.sh (tested below, and run by
    // scripts/test.sh before the suite): dry runs check what they call.
    let out = make(&["-n", "test"]).expect_code(0);
    assert_eq!(out.stdout.trim(), "cargo test");
    let out = util::run_cmd(
        Command::new("make")
            .args(["-n", "image"])
            .current_dir(util::root()),
        "",
    )
    .expect_code(0);
    assert_eq!(out.stdout.trim(), "scripts/build-image.sh");
    assert_eq!(readme_command("make image"), "make image");
}

#[test]
fn image_commands_build_and_name_the_image() {
    let Some(image) = util::function_image() else {
        return;
    };
    let out = sh(
        &util::root(),
        readme_command("scripts/build-image.sh --print-tag"),
        &path_with(&[]),
    )
    .expect_code(0);
    assert_eq!(out.stdout.trim(), image);
    // Built by scripts/test.sh before the suite: run again, it finds the image up to date.
    let out = sh(&util::root(), "scripts/build-image.sh", &path_with(&[])).expect_code(0);
    assert!(out.stderr.contains("up to date"), "{}", out.stderr);
}

#[test]
fn docker_shim_renders_with_podman() {
    let Some(image) = util::function_image() else {
        return;
    };
    if util::require_tool("kubectl", "renders overlays/prod").is_none() {
        return;
    }
    let tree = tree_copy(&image);
    let out = sh(
        tree.path(),
        readme_command("PATH=\"$PWD/scripts/docker-shim"),
        &path_with(&[]),
    )
    .expect_code(0);
    assert!(has_defaults(&out.stdout), "no defaults in the shim render");
}

/// A `docker` CLI whose daemon is unreachable: render.sh says so in one line and goes on
/// with the shim instead of failing inside kustomize.
#[test]
fn render_falls_back_to_the_shim_when_docker_has_no_daemon() {
    if util::require_tool("podman", "builds the image render.sh uses").is_none() {
        return;
    }
    let tmp = util::tempdir();
    let fake = tmp.path().join("fake");
    std::fs::create_dir_all(&fake).unwrap();
    write_executable(
        &fake.join("docker"),
        "#!/bin/sh\necho 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.' >&2\nexit 1\n",
    );
    // The kubectl render.sh ends with reports which `docker` kustomize would start.
    write_executable(
        &fake.join("kubectl"),
        "#!/bin/sh\necho \"kubectl $*\"\necho \"docker is $(command -v docker)\"\n",
    );
    let out = util::run_cmd(
        Command::new(util::root().join("scripts/render.sh"))
            .arg("overlays/prod")
            .env("PATH", path_with(&[&fake])),
        "",
    )
    .expect_code(0);
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("daemon is unreachable"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(!out.stderr.contains("Cannot connect"), "{}", out.stderr);
    let shim = util::root().join("scripts/docker-shim/docker");
    assert!(
        out.stdout
            .contains(&format!("docker is {}", shim.display())),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("kubectl kustomize --enable-alpha-plugins overlays/prod")
    );
}

#[test]
fn stream_config_commands_give_the_prod_output() {
    if util::require_tool("kubectl", "renders base and the settings").is_none() {
        return;
    }
    let tmp = util::tempdir();
    let bin = bin_dir(tmp.path());
    let path = path_with(&[&bin]);
    let root = util::root();
    let config = tmp.path().join("prod.yaml");
    let in_tmp = |c: &str| c.replace("prod.yaml", &config.display().to_string());
    let stream = in_tmp(readme_command("kubectl kustomize base |"));
    sh(
        &root,
        &in_tmp(readme_command("apply-defaults profile")),
        &path,
    )
    .expect_code(0);
    let from_profile = sh(&root, &stream, &path).expect_code(0).stdout;
    assert!(has_defaults(&from_profile));
    sh(
        &root,
        &in_tmp(readme_command("kubectl kustomize functions/settings/prod")),
        &path,
    )
    .expect_code(0);
    let settings = std::fs::read_to_string(&config).unwrap();
    let from_settings = sh(&root, &stream, &path).expect_code(0).stdout;
    // The same config as the prod overlay's but for this repo's own declared edges and the
    // AI Interviewer's own name matches (functions/settings/base), which no other repo wants.
    let mut without_edges = util::yaml(&settings);
    assert!(without_edges["spec"]["networkPolicy"]["edges"].is_array());
    assert!(without_edges["spec"]["classes"].is_object());
    let spec = without_edges["spec"].as_object_mut().unwrap();
    spec.remove("networkPolicy");
    spec.remove("classes");
    assert_eq!(
        without_edges["spec"],
        serde_json::json!({"environment": "prod"})
    );
    std::fs::write(
        &config,
        apply_defaults::krm::yaml::to_string(&without_edges).unwrap(),
    )
    .unwrap();
    let from_settings_without_edges = sh(&root, &stream, &path).expect_code(0).stdout;
    assert_eq!(from_profile, from_settings_without_edges);
    assert_ne!(
        from_profile, from_settings,
        "the edges add NetworkPolicy rules"
    );
}

#[test]
fn report_example_is_the_real_report() {
    let text = readme();
    let start = text
        .find("```console\n$ apply-defaults stream --report")
        .expect("console block");
    let body = fenced_body(&text[start..]);
    let shown: String = body
        .lines()
        .skip_while(|l| l.starts_with("$ ") || l.starts_with("      "))
        .map(|l| format!("{l}\n"))
        .collect();
    let tmp = util::tempdir();
    let bin = bin_dir(tmp.path());
    let out = sh(
        &util::root(),
        readme_command("apply-defaults stream --report"),
        &path_with(&[&bin]),
    )
    .expect_code(0);
    // The README shows the table; the run's warnings follow it on stderr.
    assert!(
        out.stderr.starts_with(&shown),
        "README report is stale:\n{}",
        out.stderr
    );
}

#[test]
fn secret_command_makes_the_secret() {
    if util::require_tool("kubectl", "runs the README's secret command").is_none()
        || util::require_tool("openssl", "makes the password").is_none()
    {
        return;
    }
    let command = format!(
        "{} --dry-run=client -o yaml",
        readme_command("kubectl -n ai-interviewer create secret")
    );
    let out = sh(&util::root(), &command, &path_with(&[])).expect_code(0);
    let secret = util::yaml(&out.stdout);
    assert_eq!(secret["kind"], "Secret");
    assert_eq!(secret["metadata"]["namespace"], "ai-interviewer");
    assert!(secret["data"]["POSTGRES_PASSWORD"].is_string());
}

#[test]
fn install_commands_install_the_binary() {
    // The test binary's own target directory, so the install reuses its build.
    let target = util::bin()
        .parent()
        .and_then(|d| d.parent())
        .expect("target/debug/apply-defaults")
        .to_path_buf();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let tmp = util::tempdir();
    let install = |args: &[&str], root: &std::path::Path| {
        let out = util::run_cmd(
            Command::new(&cargo)
                .args(args)
                .args(["--debug", "--offline", "--locked", "--root"])
                .arg(root)
                .arg("--target-dir")
                .arg(&target)
                .current_dir(util::root()),
            "",
        )
        .expect_code(0);
        let installed = root.join("bin/apply-defaults");
        let version = util::run_cmd(Command::new(&installed).arg("--version"), "").expect_code(0);
        assert!(
            version.stdout.starts_with("apply-defaults "),
            "{}",
            out.stderr
        );
    };
    let path_form: Vec<&str> = readme_command("cargo install --path")
        .split(' ')
        .skip(1)
        .collect();
    install(&path_form, &tmp.path().join("path"));
    // The --git form cannot run here: cargo refuses a git checkout under --offline, and
    // without it cargo wants the network for the registry index. What it adds to the path form
    // is only the source, so pin that it is the same command with the source swapped.
    let git = readme_command("cargo install --git");
    assert_eq!(
        git.replace("--git \"$APPLY_DEFAULTS_GIT\" apply-defaults", "--path ."),
        readme_command("cargo install --path")
    );
}

/// The Troubleshooting table's silent cases, on a one-Deployment kustomization: the build
/// succeeds and the Deployment comes out without defaults.
#[test]
fn troubleshooting_cases_are_silent_as_described() {
    let Some(image) = util::function_image() else {
        return;
    };
    if util::require_tool("kubectl", "runs kubectl kustomize").is_none() {
        return;
    }
    let tmp = util::tempdir();
    let dir = tmp.path();
    let write = |rel: &str, text: &str| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "base/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n    spec:\n      containers: [{name: api, image: nginx, ports: [{containerPort: 8080}]}]\n",
    );
    write("base/kustomization.yaml", "resources: [deployment.yaml]\n");
    for (name, function) in [
        ("container", format!("container: {{image: {image}}}")),
        ("exec", "exec: {path: apply-defaults}".to_string()),
    ] {
        write(
            &format!("fn-{name}/fn.yaml"),
            &format!(
                "apiVersion: apply-defaults.dev/v1alpha1\nkind: ApplyDefaults\nmetadata:\n  name: d\n  annotations:\n    config.kubernetes.io/function: |\n      {function}\nspec: {{environment: prod}}\n"
            ),
        );
        write(
            &format!("fn-{name}/kustomization.yaml"),
            "resources: [fn.yaml]\n",
        );
    }
    let shim = util::root().join("scripts/docker-shim");
    let tmp_bin = bin_dir(dir);
    let path = path_with(&[&shim, &tmp_bin]);
    let build = |kustomization: &str, flags: &[&str]| {
        write("case/kustomization.yaml", kustomization);
        util::run_cmd(
            Command::new("kubectl")
                .arg("kustomize")
                .args(flags)
                .arg(dir.join("case"))
                .env("PATH", &path),
            "",
        )
    };
    let alpha = ["--enable-alpha-plugins"];
    // The container form as a transformer runs: the control case.
    let ran = build(
        "resources: [../base]\ntransformers: [../fn-container]\n",
        &alpha,
    )
    .expect_code(0);
    assert!(
        has_defaults(&ran.stdout),
        "the control case ran the function"
    );
    let silent = |out: util::Run| {
        let out = out.expect_code(0);
        assert!(
            !out.stdout.contains("runAsNonRoot"),
            "defaults applied:\n{}",
            out.stdout
        );
        assert!(out.stdout.contains("kind: Deployment"));
        out.stdout
    };
    // Exec form under kubectl kustomize (no --enable-exec; standalone kustomize without it
    // takes the same path).
    silent(build(
        "resources: [../base]\ntransformers: [../fn-exec]\n",
        &alpha,
    ));
    // Under resources: the config object comes out as a resource.
    let out = silent(build("resources: [../base, ../fn-container]\n", &alpha));
    assert!(out.contains("kind: ApplyDefaults"), "{out}");
    // Under generators: the function runs with nothing to change.
    silent(build(
        "resources: [../base]\ngenerators: [../fn-container]\n",
        &alpha,
    ));
    // Without --enable-alpha-plugins it is not silent.
    let out = build(
        "resources: [../base]\ntransformers: [../fn-container]\n",
        &[],
    );
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("external plugins disabled"),
        "{}",
        out.stderr
    );
}
