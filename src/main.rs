//! Thin binary: parse the command line, do the I/O, map the outcome to an exit code.

use std::io::{Read, Write};
use std::process::ExitCode;

use apply_defaults::cli::{Cli, Command};
use apply_defaults::run::{self, Output};
use clap::Parser;

/// mimalloc instead of glibc's malloc: the run builds and frees millions of small tree nodes, on
/// several threads (the parallel parse, the item writer that frees trees the pipeline built).
/// glibc serializes those cross-thread frees on its arena locks; at 10,000 workloads that
/// doubled the CPU time of a run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let changes_nothing = match &cli.command {
        Some(Command::Graph { .. }) => Some("graph"),
        Some(Command::Schema) => Some("schema"),
        Some(Command::Profile { .. }) => Some("profile"),
        Some(Command::Install { .. }) => Some("install"),
        None | Some(Command::Check | Command::Stream { .. }) => None,
    };
    if let Some(refused) = changes_nothing.and_then(|c| run::refuse_output_flags(c, &cli.output)) {
        return emit(refused);
    }
    let output = match &cli.command {
        None => function_stdin(|input| run::function(input, false, &cli.output)),
        Some(Command::Check) => function_stdin(|input| run::function(input, true, &cli.output)),
        Some(Command::Stream { config, check }) => match read_config(config.as_deref()) {
            Ok(text) => {
                let path = config.as_deref().map(|p| p.to_string_lossy().into_owned());
                with_stdin(|input| {
                    run::stream(
                        &input,
                        text.as_deref(),
                        path.as_deref(),
                        *check,
                        &cli.output,
                    )
                })
            }
            Err(o) => o,
        },
        Some(Command::Graph { format, config }) => match read_config(config.as_deref()) {
            Ok(text) => with_stdin(|input| run::graph(&input, text.as_deref(), *format)),
            Err(o) => o,
        },
        Some(Command::Schema) => Output {
            stdout: Some(run::schema().into()),
            ..Default::default()
        },
        Some(Command::Profile { environment }) => run::profile(environment.as_deref()),
        Some(Command::Install { dir }) => install(dir),
    };
    emit(output)
}

/// Function mode on a terminal gets a hint instead of a silent wait for stdin.
fn function_stdin(f: impl FnOnce(Vec<u8>) -> Output) -> Output {
    use std::io::IsTerminal;
    run::refuse_terminal_stdin(std::io::stdin().is_terminal()).unwrap_or_else(|| with_stdin(f))
}

fn with_stdin(f: impl FnOnce(Vec<u8>) -> Output) -> Output {
    let mut input = Vec::new();
    // Read one byte past the bound, so an endless or huge stdin is refused by size instead of
    // exhausting memory first.
    let bound = apply_defaults::krm::yaml::limits::MAX_INPUT_BYTES as u64 + 1;
    match std::io::stdin().lock().take(bound).read_to_end(&mut input) {
        Ok(_) => f(input),
        Err(e) => Output {
            stderr: format!("apply-defaults: error: failed to read stdin: {e}\n"),
            code: 1,
            ..Default::default()
        },
    }
}

fn read_config(path: Option<&std::path::Path>) -> Result<Option<String>, Output> {
    let Some(path) = path else { return Ok(None) };
    std::fs::read_to_string(path).map(Some).map_err(|e| Output {
        stderr: format!(
            "apply-defaults: error: failed to read config {}: {e}\n",
            path.display()
        ),
        code: 1,
        ..Default::default()
    })
}

/// Copies the running executable to `dir/apply-defaults`: an init container's only way to hand
/// the binary over, since the image holds nothing else.
fn install(dir: &std::path::Path) -> Output {
    use std::os::unix::fs::PermissionsExt;
    let target = dir.join("apply-defaults");
    // Copy then rename, so a binary already there (and maybe running) is replaced whole.
    let partial = dir.join(".apply-defaults.partial");
    let copied = std::env::current_exe()
        .and_then(|exe| std::fs::copy(exe, &partial))
        .and_then(|_| std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755)))
        .and_then(|()| std::fs::rename(&partial, &target));
    match copied {
        Ok(()) => Output {
            stderr: format!("apply-defaults: installed {}\n", target.display()),
            ..Default::default()
        },
        Err(e) => Output {
            stderr: format!(
                "apply-defaults: error: failed to install into {}: {e}\n",
                dir.display()
            ),
            code: 1,
            ..Default::default()
        },
    }
}

fn emit(output: Output) -> ExitCode {
    if !output.stderr.is_empty() {
        let _ = std::io::stderr().lock().write_all(output.stderr.as_bytes());
    }
    if let Some(text) = output.stdout {
        let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        if let Err(e) = text.write_to(&mut stdout).and_then(|()| stdout.flush()) {
            // A reader that went away (`| head`) is not our failure.
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                let _ = writeln!(
                    std::io::stderr(),
                    "apply-defaults: error: failed to write stdout: {e}"
                );
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::from(output.code)
}
