//! `bench-tools`: the helpers `benches/compare.sh` needs, as one small binary.
//!
//! - `gen --workloads N --out DIR [--function-image IMG] [--identity-image IMG]`: writes the
//!   synthetic input for one size (see `common/gen.rs`) as a ResourceList, as a package of files,
//!   and as three kustomizations over that package (our function, an identity function, and the
//!   same defaults as kustomize-native patches plus hand-written HPA/PDB/NetworkPolicy files).
//! - `floor --scale K [--time]`: the floor the function is measured against. It reads the
//!   ResourceList on stdin with the same YAML reader and options as the function, and writes a
//!   ResourceList whose items are the input items repeated to K times their number (K is the
//!   function's output/input item ratio, so both write about the same bytes), without changing
//!   anything. With `--time` it prints how long each step took to stderr.
//! - `identity`: copies stdin to stdout; packaged as a container function it measures what
//!   kustomize's function bridge costs by itself.
//! - `tee`: copies stdin to stdout and to stderr; as a container function it shows what
//!   kustomize sends a function (the ResourceList with kustomize's id annotations).
//! - `replay FILE`: reads stdin, writes FILE; as a container function whose FILE is our
//!   function's output for what kustomize sends, it measures kustomize's cost for that output
//!   with no function work at all.

#[path = "../common/gen.rs"]
mod generate;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use apply_defaults::krm::{ResourceList, yaml};
use serde::ser::{SerializeMap, SerializeSeq};
use serde_json::Value;

/// The same allocator as the function's binary, so the floor measures the YAML library, not a
/// difference of allocators.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("gen") => gen_cmd(&args[1..]),
        Some("floor") => floor_cmd(&args[1..]),
        Some("identity") => identity(),
        Some("tee") => tee(),
        Some("replay") => match args.get(1) {
            Some(file) => replay(Path::new(file)),
            None => Err(anyhow::anyhow!(
                "usage: bench-tools replay FILE < resource-list.yaml"
            )),
        },
        Some("stages") => stages_cmd(&args[1..]),
        _ => Err(anyhow::anyhow!(
            "usage: bench-tools gen --workloads N --out DIR [--function-image IMG] [--identity-image IMG]\n       bench-tools floor --scale K [--time] < resource-list.yaml\n       bench-tools identity|tee < resource-list.yaml\n       bench-tools replay FILE < resource-list.yaml\n       bench-tools stages [--repeat N] < resource-list.yaml"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-tools: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn identity() -> Result<()> {
    let mut stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    std::io::copy(&mut stdin, &mut stdout)?;
    stdout.flush()?;
    Ok(())
}

fn tee() -> Result<()> {
    let mut input = Vec::new();
    std::io::stdin().lock().read_to_end(&mut input)?;
    std::io::stderr().lock().write_all(&input)?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&input)?;
    stdout.flush()?;
    Ok(())
}

fn replay(file: &Path) -> Result<()> {
    // Read what the orchestrator sends, as a function must, before answering.
    std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink())?;
    let output = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&output)?;
    stdout.flush()?;
    Ok(())
}

/// Serializes the envelope with `count` items taken round-robin from `items`, by reference:
/// the floor pays for writing the bytes, not for building a bigger tree.
struct Repeated<'a> {
    list: &'a ResourceList,
    count: usize,
}

struct Items<'a>(&'a [Value], usize);

impl serde::Serialize for Items<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.1))?;
        for item in self.0.iter().cycle().take(self.1) {
            seq.serialize_element(item)?;
        }
        seq.end()
    }
}

impl serde::Serialize for Repeated<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("apiVersion", "config.kubernetes.io/v1")?;
        m.serialize_entry("kind", "ResourceList")?;
        let count = if self.list.items.is_empty() {
            0
        } else {
            self.count
        };
        m.serialize_entry("items", &Items(&self.list.items, count))?;
        if let Some(fc) = &self.list.function_config {
            m.serialize_entry("functionConfig", fc)?;
        }
        m.end()
    }
}

fn floor_cmd(args: &[String]) -> Result<()> {
    let scale: f64 = flag(args, "--scale")
        .unwrap_or("1")
        .parse()
        .context("--scale takes a number")?;
    let time = args.iter().any(|a| a == "--time");
    let t0 = Instant::now();
    let mut input = Vec::new();
    std::io::stdin().lock().read_to_end(&mut input)?;
    let t1 = Instant::now();
    // The single-threaded reader on purpose: the floor is one thread of the YAML library.
    let text = std::str::from_utf8(&input)?;
    let list = ResourceList::from_value(yaml::from_str(text)?)?;
    drop(input);
    let t2 = Instant::now();
    let count = (list.items.len() as f64 * scale).round() as usize;
    let text = yaml::to_string(&Repeated { list: &list, count })?;
    let t3 = Instant::now();
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    let t4 = Instant::now();
    if time {
        let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
        eprintln!(
            "floor: read {:.1} ms, parse {:.1} ms ({} items), emit {:.1} ms ({} items, {} bytes), write {:.1} ms",
            ms(t0, t1),
            ms(t1, t2),
            list.items.len(),
            ms(t2, t3),
            count,
            text.len(),
            ms(t3, t4)
        );
    }
    Ok(())
}

/// Times each in-process stage of one function run (best of `--repeat` runs), for profiling
/// without criterion's sampling.
fn stages_cmd(args: &[String]) -> Result<()> {
    use apply_defaults::Config;
    let repeat: usize = flag(args, "--repeat").unwrap_or("1").parse()?;
    let mut input = Vec::new();
    std::io::stdin().lock().read_to_end(&mut input)?;
    // The function's own flow (run::function), stage by stage: the pipeline hands finished items
    // to the writer thread, so "pipeline" is the main thread's share and "writer" what is left of
    // the writer's after it (0 when the writer kept up); "wrap" writes the envelope and joins
    // the pieces, "drop" frees what remains.
    const STAGES: [&str; 6] = ["parse", "config", "pipeline", "writer", "wrap", "drop"];
    let mut best = [f64::INFINITY; STAGES.len()];
    for _ in 0..repeat {
        let mut t = [0.0; STAGES.len()];
        let clock = Instant::now();
        let mut list = ResourceList::from_bytes(&input)?;
        t[0] = clock.elapsed().as_secs_f64();
        let clock = Instant::now();
        let config = Config::load(list.function_config.as_ref())
            .map_err(|p| anyhow::anyhow!("config: {p:?}"))?;
        t[1] = clock.elapsed().as_secs_f64();
        let clock = Instant::now();
        let mut writer = apply_defaults::ItemWriter::spawn();
        let items = std::mem::take(&mut list.items);
        let summary =
            apply_defaults::process(items, &config, &mut |place, item| writer.put(place, item));
        t[2] = clock.elapsed().as_secs_f64();
        let clock = Instant::now();
        let texts = writer.finish()?;
        t[3] = clock.elapsed().as_secs_f64();
        let clock = Instant::now();
        list.results.extend(summary.results);
        let text = list.to_yaml_pieces(texts.into_ordered())?.concat();
        t[4] = clock.elapsed().as_secs_f64();
        let clock = Instant::now();
        drop((list, text, config, summary.changed));
        t[5] = clock.elapsed().as_secs_f64();
        for (b, x) in best.iter_mut().zip(t) {
            *b = b.min(x);
        }
    }
    let stages: Vec<String> = STAGES
        .iter()
        .zip(best)
        .map(|(name, s)| format!("{name} {:.2} ms", s * 1e3))
        .collect();
    eprintln!("stages (best of {repeat}): {}", stages.join(", "));
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

fn function_object(image: &str) -> String {
    format!(
        "apiVersion: apply-defaults.dev/v1alpha1
kind: ApplyDefaults
metadata:
  name: defaults
  annotations:
    config.kubernetes.io/function: |
      container:
        image: {image}
spec:
  environment: prod
"
    )
}

/// What a user writes instead of the function: one patch for every Deployment's pod template
/// and an HPA, a PDB and a NetworkPolicy per workload, by hand.
const NATIVE_PATCH: &str = "patches:
- target:
    kind: Deployment
  patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: any
    spec:
      template:
        spec:
          automountServiceAccountToken: false
          securityContext:
            runAsNonRoot: true
            seccompProfile:
              type: RuntimeDefault
          topologySpreadConstraints:
          - maxSkew: 1
            topologyKey: topology.kubernetes.io/zone
            whenUnsatisfiable: ScheduleAnyway
            labelSelector:
              matchLabels:
                app.kubernetes.io/component: backend
          containers:
          - name: app
            resources:
              requests: {cpu: 500m, memory: 512Mi}
              limits: {cpu: 1000m, memory: 1Gi}
            readinessProbe:
              httpGet: {path: /health, port: http}
              initialDelaySeconds: 10
              periodSeconds: 10
            livenessProbe:
              httpGet: {path: /health, port: http}
              initialDelaySeconds: 30
              periodSeconds: 15
            securityContext:
              allowPrivilegeEscalation: false
              readOnlyRootFilesystem: true
              capabilities:
                drop: [ALL]
";

fn native_extras(i: usize) -> String {
    let name = format!("svc-{i:05}");
    let team = ["payments", "search", "identity", "catalog", "billing"][i % 5];
    format!(
        "apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {name}
  namespace: {team}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {name}
  minReplicas: 2
  maxReplicas: 5
  metrics:
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: 70
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {name}
  namespace: {team}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {name}
  namespace: {team}
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: {name}
  policyTypes: [Ingress, Egress]
  ingress:
  - ports:
    - port: 8080
      protocol: TCP
  egress:
  - to:
    - namespaceSelector: {{}}
      podSelector:
        matchLabels:
          k8s-app: kube-dns
    ports:
    - port: 53
      protocol: UDP
"
    )
}

fn gen_cmd(args: &[String]) -> Result<()> {
    let n: usize = flag(args, "--workloads")
        .context("--workloads N is required")?
        .parse()
        .context("--workloads takes a number")?;
    let Some(out) = flag(args, "--out").map(PathBuf::from) else {
        bail!("--out DIR is required");
    };
    let function_image =
        flag(args, "--function-image").unwrap_or("localhost/apply-defaults-bench:function");
    let identity_image =
        flag(args, "--identity-image").unwrap_or("localhost/apply-defaults-bench:identity");

    write(&out.join("resource-list.yaml"), &generate::resource_list(n))?;

    // The package: what `kpt fn source` reads, and the base every kustomization builds on.
    let files = generate::package_files(n);
    let mut base = String::from("resources:\n");
    for (path, text) in &files {
        write(&out.join("pkg").join(path), text)?;
        base.push_str(&format!("- {path}\n"));
    }
    write(&out.join("base").join("kustomization.yaml"), &base)?;
    for (path, text) in &files {
        write(&out.join("base").join(path), text)?;
    }

    write(
        &out.join("plain").join("kustomization.yaml"),
        "resources:\n- ../base\n",
    )?;
    for (dir, image) in [("function", function_image), ("identity", identity_image)] {
        write(
            &out.join(dir).join("kustomization.yaml"),
            "resources:\n- ../base\ntransformers:\n- fn.yaml\n",
        )?;
        write(&out.join(dir).join("fn.yaml"), &function_object(image))?;
    }

    let mut native = String::from("resources:\n- ../base\n");
    for f in 0..generate::file_count(n) {
        let mut text = String::new();
        let start = f * generate::APPS_PER_FILE;
        for i in start..(start + generate::APPS_PER_FILE).min(n) {
            if !text.is_empty() {
                text.push_str("---\n");
            }
            text.push_str(&native_extras(i));
        }
        let path = format!("extras-{f:04}.yaml");
        write(&out.join("native").join(&path), &text)?;
        native.push_str(&format!("- {path}\n"));
    }
    native.push_str(NATIVE_PATCH);
    write(&out.join("native").join("kustomization.yaml"), &native)?;
    Ok(())
}
