//! `gen-docs`: writes the config reference and the JSON Schema (`docs/`) from the code, for
//! `scripts/gen-docs.sh`. Built only with the `docs-tools` feature, like `bench-tools`, so the
//! generator stays out of the function's build, tests and installs.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    match apply_defaults::docs::write_all(&root) {
        Ok(files) => {
            for f in files {
                println!("wrote {}", root.join(f).display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen-docs: cannot write under {}: {e}", root.display());
            ExitCode::FAILURE
        }
    }
}
