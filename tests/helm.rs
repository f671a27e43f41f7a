//! Helm 3 and Helm 4, the real binaries (built by scripts/install-tools.sh at the versions in
//! scripts/tool-versions.sh), post-rendering `examples/helm/chart` through apply-defaults:
//!
//! - Helm 3's executable form: `--post-renderer apply-defaults --post-renderer-args stream ...`,
//!   the binary found on PATH by its bare name;
//! - Helm 4's post-renderer plugin form: `helm plugin install examples/helm` (its
//!   `plugin.yaml`, type `postrenderer/v1`), then `--post-renderer apply-defaults`.
//!
//! Every run gets a throw-away Helm home (HELM_PLUGINS, HELM_CONFIG_HOME, HELM_CACHE_HOME,
//! HELM_DATA_HOME, HOME), so the plugin install touches nothing outside the test. Output is
//! checked like the other runners: the reviewed golden `tests/golden/helm/shop.yaml`, the same
//! objects as the KRM function over the plain `helm template` output, the defaults really in,
//! check mode satisfied, a second pass a no-op. The README's Helm block and
//! `examples/helm/README.md` are run as written.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::runners::record;
use crate::util::{self, Run};

const GOLDEN: &str = "helm/shop.yaml";
const CHART: &str = "examples/helm/chart";
const CONFIG: &str = "examples/helm/apply-defaults.yaml";

/// Which Helm: the tools.env key and what it is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Major {
    Three,
    Four,
}

impl Major {
    fn key(self) -> &'static str {
        match self {
            Major::Three => "HELM3",
            Major::Four => "HELM4",
        }
    }
    fn name(self) -> &'static str {
        match self {
            Major::Three => "Helm 3",
            Major::Four => "Helm 4",
        }
    }
}

/// A pinned Helm with a throw-away home and a PATH where `helm` is that Helm and
/// `apply-defaults` is the binary under test.
struct Helm {
    exe: PathBuf,
    version: String,
    home: tempfile::TempDir,
    path: OsString,
}

impl Helm {
    fn new(major: Major) -> Option<Helm> {
        let exe = util::pinned_tool(major.key(), "post-renders the example chart")?;
        let version = util::pinned_version(&exe);
        let home = util::tempdir();
        let bin = home.path().join("bin");
        std::fs::create_dir_all(&bin).expect("mkdir");
        std::os::unix::fs::symlink(&exe, bin.join("helm")).expect("symlink helm");
        std::os::unix::fs::symlink(util::bin(), bin.join("apply-defaults"))
            .expect("symlink apply-defaults");
        let mut dirs = vec![bin];
        if let Some(p) = std::env::var_os("PATH") {
            dirs.extend(std::env::split_paths(&p));
        }
        let path = std::env::join_paths(dirs).expect("PATH joins");
        Some(Helm {
            exe,
            version,
            home,
            path,
        })
    }

    /// The environment every command of this Helm runs with: nothing of the caller's Helm
    /// settings, a home of its own.
    fn env(&self, cmd: &mut Command) {
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("HELM_") {
                cmd.env_remove(&k);
            }
        }
        let h = self.home.path();
        // HELM_PLUGINS at its default, inside HELM_DATA_HOME: Helm 4.3.2's `plugin install` of a
        // local directory links it into $HELM_DATA_HOME/plugins whatever HELM_PLUGINS says
        // (its LocalInstaller.Path), while `--post-renderer` looks in HELM_PLUGINS.
        cmd.env("HELM_PLUGINS", h.join("data/plugins"))
            .env("HELM_CONFIG_HOME", h.join("config"))
            .env("HELM_CACHE_HOME", h.join("cache"))
            .env("HELM_DATA_HOME", h.join("data"))
            .env("HOME", h.join("home"))
            .env("PATH", &self.path);
    }

    /// `helm ARGS` in `dir`.
    fn run(&self, dir: &Path, args: &[&str]) -> Run {
        let mut cmd = Command::new(&self.exe);
        cmd.args(args).current_dir(dir);
        self.env(&mut cmd);
        util::run_cmd(&mut cmd, "")
    }

    /// A shell command line (a README command, pipes included) in `dir`.
    fn sh(&self, dir: &Path, line: &str) -> Run {
        let mut cmd = Command::new("bash");
        cmd.args(["-o", "pipefail", "-euc", line]).current_dir(dir);
        self.env(&mut cmd);
        util::run_cmd(&mut cmd, "")
    }

    fn install_plugin(&self) {
        let out = self
            .run(&util::root(), &["plugin", "install", "examples/helm"])
            .expect_code(0);
        assert!(
            out.stdout.contains("Installed plugin: apply-defaults"),
            "{}",
            out.stdout
        );
    }
}

/// `helm template shop CHART` without a post-renderer: the objects the function gets.
fn plain_template(helm: &Helm) -> Vec<Value> {
    let out = helm
        .run(&util::root(), &["template", "shop", CHART])
        .expect_code(0);
    util::yaml_docs(&out.stdout)
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

/// The KRM function over the same objects with the same config.
fn function_mode(objects: &[Value]) -> Vec<Value> {
    let fc = util::yaml(&std::fs::read_to_string(util::root().join(CONFIG)).expect("config"));
    let out = util::run(&[], &util::resource_list(objects, Some(&fc))).expect_code(0);
    util::yaml(&out.stdout)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn by_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

/// What every post-rendered output must satisfy, for `what` (which Helm, which command).
fn check_post_rendered(helm: &Helm, stdout: &str, what: &str) -> usize {
    let docs: Vec<Value> = util::yaml_docs(stdout)
        .into_iter()
        .filter(|d| !d.is_null())
        .collect();
    // The reviewed golden.
    util::assert_golden(GOLDEN, &util::rendered_text(docs.clone()));
    // Exactly what the KRM function makes of the plain chart output: stream mode under Helm is
    // the same function, not a look-alike.
    assert_eq!(
        util::rendered_text(docs.clone()),
        util::rendered_text(function_mode(&plain_template(helm))),
        "{what}: differs from the KRM function over `helm template` without a post-renderer"
    );
    // The defaults really went in: the chart sets none of them.
    let deployments = by_kind(&docs, "Deployment");
    assert_eq!(deployments.len(), 1, "{what}: one Deployment");
    let pod = &deployments[0]["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    for field in [
        "resources",
        "readinessProbe",
        "livenessProbe",
        "securityContext",
    ] {
        assert!(
            c[field].is_object(),
            "{what}: container has no {field}: {c}"
        );
    }
    assert!(
        c["resources"]["requests"].is_object(),
        "{what}: no requests: {c}"
    );
    assert_eq!(
        pod["securityContext"]["runAsNonRoot"], true,
        "{what}: pod not non-root: {pod}"
    );
    for kind in ["PodDisruptionBudget", "NetworkPolicy"] {
        assert!(
            !by_kind(&docs, kind).is_empty(),
            "{what}: no generated {kind}"
        );
    }
    // Check mode over the output finds nothing missing, and a second pass changes nothing.
    let config_arg = format!("--config={}", util::root().join(CONFIG).display());
    util::run(&["stream", "--check", &config_arg], stdout).expect_code(0);
    let again = util::run(&["stream", &config_arg], stdout).expect_code(0);
    assert_eq!(
        util::rendered_text(util::yaml_docs(&again.stdout)),
        util::rendered_text(docs.clone()),
        "{what}: a second pass changed the output"
    );
    docs.len()
}

/// `helm template shop <chart>` through our post-renderer with this `--config=` argument: Helm
/// 3 runs the `apply-defaults` executable in `stream` mode, Helm 4 the plugin of that name
/// (whose command adds `stream` itself).
fn template_args(major: Major, config_arg: &str) -> Vec<String> {
    let mut args: Vec<String> = [
        "template",
        "shop",
        CHART,
        "--post-renderer",
        "apply-defaults",
    ]
    .map(String::from)
    .into();
    if major == Major::Three {
        args.extend(["--post-renderer-args".into(), "stream".into()]);
    }
    args.extend(["--post-renderer-args".into(), config_arg.into()]);
    args
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn helm3_executable_post_renderer_renders_the_golden() {
    let Some(helm) = Helm::new(Major::Three) else {
        return;
    };
    let args = template_args(Major::Three, &format!("--config={CONFIG}"));
    let out = helm.run(&util::root(), &strs(&args)).expect_code(0);
    let n = check_post_rendered(&helm, &out.stdout, "Helm 3 executable post-renderer");
    record(&format!(
        "Helm {} template --post-renderer apply-defaults --post-renderer-args stream \
         --post-renderer-args --config=FILE: golden ({n} objects)",
        helm.version
    ));
}

#[test]
fn helm4_postrenderer_plugin_renders_the_golden() {
    let Some(helm) = Helm::new(Major::Four) else {
        return;
    };
    let root = util::root();
    let args = template_args(Major::Four, &format!("--config={CONFIG}"));
    let args = strs(&args);
    // Helm 4 takes only plugin names: before the plugin is installed, the bare executable name
    // that Helm 3 accepts is refused (the reason the plugin exists).
    let before = helm.run(&root, &args);
    assert_ne!(
        before.code, 0,
        "Helm 4 ran an executable post-renderer:\n{}",
        before.stdout
    );
    helm.install_plugin();
    let list = helm.run(&root, &["plugin", "list"]).expect_code(0);
    let row = list
        .stdout
        .lines()
        .find(|l| l.starts_with("apply-defaults"))
        .unwrap_or_else(|| panic!("plugin not listed:\n{}", list.stdout));
    assert!(row.contains("postrenderer/v1"), "{row}");
    let out = helm.run(&root, &args).expect_code(0);
    let n = check_post_rendered(&helm, &out.stdout, "Helm 4 post-renderer plugin");
    record(&format!(
        "Helm {} plugin install examples/helm (postrenderer/v1), template --post-renderer \
         apply-defaults --post-renderer-args --config=FILE: golden ({n} objects)",
        helm.version
    ));
}

/// A bad config fails the render: Helm aborts and prints no manifests (a release never goes out
/// without its defaults); Helm 3 shows apply-defaults' own message.
#[test]
fn post_renderer_error_aborts_helm() {
    for major in [Major::Three, Major::Four] {
        let Some(helm) = Helm::new(major) else {
            continue;
        };
        let root = util::root();
        let missing = "--config=examples/helm/no-such-config.yaml";
        if major == Major::Four {
            helm.install_plugin();
        }
        let out = helm.run(&root, &strs(&template_args(major, missing)));
        assert_ne!(out.code, 0, "{}: a missing config passed", major.name());
        assert!(
            !out.stdout.contains("kind: Deployment"),
            "{}: manifests printed despite the error:\n{}",
            major.name(),
            out.stdout
        );
        // Helm 3 passes the post-renderer's stderr on. Helm 4.3.2 keeps a plugin's stderr in a
        // buffer it never prints (internal/plugin runtime_subprocess.go), so all it says is that
        // the plugin failed; the README points to the pipe form for the message.
        let wanted = match major {
            Major::Three => "no-such-config.yaml",
            Major::Four => "plugin \"apply-defaults\" exited with error",
        };
        assert!(
            out.stderr.contains(wanted),
            "{}: the error does not say {wanted:?}:\n{}",
            major.name(),
            out.stderr
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The documented commands, as written

/// The `sh` blocks of a Markdown file (or of its section under the heading `section`) as
/// commands (continuations joined, comments dropped), each with the Helm it is for: a heading
/// or comment naming "Helm 3" or "Helm 4" picks that one until the next such line; anything
/// else (the pipes) is run with both.
fn documented_commands(text: &str, section: Option<&str>) -> Vec<(Option<Major>, String)> {
    let pick = |line: &str, who: &mut Option<Major>| {
        if line.contains("Helm 3") {
            *who = Some(Major::Three);
        } else if line.contains("Helm 4") {
            *who = Some(Major::Four);
        } else {
            *who = None;
        }
    };

    let text = match section {
        None => text.to_string(),
        Some(heading) => section_text(text, heading),
    };
    let mut out = Vec::new();
    let (mut in_sh, mut fenced) = (false, false);
    let mut who: Option<Major> = None;
    if let Some(heading) = section {
        pick(heading, &mut who);
    }
    let mut pending = String::new();
    for line in text.lines() {
        if fenced {
            if line.starts_with("```") {
                fenced = false;
                in_sh = false;
                continue;
            }
            if !in_sh {
                continue;
            }
            let t = line.trim();
            if t.starts_with('#') {
                pick(t, &mut who);
                continue;
            }
            if t.is_empty() {
                continue;
            }
            match t.strip_suffix('\\') {
                Some(part) => pending.push_str(part),
                None => {
                    pending.push_str(t);
                    out.push((who, std::mem::take(&mut pending)));
                }
            }
        } else if let Some(kind) = line.strip_prefix("```") {
            fenced = true;
            in_sh = kind == "sh";
        } else if line.starts_with('#') {
            pick(line, &mut who);
        }
    }
    out
}

/// The lines under `heading` up to the next heading of the same or a higher level (lines in
/// code blocks are not headings: a shell comment starts with `#` too).
fn section_text(text: &str, heading: &str) -> String {
    let level = heading.chars().take_while(|c| *c == '#').count();
    let mut out = String::new();
    let (mut inside, mut fenced) = (false, false);
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            let hashes = line.chars().take_while(|c| *c == '#').count();
            if line == heading {
                inside = true;
                continue;
            }
            if inside && hashes <= level && line[hashes..].starts_with(' ') {
                break;
            }
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert!(inside, "no section {heading:?}");
    out
}

/// Runs a document's Helm commands in `dir` with fresh Helm 3 and Helm 4 homes: every command
/// exits 0 and every post-rendered or piped manifest stream is the golden. Returns how many
/// command runs there were.
fn run_documented(doc: &str, section: Option<&str>, dir: &Path) -> usize {
    let text = std::fs::read_to_string(util::root().join(doc)).expect("read doc");
    let commands = documented_commands(&text, section);
    assert!(
        commands.iter().any(|(w, _)| *w == Some(Major::Three))
            && commands.iter().any(|(w, _)| *w == Some(Major::Four)),
        "{doc}: no Helm 3 and Helm 4 commands found in {commands:?}"
    );
    let mut helms = BTreeMap::new();
    for major in [Major::Three, Major::Four] {
        let Some(h) = Helm::new(major) else { return 0 };
        helms.insert(major.key(), h);
    }
    let mut runs = 0;
    for (who, line) in &commands {
        for major in [Major::Three, Major::Four] {
            if who.is_some_and(|w| w != major) {
                continue;
            }
            let helm = &helms[major.key()];
            let out = helm.sh(dir, line);
            let what = format!("{doc}, {} ({}): `{line}`", major.name(), helm.version);
            assert_eq!(
                out.code, 0,
                "{what} failed\n--- stdout\n{}\n--- stderr\n{}",
                out.stdout, out.stderr
            );
            runs += 1;
            if line.starts_with("helm template") && line.contains("apply-defaults") {
                if out.stdout.trim().is_empty() {
                    // `... | apply-defaults stream --check ...`: a gate, nothing on stdout.
                    assert!(line.contains("--check"), "{what}: no output");
                } else {
                    check_post_rendered(helm, &out.stdout, &what);
                }
            }
        }
    }
    runs
}

#[test]
fn readme_helm_commands_run_as_written() {
    let n = run_documented("README.md", Some("### Helm and pipes"), &util::root());
    if n > 0 {
        record(&format!(
            "README \"Helm and pipes\" block as written, Helm 3 and Helm 4: {n} command runs"
        ));
    }
}

#[test]
fn examples_helm_readme_commands_run_as_written() {
    let n = run_documented(
        "examples/helm/README.md",
        None,
        &util::root().join("examples/helm"),
    );
    if n > 0 {
        record(&format!(
            "examples/helm/README.md as written, Helm 3 and Helm 4: {n} command runs"
        ));
    }
}

#[test]
fn documented_commands_are_split_by_helm_version() {
    let text =
        "## Helm 3\n```sh\nhelm a \\\n  b\n# Helm 4: x\nhelm c\n# any pipe\nhelm d | e\n```\n";
    let got = documented_commands(
        &format!("# x\n{text}## next\n```sh\nnot this\n```\n"),
        Some("## Helm 3"),
    );
    assert_eq!(
        got,
        vec![
            (Some(Major::Three), "helm a b".to_string()),
            (Some(Major::Four), "helm c".to_string()),
            (None, "helm d | e".to_string()),
        ]
    );
}
