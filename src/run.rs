//! The modes of the binary as functions from input bytes to output text: main does the I/O.

use serde_json::Value;

use crate::cli::{GraphFormat, OutputArgs};
use crate::config::{Config, ConfigProblem, Mode};
use crate::emit::{ItemTexts, ItemWriter};
use crate::krm::{FnResult, ResourceList, Severity, yaml};
use crate::pipeline;
use crate::results::Summary;
use crate::{graph, report};

/// What a run writes and how it exits.
#[derive(Debug, Default)]
pub struct Output {
    /// What goes to stdout (None: nothing at all).
    pub stdout: Option<Text>,
    /// Human text for stderr.
    pub stderr: String,
    /// Process exit code: 0, or 1 on any error.
    pub code: u8,
}

/// Stdout text in pieces, written one after the other: a 60 MB ResourceList is never joined
/// into one buffer on its way out.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Text(Vec<String>);

impl Text {
    pub fn write_to(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        self.0
            .iter()
            .try_for_each(|piece| out.write_all(piece.as_bytes()))
    }

    pub fn into_string(self) -> String {
        self.0.concat()
    }
}

impl From<String> for Text {
    fn from(text: String) -> Self {
        Text(vec![text])
    }
}

impl Output {
    fn failure(message: impl std::fmt::Display) -> Self {
        Output {
            stdout: None,
            stderr: format!("apply-defaults: error: {message}\n"),
            code: 1,
        }
    }
}

/// KRM function mode: a ResourceList in, a ResourceList out. The input buffer is taken by
/// value so it is freed as soon as it is parsed.
pub fn function(input: Vec<u8>, force_check: bool, args: &OutputArgs) -> Output {
    // Number spellings are remembered per run (a caller may run several on one thread).
    yaml::spelling::clear();
    let parsed = ResourceList::from_bytes(&input);
    drop(input);
    let mut rl = match parsed {
        Ok(rl) => rl,
        Err(e) => return Output::failure(e.message(force_check)),
    };
    let config = match Config::load(rl.function_config.as_ref()) {
        Ok(mut config) => {
            if force_check {
                config.mode = Mode::Check;
            }
            config
        }
        Err(problems) => {
            let summary = Summary {
                results: config_errors(problems, rl.function_config.as_ref()),
                ..Default::default()
            };
            // No config applied, so there is nothing to report but the errors.
            let stderr = String::new();
            return finish_list(rl, summary, stderr, None);
        }
    };
    let origin = Origin::of(rl.function_config.as_ref(), None);
    // Check mode writes the input back and --diff compares whole lists: both keep the trees.
    // So does a kustomize directory: its Kustomization is written after the generated files
    // are known, to list them.
    let kustomized = config.mode != Mode::Check && crate::kustomization::present(&rl.items);
    if config.mode == Mode::Check || args.diff || kustomized {
        let before = args.diff.then(|| rl.items.clone());
        let mut summary = pipeline::process_items(&mut rl.items, &config);
        if kustomized {
            let listed = crate::kustomization::list_generated(&mut rl.items);
            summary.results.extend(listed);
        }
        let stderr = human(
            &summary,
            args,
            (&config, &origin),
            before.as_deref(),
            &rl.items,
        );
        return finish_list(rl, summary, stderr, None);
    }
    let mut writer = ItemWriter::spawn();
    let items = std::mem::take(&mut rl.items);
    let summary = pipeline::process(items, &config, &mut |place, item| writer.put(place, item));
    let stderr = human(&summary, args, (&config, &origin), None, &[]);
    match writer.finish() {
        Ok(texts) => finish_list(rl, summary, stderr, Some(texts)),
        Err(e) => Output::failure(e),
    }
}

/// The output ResourceList: the items (as texts when the writer made them, else the list's
/// own), the results, and the problems repeated on stderr.
fn finish_list(
    mut rl: ResourceList,
    summary: Summary,
    mut stderr: String,
    texts: Option<ItemTexts>,
) -> Output {
    rl.results.extend(summary.results);
    stderr.push_str(&problems_for_stderr(&rl.results));
    let code = u8::from(rl.has_errors());
    let written = match texts {
        Some(texts) => rl.to_yaml_pieces(texts.into_ordered()).map(Text),
        None => rl.to_yaml().map(Text::from),
    };
    let count = rl.items.len();
    drop_beside_output(rl.items, count);
    match written {
        Ok(text) => Output {
            stdout: Some(text),
            stderr,
            code,
        },
        Err(e) => Output::failure(e),
    }
}

/// Freeing the trees of 10,000 workloads (and every change recorded on them) takes about a
/// seventh of a run; the caller only writes stdout and exits after this, so free them on
/// another thread while it writes.
fn drop_beside_output<T: Send + 'static>(big: T, items: usize) {
    const WORTH_A_THREAD: usize = 1000;
    if items >= WORTH_A_THREAD {
        std::thread::spawn(move || drop(big));
    }
}

/// Stream mode: plain manifests in, plain manifests out; config from a file's text.
/// `config_path` is the `--config` file as given, for the report.
pub fn stream(
    input: &[u8],
    config_text: Option<&str>,
    config_path: Option<&str>,
    check: bool,
    args: &OutputArgs,
) -> Output {
    yaml::spelling::clear();
    let (mut items, _) = match read_manifests(input) {
        Ok(read) => read,
        Err(o) => return o,
    };
    let mut config = match load_config_text(config_text) {
        Ok(c) => c,
        Err(problems) => return config_failure(&problems),
    };
    if check {
        config.mode = Mode::Check;
    }
    let before = if args.diff { Some(items.clone()) } else { None };
    let carried = StreamAnnotations::of(&items);
    let mut summary = pipeline::process_items(&mut items, &config);
    carried.restore(&mut items, &mut summary);
    let doc: Option<Value> = config_text.and_then(|t| yaml::from_str(t).ok());
    let flag = format!("--config {}", config_path.unwrap_or("FILE"));
    let origin = Origin::of(doc.as_ref(), Some(&flag));
    let mut stderr = human(
        &summary,
        args,
        (&config, &origin),
        before.as_deref(),
        &items,
    );
    stderr.push_str(&problems_for_stderr(&summary.results));
    let failed = summary.results.iter().any(FnResult::is_error);
    match yaml::documents_to_string(&items) {
        Ok(out) => Output {
            stdout: Some(out.into()),
            stderr,
            code: u8::from(failed),
        },
        Err(e) => Output::failure(e),
    }
}

/// What a stream's input said about files: the orchestrator annotations each object carried,
/// and the files they name. A stream has no orchestrator to read path or index annotations
/// (Helm's post-renderer and `kubectl apply` pass them on to the cluster), so the output gains
/// none the input did not carry, and results name no file that is not the input's.
struct StreamAnnotations {
    keys: std::collections::HashMap<crate::object::Key, Vec<String>>,
    files: std::collections::HashSet<String>,
}

impl StreamAnnotations {
    fn of(items: &[Value]) -> Self {
        use crate::krm::annotations;
        StreamAnnotations {
            keys: items
                .iter()
                .map(|i| (crate::object::key_of(i), annotations::orchestrator_keys(i)))
                .collect(),
            files: items
                .iter()
                .filter_map(annotations::source_file)
                .map(|f| f.path)
                .collect(),
        }
    }

    fn restore(&self, items: &mut [Value], summary: &mut Summary) {
        for item in items {
            let keep = self
                .keys
                .get(&crate::object::key_of(item))
                .map_or(&[][..], Vec::as_slice);
            crate::krm::annotations::retain_orchestrator_keys(item, keep);
        }
        let known = |file: &Option<crate::krm::result::File>| {
            file.as_ref().is_none_or(|f| self.files.contains(&f.path))
        };
        for r in &mut summary.results {
            if !known(&r.file) {
                r.file = None;
            }
        }
        for c in &mut summary.changed {
            if !known(&c.file) {
                c.file = None;
            }
        }
    }
}

/// `graph`: the service graph of a ResourceList or a manifest stream.
pub fn graph(input: &[u8], config_text: Option<&str>, format: GraphFormat) -> Output {
    let (items, fc) = match read_manifests(input) {
        Ok(read) => read,
        Err(o) => return o,
    };
    let config = match config_text {
        Some(_) => load_config_text(config_text),
        None => Config::load(fc.as_ref()),
    };
    let config = match config {
        Ok(c) => c,
        Err(problems) => return config_failure(&problems),
    };
    Output {
        stdout: Some(graph::render(&items, &config, graph_format(format)).into()),
        stderr: String::new(),
        code: 0,
    }
}

/// The CLI's format choice, as the graph names it.
fn graph_format(format: GraphFormat) -> graph::Format {
    match format {
        GraphFormat::Mermaid => graph::Format::Mermaid,
        GraphFormat::Dot => graph::Format::Dot,
    }
}

/// Reads a plain manifest stream, or a ResourceList some pipes carry instead (unwrapped, with its
/// functionConfig).
fn read_manifests(input: &[u8]) -> Result<(Vec<Value>, Option<Value>), Output> {
    let text = stdin_text(input)?;
    let mut items = yaml::documents_from_str(text).map_err(Output::failure)?;
    yaml::check_items(items.len()).map_err(Output::failure)?;
    if items.len() == 1 && items[0]["kind"] == "ResourceList" {
        let rl = ResourceList::from_value(items.remove(0)).map_err(Output::failure)?;
        return Ok((rl.items, rl.function_config));
    }
    Ok((items, None))
}

/// Stdin as text, refused when over the size bound (before any other work) or not UTF-8.
fn stdin_text(input: &[u8]) -> Result<&str, Output> {
    yaml::check_size(input).map_err(Output::failure)?;
    std::str::from_utf8(input).map_err(|e| {
        Output::failure(format!(
            "stdin is not valid UTF-8 at byte {}",
            e.valid_up_to()
        ))
    })
}

/// A config that cannot be used, for modes without a ResourceList to carry results.
fn config_failure(problems: &[ConfigProblem]) -> Output {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| format!("invalid config: {p}"))
        .collect();
    Output::failure(lines.join("\n  "))
}

/// `profile`: the shipped profile as written (comments included), or with `spec.environment`
/// set to `environment`: a complete `ApplyDefaults` for `stream --config FILE`, where no
/// kustomize patch assembles one. Merging the profile over itself changes nothing, so the file
/// gives exactly the shipped profile in that environment.
pub fn profile(environment: Option<&str>) -> Output {
    use crate::config::profile::SHIPPED_PROFILE_YAML;
    let Some(environment) = environment else {
        return Output {
            stdout: Some(SHIPPED_PROFILE_YAML.to_string().into()),
            ..Default::default()
        };
    };
    // Edit the one line rather than re-serialize, so the profile's comments stay for the user
    // to read; the test below pins that the line is there exactly once.
    const LINE: &str = "\nspec:\n  environment: dev\n";
    let value = serde_json::to_string(environment).expect("strings serialize");
    let text =
        SHIPPED_PROFILE_YAML.replacen(LINE, &format!("\nspec:\n  environment: {value}\n"), 1);
    let doc: Value = match yaml::from_str(&text) {
        Ok(doc) => doc,
        Err(e) => return Output::failure(e),
    };
    // An unknown environment is refused here with the config's own message (which lists the
    // defined ones), not later by `stream`.
    if let Err(problems) = Config::load(Some(&doc)) {
        return config_failure(&problems);
    }
    Output {
        stdout: Some(text.into()),
        ..Default::default()
    }
}

/// What a bare run on a terminal prints instead of waiting for a ResourceList nobody will type.
pub const TERMINAL_HINT: &str = "\
apply-defaults: stdin is a terminal, but this mode reads a ResourceList on stdin. Pipe one in:
  kpt fn source my-package | apply-defaults
or plain manifests to `stream`:
  kubectl kustomize base | apply-defaults stream --config prod.yaml
See `apply-defaults --help`.
";

/// The function modes read all of stdin; on a terminal that is a hang with no prompt, so
/// they refuse it as a usage error (exit 2) with [`TERMINAL_HINT`].
pub fn refuse_terminal_stdin(stdin_is_terminal: bool) -> Option<Output> {
    stdin_is_terminal.then(|| Output {
        stdout: None,
        stderr: TERMINAL_HINT.to_string(),
        code: 2,
    })
}

/// `--report` and `--diff` are global flags (so they may follow any subcommand), but only the
/// modes that change resources act on them: elsewhere they would be ignored silently, so they
/// are a usage error (exit 2) naming the modes that take them.
pub fn refuse_output_flags(command: &str, args: &OutputArgs) -> Option<Output> {
    let given: Vec<&str> = [("--report", args.report), ("--diff", args.diff)]
        .into_iter()
        .filter_map(|(flag, on)| on.then_some(flag))
        .collect();
    (!given.is_empty()).then(|| Output {
        stdout: None,
        stderr: format!(
            "apply-defaults: error: `{command}` does not take {}: it changes no resources, so \
             there is nothing to report or diff. They go with the function mode \
             (`apply-defaults`, `apply-defaults check`) and `apply-defaults stream`.\n",
            given.join(" or ")
        ),
        code: 2,
    })
}

/// `schema`: the JSON Schema of the typed config.
pub fn schema() -> String {
    let schema = schemars::schema_for!(crate::config::ApplyDefaults);
    let mut text = serde_json::to_string_pretty(&schema).expect("schemas serialize");
    text.push('\n');
    text
}

fn load_config_text(text: Option<&str>) -> Result<Config, Vec<ConfigProblem>> {
    match text {
        None => Config::load(None),
        Some(t) => {
            let v: Value =
                yaml::from_str(t).map_err(|e| vec![ConfigProblem::new("", e.to_string())])?;
            Config::load(Some(&v))
        }
    }
}

fn config_errors(problems: Vec<ConfigProblem>, fc: Option<&Value>) -> Vec<FnResult> {
    problems
        .into_iter()
        .map(|p| {
            let mut r = FnResult::error(format!("invalid function config: {}", p.message));
            if let Some(fc) = fc.filter(|f| f.is_object()) {
                r = r.about(fc);
            }
            if !p.field.is_empty() {
                r = r.at(p.field);
            }
            r
        })
        .collect()
}

/// Where a run's config came from, for the report's first line.
struct Origin {
    /// `functionConfig ConfigMap/function-input`, `--config (ApplyDefaults/prod)`, or none.
    text: String,
    /// The config names the environment itself (else the default applied).
    environment_set: bool,
}

impl Origin {
    /// The functionConfig of a ResourceList (`flag` None) or the file given with `--config`.
    fn of(doc: Option<&Value>, flag: Option<&str>) -> Origin {
        match doc {
            None => Origin {
                text: format!(
                    "none given ({}): the shipped profile",
                    if flag.is_some() {
                        "no --config"
                    } else {
                        "no functionConfig"
                    }
                ),
                environment_set: false,
            },
            Some(doc) => {
                let name = crate::krm::ResourceRef::of(doc).display();
                Origin {
                    text: match flag {
                        Some(f) => format!("{f} ({name})"),
                        None => format!("functionConfig {name}"),
                    },
                    environment_set: doc["spec"]["environment"].is_string()
                        || doc["data"]["environment"].is_string(),
                }
            }
        }
    }
}

fn human(
    summary: &Summary,
    args: &OutputArgs,
    (config, origin): (&Config, &Origin),
    before: Option<&[Value]>,
    after: &[Value],
) -> String {
    let mut out = String::new();
    if args.report {
        let ctx = report::Context {
            config,
            origin: origin.text.clone(),
            environment_set: origin.environment_set,
        };
        out.push_str(&report::table(summary, &ctx));
    }
    if let Some(before) = before {
        out.push_str(&report::diff(before, after));
    }
    out
}

/// Human lines for the errors and warnings of a ResourceList run (stderr).
pub fn problems_for_stderr(stdout_yaml_results: &[FnResult]) -> String {
    let mut s = String::new();
    for r in stdout_yaml_results
        .iter()
        .filter(|r| r.severity != Severity::Info)
    {
        s.push_str(&r.to_human());
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_without_environment_is_the_shipped_file() {
        let out = profile(None);
        assert_eq!(out.code, 0);
        assert_eq!(
            out.stdout.unwrap().into_string(),
            crate::config::profile::SHIPPED_PROFILE_YAML
        );
    }

    #[test]
    fn profile_for_an_environment_sets_it_and_keeps_the_rest() {
        let shipped: Value = yaml::from_str(crate::config::profile::SHIPPED_PROFILE_YAML).unwrap();
        let out = profile(Some("prod"));
        assert_eq!(out.code, 0, "{}", out.stderr);
        let text = out.stdout.unwrap().into_string();
        let mut doc: Value = yaml::from_str(&text).unwrap();
        assert_eq!(doc["kind"], "ApplyDefaults");
        assert_eq!(doc["apiVersion"], "apply-defaults.dev/v1alpha1");
        assert_eq!(doc["spec"]["environment"], "prod");
        assert_eq!(Config::load(Some(&doc)).unwrap().environment, "prod");
        doc["spec"]["environment"] = "dev".into();
        assert_eq!(doc, shipped, "only spec.environment differs");
    }

    #[test]
    fn profile_refuses_an_unknown_environment() {
        let out = profile(Some("staging"));
        assert_eq!(out.code, 1);
        assert!(out.stdout.is_none());
        assert!(out.stderr.contains("staging"), "{}", out.stderr);
        assert!(
            out.stderr.contains("prod"),
            "names the defined ones: {}",
            out.stderr
        );
    }

    #[test]
    fn output_flags_are_refused_where_nothing_changes() {
        let none = OutputArgs::default();
        assert!(refuse_output_flags("graph", &none).is_none());
        let both = OutputArgs {
            report: true,
            diff: true,
        };
        let out = refuse_output_flags("graph", &both).unwrap();
        assert_eq!(out.code, 2);
        assert!(
            out.stderr
                .contains("`graph` does not take --report or --diff"),
            "{}",
            out.stderr
        );
    }

    #[test]
    fn terminal_stdin_is_a_usage_error_with_a_hint() {
        assert!(refuse_terminal_stdin(false).is_none());
        let out = refuse_terminal_stdin(true).unwrap();
        assert_eq!(out.code, 2);
        assert!(out.stdout.is_none());
        assert!(out.stderr.contains("--help") && out.stderr.contains("| apply-defaults"));
    }
}
