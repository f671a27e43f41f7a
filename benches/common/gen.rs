//! Synthetic input for the benchmarks: N backend workloads, each a Deployment with a Service,
//! written as a ResourceList (what kpt and kustomize send the function) and as a package of
//! files (what `kpt fn source` and `kubectl kustomize` read).
//!
//! Every workload carries `app.kubernetes.io/component: backend`, so in `prod` each one gains
//! resources, probes, a hardened securityContext, spreading, an HPA, a PDB and a NetworkPolicy:
//! the output is several times the input, as in real use.
//!
//! Shared by `benches/stages.rs` (criterion) and `benches/tools.rs` (the `bench-tools` binary),
//! which is why it is plain text building and not tied to either.

use std::fmt::Write as _;

/// Workloads per file in the package: realistic repos split by app, and kustomize lists every
/// file, so a few hundred files at 10,000 workloads keeps the kustomization readable.
pub const APPS_PER_FILE: usize = 50;

/// The file (relative to the package root) that holds workload `i`.
pub fn file_of(i: usize) -> String {
    format!("apps-{:04}.yaml", i / APPS_PER_FILE)
}

/// Number of files for `n` workloads.
pub fn file_count(n: usize) -> usize {
    n.div_ceil(APPS_PER_FILE)
}

/// One workload (Deployment + Service) as YAML documents, with the orchestrator annotations
/// when `path_index` is given (as kpt stamps them on ResourceList items).
pub fn workload_docs(i: usize, path_index: Option<(&str, usize)>, indent: &str) -> String {
    let name = format!("svc-{i:05}");
    let team = ["payments", "search", "identity", "catalog", "billing"][i % 5];
    let mut out = String::new();
    let ann = |idx: usize| match path_index {
        None => String::new(),
        Some((path, base)) => format!(
            "\n    config.kubernetes.io/index: '{x}'\
             \n    config.kubernetes.io/path: '{path}'\
             \n    internal.config.kubernetes.io/index: '{x}'\
             \n    internal.config.kubernetes.io/path: '{path}'",
            x = base + idx
        ),
    };
    let l = |s: &str| {
        // Re-indent a block written at column 0 for use as a list item.
        let mut t = String::new();
        for (k, line) in s.lines().enumerate() {
            if k == 0 {
                let _ = writeln!(t, "{indent}{line}");
            } else if line.is_empty() {
                t.push('\n');
            } else {
                let pad = if indent.is_empty() { "" } else { "  " };
                let _ = writeln!(t, "{pad}{line}");
            }
        }
        t
    };
    let deployment = format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {team}
  labels:
    app.kubernetes.io/name: {name}
    app.kubernetes.io/component: backend
    app.kubernetes.io/part-of: {team}
    team: {team}
  annotations:
    description: "HTTP API {i} of the {team} team"{a0}
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {name}
        app.kubernetes.io/component: backend
        team: {team}
    spec:
      serviceAccountName: {name}
      containers:
      - name: app
        image: registry.example.com/{team}/{name}:1.{minor}.0
        args: ["--port=8080", "--log-format=json"]
        ports:
        - name: http
          containerPort: 8080
        env:
        - name: LOG_LEVEL
          value: info
        - name: DATABASE_URL
          valueFrom:
            secretKeyRef:
              name: {name}-db
              key: url
        - name: FEATURE_FLAGS
          value: "on"
        volumeMounts:
        - name: tmp
          mountPath: /tmp
      volumes:
      - name: tmp
        emptyDir: {{}}
"#,
        minor = i % 17,
        a0 = ann(0),
    );
    let service = format!(
        r#"apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {team}
  labels:
    app.kubernetes.io/name: {name}
  annotations:
    description: "entry point of API {i}"{a1}
spec:
  selector:
    app.kubernetes.io/name: {name}
  ports:
  - name: http
    port: 80
    targetPort: http
"#,
        a1 = ann(1),
    );
    if indent.is_empty() {
        out.push_str(&deployment);
        out.push_str("---\n");
        out.push_str(&service);
    } else {
        out.push_str(&l(&deployment));
        out.push_str(&l(&service));
    }
    out
}

/// The function config the benchmarks run with: the shipped profile in `prod`.
pub const FUNCTION_CONFIG: &str = "functionConfig:
  apiVersion: apply-defaults.dev/v1alpha1
  kind: ApplyDefaults
  metadata:
    name: defaults
  spec:
    environment: prod
";

/// A ResourceList of `n` workloads and their Services, with the prod function config.
pub fn resource_list(n: usize) -> String {
    let mut out = String::with_capacity(n * 1600 + 256);
    out.push_str("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n");
    for i in 0..n {
        let path = file_of(i);
        let base = 2 * (i % APPS_PER_FILE);
        out.push_str(&workload_docs(i, Some((&path, base)), "- "));
    }
    out.push_str(FUNCTION_CONFIG);
    out
}

/// The package files: (relative path, content), one file per [`APPS_PER_FILE`] workloads.
pub fn package_files(n: usize) -> Vec<(String, String)> {
    let mut files = Vec::with_capacity(file_count(n));
    for f in 0..file_count(n) {
        let mut text = String::new();
        for i in f * APPS_PER_FILE..((f + 1) * APPS_PER_FILE).min(n) {
            if !text.is_empty() {
                text.push_str("---\n");
            }
            text.push_str(&workload_docs(i, None, ""));
        }
        files.push((file_of(f * APPS_PER_FILE), text));
    }
    files
}
