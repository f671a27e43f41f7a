//! Command-line interface: KRM function mode by default, plus `stream`, `check`, `schema`,
//! `graph` and `profile`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  # As a KRM function (kustomize, kpt): a ResourceList on stdin, a ResourceList on stdout
  kpt fn eval --exec apply-defaults my-package -- environment=prod

  # Helm 3 post-renderer, or any pipe of plain manifests: first write a config file, the
  # shipped profile in prod (or, in a kustomize repo, the settings kustomize assembles:
  # `kubectl kustomize functions/settings/prod > prod.yaml`)
  apply-defaults profile --environment prod > prod.yaml
  helm install app ./chart --post-renderer apply-defaults \\
       --post-renderer-args stream --post-renderer-args --config=prod.yaml
  kubectl kustomize base | apply-defaults stream --config prod.yaml

  # Check only: report missing defaults as errors, change nothing (exit 1 if any)
  kubectl kustomize base | apply-defaults stream --check --config prod.yaml

  # The service graph as a Mermaid diagram, the config's JSON Schema
  kubectl kustomize base | apply-defaults graph --format mermaid
  apply-defaults schema > apply-defaults.schema.json

Docs: README.md and docs/config-reference.md in the apply-defaults repository.";

/// Fills in production defaults for Kubernetes workloads: resources, probes, a hardened
/// securityContext, replicas, HPA and PDB per environment, and least-privilege NetworkPolicies.
#[derive(Debug, Parser)]
#[command(
    name = "apply-defaults",
    version,
    about,
    long_about = "Fills in production defaults for Kubernetes workloads: resource requests and \
limits sized by workload class and environment, probes derived from ports and images, a \
Pod Security \"restricted\" securityContext, dev/prod replica counts with HPA, PDB and spreading \
in prod, and least-privilege NetworkPolicies inferred from the manifests.\n\n\
With no subcommand it is a KRM function: it reads one ResourceList (YAML or JSON) on stdin and \
writes one ResourceList on stdout, with results. Values the manifests set always win unless the \
config enforces a default.",
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Flags that shape what is reported on stderr.
#[derive(Debug, Clone, Default, Args)]
pub struct OutputArgs {
    /// Print to stderr a table of what each workload gained: fields set per default, its
    /// class, and the resources (HPA, PDB, NetworkPolicy) generated for it.
    #[arg(long, global = true)]
    pub report: bool,
    /// Print to stderr a unified diff of every changed or generated resource against the
    /// input. Secret `data` and `stringData` values are redacted.
    #[arg(long, global = true)]
    pub diff: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Transform a plain multi-document manifest stream (Helm post-renderer, pipes).
    ///
    /// Reads manifests on stdin, applies exactly the defaults the KRM function applies, and
    /// writes the manifests to stdout. Results go to stderr; exit 1 on any error.
    Stream {
        /// Function config: an ApplyDefaults document or a ConfigMap with `data` knobs (see
        /// docs/config-reference.md). Without it, the shipped profile's `dev` environment
        /// applies; `apply-defaults profile --environment prod > prod.yaml` writes one for prod.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Change nothing; report every missing default as an error (exit 1 when any).
        #[arg(long)]
        check: bool,
    },
    /// Run as a KRM function that only checks: missing defaults are error results, nothing is
    /// changed (for kpt validators and CI gates).
    Check,
    /// Print the JSON Schema of the ApplyDefaults config (for editors and CI validation).
    ///
    /// Save it beside your config; editors that use the YAML language server then complete and
    /// validate the config when its first line is this modeline:
    ///
    /// # yaml-language-server: $schema=apply-defaults.schema.json
    Schema,
    /// Print the service graph the NetworkPolicies are built from.
    ///
    /// Reads a ResourceList or a plain manifest stream on stdin. Workloads are grouped in a box
    /// per namespace; those without a generated policy are dashed, and those whose policy
    /// admits no caller are marked "(nothing may reach it)". Takes neither --report nor --diff.
    Graph {
        /// Output format.
        #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
        format: GraphFormat,
        /// Function config (for declared edges and classes); a ResourceList on stdin brings its
        /// own functionConfig.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Print the shipped default profile (an ApplyDefaults document to copy and adapt).
    ///
    /// Your config is merged over this profile, so a config only needs the values it changes;
    /// `useShippedProfile: false` starts from nothing instead.
    Profile {
        /// Print the profile with `spec.environment` set to this environment: a ready config
        /// for `stream --config FILE` (the Helm post-renderer and pipes, which have no
        /// kustomize to assemble one).
        #[arg(long, value_name = "ENV")]
        environment: Option<String>,
    },
    /// Copy this binary into DIR (as DIR/apply-defaults, executable) and exit.
    ///
    /// For init containers: the image has no shell and no `cp`, so an Argo CD repo-server
    /// init container runs `apply-defaults install /custom-tools` to hand the binary over.
    Install {
        /// Target directory (must exist, usually an emptyDir volume).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

/// Formats of `graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Mermaid flowchart (renders on GitHub).
    Mermaid,
    /// Graphviz DOT.
    Dot,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_subcommand_is_function_mode() {
        let cli = Cli::try_parse_from(["apply-defaults"]).unwrap();
        assert!(cli.command.is_none());
    }

    #[test]
    fn stream_takes_config_as_equals_form() {
        let cli = Cli::try_parse_from(["apply-defaults", "stream", "--config=x.yaml"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Stream {
                config: Some(_),
                check: false
            })
        ));
    }

    #[test]
    fn profile_takes_an_environment() {
        let cli =
            Cli::try_parse_from(["apply-defaults", "profile", "--environment", "prod"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Profile { environment: Some(e) }) if e == "prod"
        ));
        let bare = Cli::try_parse_from(["apply-defaults", "profile"]).unwrap();
        assert!(matches!(
            bare.command,
            Some(Command::Profile { environment: None })
        ));
    }

    #[test]
    fn report_is_global() {
        let cli = Cli::try_parse_from(["apply-defaults", "stream", "--report"]).unwrap();
        assert!(cli.output.report);
    }
}
