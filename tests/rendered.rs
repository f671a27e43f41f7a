//! The stacks' rendered prod overlays, made through the binary's `stream` mode (no container
//! image, so these renders never race the image other worktrees share), for the checkers and
//! the NetworkPolicy oracle: `kubectl kustomize` of the overlay without its function, piped
//! through `apply-defaults stream --config` with the overlay's own settings, and checked equal
//! to the reviewed golden so what the checkers see is what users render.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util;

/// A stack's overlay, rendered.
pub(crate) struct RenderedOverlay {
    /// `ai-interviewer/prod`, `interview-prep/prod`.
    pub name: String,
    /// The overlay without the function: what the function gets.
    pub input: String,
    /// The overlay's function settings (an `ApplyDefaults` file), in `_tmp`.
    pub config: PathBuf,
    /// What `stream` made of `input`, equal to the golden.
    pub output: Vec<Value>,
    _tmp: tempfile::TempDir,
}

fn run_ok(cmd: &mut Command, what: &str) -> String {
    let shown = format!("{cmd:?}");
    let run = util::run_cmd(cmd, "");
    assert_eq!(
        run.code, 0,
        "{what} failed: {shown}\n--- stdout\n{}\n--- stderr\n{}",
        run.stdout, run.stderr
    );
    run.stdout
}

/// `stack`: `ai-interviewer` (the repository root) or `interview-prep`
/// (`examples/interview-prep`); `env`: `dev` or `prod`.
pub(crate) fn overlay(stack: &str, env: &str) -> Option<RenderedOverlay> {
    let kubectl = util::require_tool("kubectl", "renders the kustomize overlays")?;
    let tmp = util::tempdir();
    let root = util::root();
    for dir in ["base", "overlays", "functions", "examples/interview-prep"] {
        util::copy_dir(&root.join(dir), &tmp.path().join(dir));
    }
    let stack_dir: &Path = &match stack {
        "ai-interviewer" => tmp.path().to_path_buf(),
        "interview-prep" => tmp.path().join("examples/interview-prep"),
        other => panic!("no stack {other}"),
    };
    let overlay = stack_dir.join("overlays").join(env);
    let kustomization = overlay.join("kustomization.yaml");
    let mut k = util::yaml(&std::fs::read_to_string(&kustomization).expect("read overlay"));
    let transformers = k
        .as_object_mut()
        .and_then(|m| m.remove("transformers"))
        .expect("the overlay runs the function as a transformer");
    assert_eq!(
        transformers,
        serde_json::json!([format!("../../functions/{env}")]),
        "{stack}/{env} runs exactly its environment's function directory"
    );
    std::fs::write(
        &kustomization,
        apply_defaults::krm::yaml::to_string(&k).expect("writes"),
    )
    .expect("write overlay");
    let input = run_ok(
        Command::new(&kubectl).arg("kustomize").arg(&overlay),
        "kubectl kustomize (no function)",
    );
    let config = tmp.path().join("config.yaml");
    let settings = run_ok(
        Command::new(&kubectl)
            .arg("kustomize")
            .arg(stack_dir.join("functions/settings").join(env)),
        "kubectl kustomize (settings)",
    );
    std::fs::write(&config, settings).expect("write config");
    let out = util::run(
        &["stream", &format!("--config={}", config.display())],
        &input,
    )
    .expect_code(0);
    let output: Vec<Value> = util::yaml_docs(&out.stdout)
        .into_iter()
        .filter(|d| !d.is_null())
        .collect();
    let golden = format!("stacks/{stack}/{env}.yaml");
    assert_eq!(
        util::rendered_text(output.clone()),
        util::rendered_text(util::yaml_docs(&util::read_golden(&golden))),
        "{stack}/{env} through `stream` differs from the golden {golden}"
    );
    Some(RenderedOverlay {
        name: format!("{stack}/{env}"),
        input,
        config,
        output,
        _tmp: tmp,
    })
}
