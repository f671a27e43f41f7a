//! A real API server: etcd and kube-apiserver (pinned builds, scripts/tool-versions.sh) started
//! on loopback with throw-away data, certificates and keys. Every rendered overlay of the AI
//! Interviewer (dev, prod and their exec twins), the Interview Prep Trainer stack and every
//! example's output is applied with
//! `kubectl apply --server-side --dry-run=server --validate=strict` into namespaces that enforce,
//! warn and audit the `restricted` Pod Security Standard: every object must be admitted and the
//! server must print no warning (in the examples, only on workloads the user kept from the
//! security default, see `excuse`). A negative test shows the same check refusing a root pod.
//!
//! One server is shared by the module's tests. It is stopped when the test process ends, also
//! when a test panics or the process is killed: a watchdog (`bash`), the servers' parent, holds
//! the read end of a pipe the test process never writes to, and kills and reaps both servers and
//! removes their files when it reads end-of-file, which the kernel delivers whenever the test
//! process exits, however it exits.
//! (A static's destructor never runs, so a `Drop` alone cannot do this for a shared server.)

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::examples;
use crate::runners::record;
use crate::util::{self, Run};

/// How long the servers may take to report ready (two contended cores).
const READY_TIMEOUT: Duration = Duration::from_secs(240);

/// The Pod Security Standard every namespace enforces, warns about and audits.
const LEVEL: &str = "restricted";

/// Objects without a namespace of their own go here (the kubeconfig context's namespace), so
/// nothing lands in an unlabelled `default`.
const FALLBACK_NAMESPACE: &str = "apply-defaults-restricted";

// ---------------------------------------------------------------------------------------------
// Tools

/// `major.minor` of a `vMAJOR.MINOR.PATCH[-...]` version.
fn minor_of(version: &str) -> Option<(u32, u32)> {
    let v = version.trim().trim_start_matches('v');
    let mut parts = v.split(['.', '-', '+']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts
        .next()?
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()?;
    Some((major, minor))
}

/// kubectl supports one minor version of skew against the server.
fn within_skew(client: (u32, u32), server: (u32, u32)) -> bool {
    client.0 == server.0 && client.1.abs_diff(server.1) <= 1
}

/// The version a kubectl binary reports for itself.
fn kubectl_client_version(kubectl: &Path) -> Option<String> {
    let run = util::run_cmd(
        Command::new(kubectl).args(["version", "--client", "-o", "json"]),
        "",
    );
    let v: Value = serde_json::from_str(&run.stdout).ok()?;
    v["clientVersion"]["gitVersion"]
        .as_str()
        .map(str::to_string)
}

/// Every kubectl on the machine: the pinned build of the server's release first, then the one on
/// PATH and the `kubectl.1.NN` binaries beside it (the gcloud SDK ships several).
fn kubectl_candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let env = util::tools_dir().join("tools.env");
    if let Ok(text) = std::fs::read_to_string(env) {
        if let Some(p) = text.lines().find_map(|l| l.strip_prefix("KUBECTL=")) {
            out.push(PathBuf::from(p.trim()));
        }
    }
    if let Some(k) = util::which("kubectl") {
        let real = std::fs::canonicalize(&k).unwrap_or_else(|_| k.clone());
        out.push(k);
        if let Some(dir) = real.parent() {
            let mut versioned: Vec<PathBuf> = std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("kubectl.1."))
                })
                .collect();
            versioned.sort();
            out.extend(versioned.into_iter().rev());
        }
    }
    out.retain(|p| p.is_file());
    out
}

/// The pinned servers and a kubectl within skew of them. Missing: a failure under CI=true, a
/// printed skip elsewhere.
struct Tools {
    bash: PathBuf,
    etcd: PathBuf,
    apiserver: PathBuf,
    openssl: PathBuf,
    kubectl: PathBuf,
    kubectl_version: String,
    server_version: String,
}

fn find_tools() -> Option<Tools> {
    let why = "the real API server the outputs are applied to";
    let etcd = util::pinned_tool("ETCD", why)?;
    let apiserver = util::pinned_tool("KUBE_APISERVER", why)?;
    let openssl = util::require_tool("openssl", "makes the server's service-account key")?;
    let bash = util::require_tool("bash", "runs the servers' watchdog")?;
    let run = util::run_cmd(Command::new(&apiserver).arg("--version"), "");
    let server_version = run
        .stdout
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .to_string();
    let server = minor_of(&server_version)
        .unwrap_or_else(|| panic!("kube-apiserver --version said {:?}", run.stdout));
    let mut seen = Vec::new();
    for kubectl in kubectl_candidates() {
        let Some(version) = kubectl_client_version(&kubectl) else {
            continue;
        };
        if minor_of(&version).is_some_and(|c| within_skew(c, server)) {
            return Some(Tools {
                bash,
                etcd,
                apiserver,
                openssl,
                kubectl,
                kubectl_version: version,
                server_version,
            });
        }
        seen.push(format!("{} ({version})", kubectl.display()));
    }
    let msg = format!(
        "no kubectl within one minor version of kube-apiserver {server_version} (found: {}; \
         scripts/install-tools.sh kubectl builds the server's release)",
        seen.join(", ")
    );
    if util::in_ci() {
        panic!("{msg}, and CI=true makes a missing tool a failure");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

// ---------------------------------------------------------------------------------------------
// The server

/// A port nobody listens on now (the servers bind it a moment later).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A running etcd + kube-apiserver, children of a watchdog (see WATCHDOG). Dropping it stops
/// both (and its files go with the TempDir); the watchdog alone covers the shared one, which
/// is never dropped.
pub struct ApiServer {
    watchdog: Option<(Child, ChildStdin)>,
    kubeconfig: PathBuf,
    kubectl: PathBuf,
    kubectl_version: String,
    server_version: String,
    /// The namespaces made restricted so far.
    namespaces: Mutex<BTreeSet<String>>,
    /// Holds the data, certificates and logs; removed when dropped.
    _dir: tempfile::TempDir,
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        // `stop`: the watchdog kills and reaps both servers and leaves the directory to TempDir.
        if let Some((mut watchdog, mut stdin)) = self.watchdog.take() {
            let _ = stdin.write_all(b"stop\n");
            drop(stdin);
            let _ = watchdog.wait();
        }
    }
}

/// The watchdog, `bash -c WATCHDOG watchdog DIR ETCD-ARGV... ::: KUBE-APISERVER-ARGV...`: starts
/// both servers as its own children (so it, not whatever adopts orphans, reaps them), then
/// blocks on stdin. A line (`stop`, from Drop) or end-of-file (the test process is gone, however
/// it ended) makes it kill both, wait for them and, on end-of-file, remove DIR. It ignores the
/// terminal's signals so that Ctrl-C on the test run still cleans up, and it keeps the test
/// process's stderr open until done, so a pipeline reading the test output (`cargo test | tee`,
/// as scripts/test.sh runs) ends only after the servers are gone.
const WATCHDOG: &str = r#"
trap '' INT TERM HUP
dir=$1; shift
args=("$@"); n=0
while [[ ${args[n]} != ::: ]]; do n=$((n + 1)); done
"${args[@]:0:n}" </dev/null >"$dir/etcd.log" 2>&1 &
echo $! >"$dir/etcd.pid"
"${args[@]:n+1}" </dev/null >"$dir/kube-apiserver.log" 2>&1 &
echo $! >"$dir/kube-apiserver.pid"
read -r line || line=
{ kill -9 %1 %2; wait; } 2>/dev/null
[ -n "$line" ] || rm -rf "$dir"
"#;

/// Whether a server the watchdog started has exited (gone, or a zombie its parent has not
/// reaped yet: the watchdog only reaps at the end). Not started yet counts as running.
fn exited(dir: &Path, name: &str) -> bool {
    let Ok(pid) = std::fs::read_to_string(dir.join(format!("{name}.pid"))) else {
        return false;
    };
    match std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
        Err(_) => true,
    }
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

impl ApiServer {
    fn start(tools: &Tools) -> Result<ApiServer, String> {
        let dir = tempfile::Builder::new()
            .prefix("apply-defaults-apiserver.")
            .tempdir()
            .map_err(|e| format!("tempdir: {e}"))?;
        let d = dir.path().to_path_buf();
        let mut server = ApiServer {
            watchdog: None,
            kubeconfig: d.join("kubeconfig"),
            kubectl: tools.kubectl.clone(),
            kubectl_version: tools.kubectl_version.clone(),
            server_version: tools.server_version.clone(),
            namespaces: Mutex::new(BTreeSet::new()),
            _dir: dir,
        };

        // The service-account token keys 1.37 requires: the signing key and its public half
        // (which verifies the tokens), a fresh P-256 pair per server.
        let (key, public) = (d.join("sa.key"), d.join("sa.pub"));
        for args in [
            vec![
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
            ],
            vec!["pkey", "-pubout", "-out"],
        ] {
            let mut cmd = Command::new(&tools.openssl);
            cmd.args(&args);
            if args[0] == "genpkey" {
                cmd.arg(&key);
            } else {
                cmd.arg(&public).arg("-in").arg(&key);
            }
            let run = util::run_cmd(&mut cmd, "");
            if run.code != 0 {
                return Err(format!("openssl {}: {}", args[0], run.stderr));
            }
        }
        // A static token in system:masters: the admin the tests act as.
        let token = format!(
            "apply-defaults-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|t| t.as_nanos())
                .unwrap_or_default()
        );
        let tokens = d.join("tokens.csv");
        std::fs::write(&tokens, format!("{token},admin,admin,system:masters\n"))
            .map_err(|e| format!("tokens.csv: {e}"))?;

        let (client, peer, secure) = (free_port(), free_port(), free_port());
        let etcd: Vec<String> = vec![
            tools.etcd.display().to_string(),
            "--name=apply-defaults".into(),
            format!("--data-dir={}", d.join("etcd").display()),
            format!("--listen-client-urls=http://127.0.0.1:{client}"),
            format!("--advertise-client-urls=http://127.0.0.1:{client}"),
            format!("--listen-peer-urls=http://127.0.0.1:{peer}"),
            format!("--initial-advertise-peer-urls=http://127.0.0.1:{peer}"),
            format!("--initial-cluster=apply-defaults=http://127.0.0.1:{peer}"),
            // Throw-away data: no fsync, so the two cores are not spent waiting on the disk.
            "--unsafe-no-fsync".into(),
            "--log-level=warn".into(),
        ];
        let apiserver: Vec<String> = vec![
            tools.apiserver.display().to_string(),
            format!("--etcd-servers=http://127.0.0.1:{client}"),
            "--bind-address=127.0.0.1".into(),
            "--advertise-address=127.0.0.1".into(),
            format!("--secure-port={secure}"),
            format!("--cert-dir={}", d.join("certs").display()),
            format!("--token-auth-file={}", tokens.display()),
            "--authorization-mode=RBAC".into(),
            "--service-account-issuer=https://kubernetes.default.svc".into(),
            format!("--service-account-key-file={}", public.display()),
            format!("--service-account-signing-key-file={}", key.display()),
            "--service-cluster-ip-range=10.96.0.0/16".into(),
            // No Endpoints for the `kubernetes` Service: a loopback address is not a valid one,
            // and nothing here talks to the server through the Service.
            "--endpoint-reconciler-type=none".into(),
        ];
        let mut watchdog = Command::new(&tools.bash)
            .arg("-c")
            .arg(WATCHDOG)
            .arg("watchdog")
            .arg(&d)
            .args(&etcd)
            .arg(":::")
            .args(&apiserver)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting the watchdog: {e}"))?;
        let stdin = watchdog.stdin.take().expect("piped stdin");
        server.watchdog = Some((watchdog, stdin));

        let ca = d.join("certs/apiserver.crt");
        let kubeconfig = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "local", "cluster": {
                "server": format!("https://127.0.0.1:{secure}"),
                "certificate-authority": ca,
            }}],
            "users": [{"name": "admin", "user": {"token": token}}],
            "contexts": [{"name": "local", "context": {
                "cluster": "local", "user": "admin", "namespace": FALLBACK_NAMESPACE,
            }}],
            "current-context": "local",
        });
        std::fs::write(&server.kubeconfig, kubeconfig.to_string())
            .map_err(|e| format!("kubeconfig: {e}"))?;

        let t0 = Instant::now();
        loop {
            for name in ["etcd", "kube-apiserver"] {
                if exited(&d, name) {
                    return Err(format!(
                        "{name} exited before the server was ready:\n{}",
                        log_tail(&d.join(format!("{name}.log")))
                    ));
                }
            }
            // The certificate appears once the server generated it; until then there is
            // nothing to talk to.
            if ca.is_file() {
                let run = server.kubectl(&["get", "--raw", "/readyz"], "");
                if run.code == 0 && run.stdout.trim() == "ok" {
                    break;
                }
            }
            if t0.elapsed() > READY_TIMEOUT {
                return Err(format!(
                    "kube-apiserver not ready after {READY_TIMEOUT:?}:\n{}\n--- etcd\n{}",
                    log_tail(&d.join("kube-apiserver.log")),
                    log_tail(&d.join("etcd.log"))
                ));
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        eprintln!(
            "apiserver: kube-apiserver {} + etcd ready on 127.0.0.1:{secure} in {:.1} s",
            server.server_version,
            t0.elapsed().as_secs_f64()
        );
        Ok(server)
    }

    /// kubectl against this server.
    fn kubectl(&self, args: &[&str], stdin: &str) -> Run {
        util::run_cmd(
            Command::new(&self.kubectl)
                .arg("--kubeconfig")
                .arg(&self.kubeconfig)
                .args(args),
            stdin,
        )
    }

    /// Creates (for real) the namespaces, labelled to enforce, warn and audit `restricted`,
    /// each with the `default` ServiceAccount the controller manager (not running here) would
    /// make; without it the ServiceAccount admission plugin refuses any pod.
    fn restricted_namespaces(&self, names: &BTreeSet<String>) {
        let mut done = self.namespaces.lock().unwrap_or_else(|e| e.into_inner());
        let mut docs = Vec::new();
        for name in names.iter().filter(|n| !done.contains(*n)) {
            let labels: serde_json::Map<String, Value> = ["enforce", "warn", "audit"]
                .iter()
                .flat_map(|mode| {
                    [
                        (format!("pod-security.kubernetes.io/{mode}"), json!(LEVEL)),
                        (
                            format!("pod-security.kubernetes.io/{mode}-version"),
                            json!("latest"),
                        ),
                    ]
                })
                .collect();
            docs.push(json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": name, "labels": labels}}));
            docs.push(json!({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": name}}));
        }
        if docs.is_empty() {
            return;
        }
        let text = apply_defaults::krm::yaml::documents_to_string(&docs).expect("writes YAML");
        self.kubectl(
            &[
                "apply",
                "--server-side",
                "--field-manager=apply-defaults-tests",
                "-f",
                "-",
            ],
            &text,
        )
        .expect_code(0);
        done.extend(names.iter().cloned());
    }
}

/// The server shared by this module's tests, started by the first test that needs it. None:
/// the tools are missing and the test skips (a failure under CI=true, inside find_tools).
fn server() -> Option<&'static ApiServer> {
    static SERVER: OnceLock<Option<Result<ApiServer, String>>> = OnceLock::new();
    let slot = SERVER.get_or_init(|| find_tools().map(|tools| ApiServer::start(&tools)));
    match slot {
        None => None,
        Some(Ok(server)) => {
            server.restricted_namespaces(&BTreeSet::from([FALLBACK_NAMESPACE.to_string()]));
            Some(server)
        }
        Some(Err(e)) => panic!("the API server did not start: {e}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Applying

/// What the server said about one stream.
struct Admission {
    /// `kind/name` of every object the dry run admitted.
    admitted: Vec<String>,
    /// `Warning:` lines (admission warnings, deprecations) kubectl printed.
    warnings: Vec<String>,
    run: Run,
}

/// Cluster-scoped kinds (everything else takes a namespace).
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "IngressClass",
    "PriorityClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
];

/// The namespaces a stream's namespaced objects go to.
fn namespaces_of(docs: &[Value]) -> BTreeSet<String> {
    docs.iter()
        .filter(|d| !CLUSTER_SCOPED.contains(&d["kind"].as_str().unwrap_or_default()))
        .map(|d| {
            d["metadata"]["namespace"]
                .as_str()
                .unwrap_or(FALLBACK_NAMESPACE)
                .to_string()
        })
        .collect()
}

/// `kubectl apply --server-side --dry-run=server --validate=strict -f -` of the objects, into
/// restricted namespaces created first.
fn dry_run_apply(server: &ApiServer, docs: &[Value]) -> Admission {
    server.restricted_namespaces(&namespaces_of(docs));
    let text = apply_defaults::krm::yaml::documents_to_string(docs).expect("writes YAML");
    let run = server.kubectl(
        &[
            "apply",
            "--server-side",
            "--dry-run=server",
            "--validate=strict",
            "-f",
            "-",
        ],
        &text,
    );
    let admitted = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_suffix(" (server dry run)"))
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_string())
        .collect();
    let warnings = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("Warning:"))
        .map(str::to_string)
        .collect();
    Admission {
        admitted,
        warnings,
        run,
    }
}

/// Every object admitted, no warning; records the counts by kind.
fn assert_admitted_cleanly(
    server: &ApiServer,
    what: &str,
    docs: &[Value],
) -> BTreeMap<String, usize> {
    let docs: Vec<Value> = docs.iter().filter(|d| !d.is_null()).cloned().collect();
    assert!(!docs.is_empty(), "{what}: nothing to apply");
    let adm = dry_run_apply(server, &docs);
    assert!(
        adm.run.code == 0 && adm.warnings.is_empty() && adm.admitted.len() == docs.len(),
        "{what}: the API server did not admit all {} objects cleanly (exit {}, {} admitted, \
         {} warnings)\n--- stdout\n{}\n--- stderr\n{}",
        docs.len(),
        adm.run.code,
        adm.admitted.len(),
        adm.warnings.len(),
        adm.run.stdout,
        adm.run.stderr
    );
    let mut by_kind = BTreeMap::new();
    for d in &docs {
        *by_kind
            .entry(d["kind"].as_str().unwrap_or_default().to_string())
            .or_insert(0) += 1;
    }
    let kinds: Vec<String> = by_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
    record(&format!(
        "kube-apiserver {} dry-run (restricted PSA, strict): {what}: {} objects admitted, \
         0 warnings ({})",
        server.server_version,
        docs.len(),
        kinds.join(", ")
    ));
    by_kind
}

// ---------------------------------------------------------------------------------------------
// Rendering

/// The trees (both stacks) in a temporary directory, with the container component swapped for
/// the exec one: the container image reference is one for every checkout on a machine, so
/// rendering through it could test another checkout's binary. The settings and the function
/// are the same; only the runner differs (runners.rs and stacks.rs show both agree).
fn exec_tree() -> tempfile::TempDir {
    let tmp = util::tempdir();
    let root = util::root();
    for dir in ["base", "overlays", "functions", "examples/interview-prep"] {
        util::copy_dir(&root.join(dir), &tmp.path().join(dir));
    }
    std::fs::copy(
        root.join("functions/exec/kustomization.yaml"),
        tmp.path().join("functions/container/kustomization.yaml"),
    )
    .expect("swaps the container component for the exec one");
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    std::os::unix::fs::symlink(util::bin(), bin.join("apply-defaults")).expect("symlink");
    tmp
}

/// `kustomize build --enable-alpha-plugins --enable-exec DIR` (the pinned standalone kustomize)
/// with the binary under test on PATH as `apply-defaults`.
fn render(overlay: &str) -> Option<Vec<Value>> {
    let kustomize = util::pinned_tool("KUSTOMIZE", "renders the overlays' exec form")?;
    let tree = exec_tree();
    let path = std::env::join_paths(std::iter::once(tree.path().join("bin")).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH");
    let run = util::run_cmd(
        Command::new(&kustomize)
            .args(["build", "--enable-alpha-plugins", "--enable-exec"])
            .arg(overlay)
            .current_dir(tree.path())
            .env("PATH", path),
        "",
    )
    .expect_code(0);
    let mut docs = util::yaml_docs(&run.stdout);
    docs.retain(|d| !d.is_null());
    Some(docs)
}

fn kinds(by_kind: &BTreeMap<String, usize>, kind: &str) -> usize {
    by_kind.get(kind).copied().unwrap_or_default()
}

fn overlay_is_admitted(overlay: &str, prod: bool) {
    let Some(server) = server() else { return };
    let Some(docs) = render(overlay) else { return };
    let by_kind = assert_admitted_cleanly(server, overlay, &docs);
    // The generated objects went through the server too. The trees hold no NetworkPolicy,
    // HPA or PDB of their own, so these also show the function ran in the exec form.
    assert!(
        kinds(&by_kind, "NetworkPolicy") > 0,
        "{overlay}: no NetworkPolicy"
    );
    if prod {
        assert!(
            kinds(&by_kind, "HorizontalPodAutoscaler") > 0,
            "{overlay}: no HPA"
        );
        assert!(
            kinds(&by_kind, "PodDisruptionBudget") > 0,
            "{overlay}: no PDB"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn kubectl_is_within_one_minor_of_the_server() {
    let Some(server) = server() else { return };
    let run = server
        .kubectl(&["version", "-o", "json"], "")
        .expect_code(0);
    let v: Value = serde_json::from_str(&run.stdout).expect("kubectl version -o json");
    let client = v["clientVersion"]["gitVersion"]
        .as_str()
        .unwrap_or_default();
    let reported = v["serverVersion"]["gitVersion"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(
        reported, server.server_version,
        "the server reports another version"
    );
    assert_eq!(client, server.kubectl_version);
    let (c, s) = (
        minor_of(client).expect("client"),
        minor_of(reported).expect("server"),
    );
    assert!(
        within_skew(c, s),
        "kubectl {client} is more than one minor version from the server {reported}"
    );
    assert!(
        !run.stderr.contains("WARNING"),
        "kubectl warns about the pair: {}",
        run.stderr
    );
    record(&format!(
        "kube-apiserver {reported} + etcd {} with kubectl {client} ({})",
        util::pinned_tool("ETCD", "")
            .map(|p| util::pinned_version(&p))
            .unwrap_or_default(),
        server.kubectl.display()
    ));
}

#[test]
fn ai_interviewer_dev_is_admitted() {
    overlay_is_admitted("overlays/dev", false);
}

#[test]
fn ai_interviewer_prod_is_admitted() {
    overlay_is_admitted("overlays/prod", true);
}

#[test]
fn ai_interviewer_dev_exec_is_admitted() {
    overlay_is_admitted("overlays/dev-exec", false);
}

#[test]
fn ai_interviewer_prod_exec_is_admitted() {
    overlay_is_admitted("overlays/prod-exec", true);
}

#[test]
fn interview_prep_dev_is_admitted() {
    overlay_is_admitted("examples/interview-prep/overlays/dev", false);
}

#[test]
fn interview_prep_prod_is_admitted() {
    overlay_is_admitted("examples/interview-prep/overlays/prod", true);
}

/// Does a function config run the `security` default? No config, or no or an empty `defaults`
/// list, runs all of them.
fn runs_security(fc: Option<&Value>) -> bool {
    let Some(fc) = fc else { return true };
    let names: Vec<String> = if fc["kind"] == "ConfigMap" {
        fc["data"]["defaults"]
            .as_str()
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    } else {
        fc["spec"]["defaults"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    names.is_empty() || names.iter().any(|n| n == "security")
}

/// The same config with `security` added to its `defaults`.
fn with_security(fc: &Value) -> Value {
    let mut fc = fc.clone();
    if fc["kind"] == "ConfigMap" {
        let list = fc["data"]["defaults"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        fc["data"]["defaults"] = json!(format!("{list},security"));
    } else if let Some(list) = fc["spec"]["defaults"].as_array_mut() {
        list.push(json!("security"));
    }
    fc
}

/// Kinds whose objects carry a pod template (or are pods): what Pod Security looks at.
const POD_KINDS: &[&str] = &[
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
];

/// Why a workload the server warns about may keep its warning: the user kept it from the
/// `security` default (the config, an opt-out annotation), or the function said itself, in a
/// warning result on that object, that it fails `restricted` (a value as written it keeps,
/// such as runAsUser 0). None: the function left a pod `restricted` refuses without saying so.
fn excuse(obj: &Value, results: &Value, security_on: bool) -> Option<String> {
    if !security_on {
        return Some("the config does not run the security default".into());
    }
    // Opt-outs sit on the workload or on its pod template (Helm charts often expose only
    // pod annotations).
    for annotations in [
        &obj["metadata"]["annotations"],
        &obj["spec"]["template"]["metadata"]["annotations"],
        &obj["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["annotations"],
    ] {
        if let Some(skip) = annotations["apply-defaults.dev/skip"].as_str() {
            if skip
                .split([',', ';', ' '])
                .any(|w| w.trim() == "true" || w.trim() == "security")
            {
                return Some(format!("opted out: apply-defaults.dev/skip: {skip:?}"));
            }
        }
        if let Some(skip) = annotations["apply-defaults.dev/skip-containers"].as_str() {
            return Some(format!(
                "containers opted out: apply-defaults.dev/skip-containers: {skip:?}"
            ));
        }
    }
    results
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["severity"] == "warning")
        .filter(|r| {
            r["resourceRef"]["kind"] == obj["kind"]
                && r["resourceRef"]["name"] == obj["metadata"]["name"]
        })
        .find_map(|r| {
            let m = r["message"].as_str()?;
            m.contains("Pod Security \"restricted\"")
                .then(|| format!("the function warned: {m}"))
        })
}

/// One example's output through the server: all admitted; only Pod Security warnings, and each
/// on a workload with an excuse. Returns the number of warned workloads.
fn example_is_admitted(
    server: &ApiServer,
    what: &str,
    fc: Option<&Value>,
    out: &examples::Outcome,
) -> usize {
    let docs: Vec<Value> = out
        .items
        .iter()
        .filter(|i| i["metadata"]["annotations"]["config.kubernetes.io/local-config"].is_null())
        .map(examples::without_orchestrator_annotations)
        .collect();
    assert!(!docs.is_empty(), "{what}: no objects");
    let adm = dry_run_apply(server, &docs);
    assert!(
        adm.run.code == 0 && adm.admitted.len() == docs.len(),
        "{what}: the API server did not admit all {} objects (exit {})\n--- stdout\n{}\n--- stderr\n{}",
        docs.len(),
        adm.run.code,
        adm.run.stdout,
        adm.run.stderr
    );
    let other: Vec<&String> = adm
        .warnings
        .iter()
        .filter(|w| !w.contains("would violate PodSecurity"))
        .collect();
    assert!(other.is_empty(), "{what}: the server warns: {other:#?}");
    let security_on = runs_security(fc);
    let mut warned = Vec::new();
    if !adm.warnings.is_empty() {
        // The lines do not name the object: apply the workloads one by one to tell.
        for doc in docs
            .iter()
            .filter(|d| POD_KINDS.contains(&d["kind"].as_str().unwrap_or_default()))
        {
            let one = dry_run_apply(server, std::slice::from_ref(doc));
            if one.warnings.is_empty() {
                continue;
            }
            let name = format!(
                "{}/{}",
                doc["kind"].as_str().unwrap_or_default(),
                doc["metadata"]["name"].as_str().unwrap_or_default()
            );
            let why = excuse(doc, &out.results, security_on).unwrap_or_else(|| {
                panic!(
                    "{what}: {name} would violate the restricted Pod Security Standard, and \
                     the function neither secured it nor said why:\n{}",
                    one.warnings.join("\n")
                )
            });
            warned.push(format!("{name} ({why})"));
        }
        assert!(
            !warned.is_empty(),
            "{what}: warnings no single workload draws: {:#?}",
            adm.warnings
        );
    }
    record(&format!(
        "kube-apiserver {} dry-run (restricted PSA, strict): {what}: {} objects admitted, {}",
        server.server_version,
        docs.len(),
        if warned.is_empty() {
            "0 warnings".to_string()
        } else {
            format!(
                "Pod Security warnings on {} kept out of security: {}",
                warned.len(),
                warned.join("; ")
            )
        }
    ));
    warned.len()
}

/// Every catalog example the function succeeds on, its output as kpt would write it (config
/// objects are local and not applied). Examples whose config leaves out the `security` default
/// also run with it added, and that output must draw no warning at all. Cases that exit
/// non-zero (check mode, a bad config) leave their input unchanged on purpose: there is no
/// output of the function's to apply.
#[test]
fn every_example_output_is_admitted() {
    let Some(server) = server() else { return };
    let mut applied = 0;
    for case in examples::CASES {
        let dir = util::root().join("examples").join(case);
        let expected = examples::read_expected(&dir);
        if expected.exit_code != 0 {
            continue;
        }
        let input = examples::read_package(&dir);
        let fc = examples::function_config(&dir, &expected);
        let out = examples::run_function(&input, fc.as_ref());
        assert_eq!(out.code, 0, "{case}: {}", out.stderr);
        example_is_admitted(server, &format!("examples/{case}"), fc.as_ref(), &out);
        if let Some(fc) = fc.as_ref().filter(|fc| !runs_security(Some(fc))) {
            let fc = with_security(fc);
            let out = examples::run_function(&input, Some(&fc));
            assert_eq!(out.code, 0, "{case} with security: {}", out.stderr);
            let warned = example_is_admitted(
                server,
                &format!("examples/{case} + security"),
                Some(&fc),
                &out,
            );
            assert_eq!(warned, 0, "{case} with the security default: warnings");
        }
        applied += 1;
    }
    assert!(applied >= 10, "only {applied} examples applied");
}

/// The Helm example (`examples/helm/`): the chart post-rendered by `stream` with the README's
/// config, the way `helm template --post-renderer` hands it over (tests/helm.rs shows Helm's
/// post-renderers give this same output). The chart sets no namespace, so its objects go to
/// the kubeconfig context's restricted namespace.
#[test]
fn helm_example_output_is_admitted() {
    let Some(server) = server() else { return };
    let Some(helm) = util::pinned_tool("HELM3", "renders examples/helm/chart") else {
        return;
    };
    let chart = util::run_cmd(
        Command::new(&helm)
            .args(["template", "shop", "examples/helm/chart"])
            .current_dir(util::root()),
        "",
    )
    .expect_code(0);
    let config = util::root().join("examples/helm/apply-defaults.yaml");
    let out = util::run(
        &["stream", &format!("--config={}", config.display())],
        &chart.stdout,
    )
    .expect_code(0);
    let mut docs = util::yaml_docs(&out.stdout);
    docs.retain(|d| !d.is_null());
    let by_kind = assert_admitted_cleanly(server, "examples/helm (helm template | stream)", &docs);
    assert!(kinds(&by_kind, "NetworkPolicy") > 0, "no NetworkPolicy");
    assert!(kinds(&by_kind, "PodDisruptionBudget") > 0, "no PDB");
}

/// The check can fail: in the same kind of namespace a pod running as root is refused, and a
/// Deployment whose pods would run as root draws the `restricted` warning the other tests
/// forbid.
#[test]
fn root_pod_is_refused_and_root_template_warned() {
    let Some(server) = server() else { return };
    let ns = "apply-defaults-negative";
    let container = json!({"name": "app", "image": "registry.example.com/app:1.0",
        "securityContext": {"runAsUser": 0}});
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "root", "namespace": ns},
        "spec": {"containers": [container]}});
    let adm = dry_run_apply(server, std::slice::from_ref(&pod));
    assert_ne!(
        adm.run.code, 0,
        "a root pod was admitted:\n{}",
        adm.run.stdout
    );
    assert!(adm.admitted.is_empty());
    assert!(
        adm.run
            .stderr
            .contains("violates PodSecurity \"restricted:latest\"")
            && adm.run.stderr.contains("runAsNonRoot")
            && adm.run.stderr.contains("runAsUser=0"),
        "refused for another reason:\n{}",
        adm.run.stderr
    );

    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "root", "namespace": ns},
        "spec": {"selector": {"matchLabels": {"app": "root"}},
            "template": {"metadata": {"labels": {"app": "root"}},
                "spec": {"containers": [container]}}}});
    let adm = dry_run_apply(server, std::slice::from_ref(&deployment));
    assert_eq!(adm.run.code, 0, "{}", adm.run.stderr);
    assert!(
        adm.warnings
            .iter()
            .any(|w| w.contains("would violate PodSecurity \"restricted:latest\"")),
        "no PodSecurity warning for a root template:\n{}",
        adm.run.stderr
    );
    record(&format!(
        "kube-apiserver {} dry-run: root Pod refused, root Deployment warned ({} warning lines)",
        server.server_version,
        adm.warnings.len()
    ));
}

/// A server of its own, dropped by a panic while it runs: both processes and the directory go.
#[test]
fn a_server_dropped_by_a_panic_leaves_nothing_behind() {
    if server().is_none() {
        return;
    }
    let tools = find_tools().expect("the shared server found them");
    let (tx, rx) = std::sync::mpsc::channel();
    let result = std::panic::catch_unwind(move || {
        let server = ApiServer::start(&tools).expect("a second server starts");
        let dir = server._dir.path().to_path_buf();
        let pids: Vec<String> = ["etcd", "kube-apiserver"]
            .iter()
            .map(|n| std::fs::read_to_string(dir.join(format!("{n}.pid"))).expect("pid file"))
            .map(|p| p.trim().to_string())
            .collect();
        tx.send((dir, pids)).expect("sends");
        panic!("a test failing while its server runs");
    });
    assert!(result.is_err());
    let (dir, pids) = rx.recv().expect("the server started");
    for pid in &pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} is still there after the drop"
        );
    }
    assert!(!dir.exists(), "{} is still there", dir.display());
}

#[test]
fn version_parsing() {
    assert_eq!(minor_of("v1.37.2"), Some((1, 37)));
    assert_eq!(minor_of("v1.32.4-dispatcher"), Some((1, 32)));
    assert_eq!(minor_of("1.33+"), Some((1, 33)));
    assert!(within_skew((1, 36), (1, 37)));
    assert!(!within_skew((1, 33), (1, 37)));
}
