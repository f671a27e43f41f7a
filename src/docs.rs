//! The user-facing config reference (`docs/config-reference.md`), rendered from the JSON Schema
//! of the typed config, the ConfigMap knobs, the opt-out annotations and the shipped profile.
//!
//! Everything here is read from the code at run time, so the reference cannot drift from what
//! the binary accepts: a unit test fails when the checked-in files differ from what this module
//! renders, and `scripts/gen-docs.sh` rewrites them (through the `gen-docs` binary of the
//! `docs-tools` feature, which keeps this module out of the function's own build).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::config::{self, Class, Config, DefaultKind};
use crate::optout;

/// Where the reference and the schema live in the repository.
pub const REFERENCE_PATH: &str = "docs/config-reference.md";
pub const SCHEMA_PATH: &str = "docs/apply-defaults.schema.json";

/// The JSON Schema file users point their editors at: exactly what `apply-defaults schema` prints.
pub fn schema_file() -> String {
    crate::run::schema()
}

/// Writes every generated file under the repository root `root`; returns their paths.
pub fn write_all(root: &std::path::Path) -> std::io::Result<[&'static str; 2]> {
    for (rel, text) in [(REFERENCE_PATH, reference()), (SCHEMA_PATH, schema_file())] {
        let path = root.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, text)?;
    }
    Ok([REFERENCE_PATH, SCHEMA_PATH])
}

/// The whole Markdown reference.
pub fn reference() -> String {
    let schema: Value = serde_json::from_str(&crate::run::schema()).expect("the schema is JSON");
    let mut out = String::new();
    out.push_str(HEADER);
    out.push_str(&defaults_section(&schema));
    out.push_str(&fields_section(&schema));
    out.push_str(&configmap_section());
    out.push_str(&annotations_section());
    out.push_str(&profile_section());
    out.push_str(OUTPUT);
    out
}

const OUTPUT: &str = r#"## Reading what the function did

- `results` in the output ResourceList are the machine-readable record: one `info` per changed
  or generated resource (one per field with `spec.results.perField`, at most
  `spec.results.maxInfo`), `warning`s for things to look at, `error`s for what failed. Any error
  makes the exit code 1, after the full ResourceList is written.
- `--report` prints to stderr a table of what each workload gained: one column per default with
  the number of fields set, `✓` where a resource (HPA, PDB, NetworkPolicy) was generated for it,
  the class, and the generated resources listed under their workload.
- `--diff` prints to stderr a unified diff of every changed or generated resource against the
  input. Values of Secrets' `data` and `stringData` are never printed.

```shell
kpt fn source my-package | apply-defaults --report --diff > /dev/null
kubectl kustomize overlays/prod | apply-defaults stream --config prod.yaml --report > out.yaml
```
"#;

const HEADER: &str = r#"# apply-defaults config reference

<!-- Generated from the code by scripts/gen-docs.sh (src/docs.rs); do not edit by hand. -->

`apply-defaults` takes its config in one of two forms:

- the typed form, `kind: ApplyDefaults` (every field below), for kustomize transformer
  configs and a Kptfile `configPath`;
- a `ConfigMap` with flat `data` knobs, for `kpt fn eval -- key=value`, a Kptfile `configMap:`
  and quick experiments (see [ConfigMap knobs](#configmap-knobs)).

Either form is merged over the [shipped profile](#shipped-profile) (RFC 7396: a value you set
wins, a `null` removes a profile setting), then validated; every problem is reported at once,
as error results that name the field. `apply-defaults profile` prints the shipped profile as an
`ApplyDefaults` document to copy from; `apply-defaults schema` prints the JSON Schema.

## Editor support

[`apply-defaults.schema.json`](apply-defaults.schema.json) is the JSON Schema of the typed form
(JSON Schema 2020-12, the same text `apply-defaults schema` prints). With the YAML language
server (VS Code's YAML extension, Neovim, Helix, ...) a modeline on the first line of the config
file turns on completion, hover docs and validation; the path is relative to the config file,
or use a URL of the file in the repository:

```yaml
# yaml-language-server: $schema=../../docs/apply-defaults.schema.json
apiVersion: apply-defaults.dev/v1alpha1
kind: ApplyDefaults
metadata:
  name: apply-defaults
  annotations:
    config.kubernetes.io/function: |
      container:
        image: ghcr.io/apply-defaults/apply-defaults:0.1.0
spec:
  environment: prod
  enforce: [security]
  classes:
    backend:
      environments:
        prod:
          replicas: 4
```

Or map every file of a given name to the schema in VS Code's `settings.json`:

```json
{ "yaml.schemas": { "./docs/apply-defaults.schema.json": ["**/apply-defaults.yaml"] } }
```

A `$schema:` key inside the document does not work: the config refuses unknown fields.
The ConfigMap form has no schema of its own; its keys are checked when the function runs.

"#;

/// The default names, with what each one does (from `DefaultKind`'s docs).
fn defaults_section(schema: &Value) -> String {
    let docs: BTreeMap<&str, String> = schema["$defs"]["DefaultKind"]["oneOf"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| Some((v["const"].as_str()?, one_line(v["description"].as_str()?))))
        .collect();
    let mut out = String::from(
        "## Defaults\n\nThe names used by `spec.defaults`, `spec.enforce`, the ConfigMap keys \
         `defaults`, `skip` and `enforce`, and the opt-out annotations.\n\n\
         | Name | What it sets |\n| --- | --- |\n",
    );
    for d in DefaultKind::ALL {
        let what = docs.get(d.name()).map(String::as_str).unwrap_or_default();
        let _ = writeln!(out, "| `{}` | {} |", d.name(), cell(what));
    }
    out.push('\n');
    out
}

/// One section per object type of the schema, in the order a reader meets them from the root.
fn fields_section(schema: &Value) -> String {
    let defs = schema["$defs"].as_object().cloned().unwrap_or_default();
    let mut walker = Walker {
        defs: &defs,
        sections: Vec::new(),
        seen: BTreeMap::new(),
    };
    walker.visit("ApplyDefaults", schema, "");
    let mut out = String::from(
        "## Fields\n\nPaths are dotted; `[]` stands for any list item, and `<class>`, `<environment>` \
         for any key of that map. Fields marked *required* must be present when their parent is; everything else may be \
         left out.\n\n",
    );
    for s in &walker.sections {
        let _ = writeln!(out, "<a id=\"{}\"></a>\n", anchor(&s.name));
        let heading = if s.path.is_empty() {
            "(document root)".to_string()
        } else {
            format!("`{}`", s.path)
        };
        let _ = writeln!(out, "### {heading} ({})\n", s.name);
        if !s.description.is_empty() {
            let _ = writeln!(out, "{}\n", s.description);
        }
        if let Some(other) = walker.seen.get(&s.name).filter(|p| p.len() > 1) {
            let also: Vec<String> = other[1..].iter().map(|p| format!("`{p}`")).collect();
            let _ = writeln!(out, "Also used at {}.\n", also.join(", "));
        }
        out.push_str(
            "| Field | Type | Default / allowed | Description |\n| --- | --- | --- | --- |\n",
        );
        for row in &s.rows {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                row.path,
                cell(&row.ty),
                cell(&row.default),
                cell(&row.description)
            );
        }
        out.push('\n');
    }
    out
}

struct Section {
    name: String,
    path: String,
    description: String,
    rows: Vec<Row>,
}

struct Row {
    path: String,
    ty: String,
    default: String,
    description: String,
}

struct Walker<'a> {
    defs: &'a serde_json::Map<String, Value>,
    sections: Vec<Section>,
    /// Every path each object type appears at, in order of discovery.
    seen: BTreeMap<String, Vec<String>>,
}

/// What a property's schema says about its type.
struct TypeInfo {
    text: String,
    allowed: Vec<String>,
    /// The object type to document next, and the path suffix to reach its fields.
    child: Option<(String, String)>,
}

impl Walker<'_> {
    fn visit(&mut self, name: &str, schema: &Value, path: &str) {
        let paths = self.seen.entry(name.to_string()).or_default();
        paths.push(path.to_string());
        if paths.len() > 1 {
            return;
        }
        let required: Vec<&str> = schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let mut rows = Vec::new();
        let mut children = Vec::new();
        for (field, prop) in schema["properties"].as_object().into_iter().flatten() {
            let field_path = if path.is_empty() {
                field.clone()
            } else {
                format!("{path}.{field}")
            };
            let info = self.type_of(prop, field);
            let description = one_line(prop["description"].as_str().unwrap_or_default());
            let mut ty = info.text;
            if required.contains(&field.as_str()) {
                ty.push_str(", *required*");
            }
            let mut default = default_of(prop, &description);
            if !info.allowed.is_empty() {
                let each = if ty.starts_with("list") {
                    "each one of"
                } else {
                    "one of"
                };
                let allowed = format!("{each} {}", info.allowed.join(", "));
                default = if default.is_empty() {
                    allowed
                } else {
                    format!("{default}; {allowed}")
                };
            }
            if let Some((def, suffix)) = info.child {
                children.push((def, format!("{field_path}{suffix}")));
            }
            rows.push(Row {
                path: field_path,
                ty,
                default,
                description,
            });
        }
        self.sections.push(Section {
            name: name.to_string(),
            path: path.to_string(),
            description: one_line(schema["description"].as_str().unwrap_or_default()),
            rows,
        });
        for (def, child_path) in children {
            if let Some(s) = self.defs.get(&def) {
                let s = s.clone();
                self.visit(&def, &s, &child_path);
            }
        }
    }

    fn type_of(&self, prop: &Value, field: &str) -> TypeInfo {
        if let Some(r) = prop["$ref"].as_str() {
            let def = r.trim_start_matches("#/$defs/");
            let target = &self.defs[def];
            if let Some(values) = enum_values(target) {
                return TypeInfo {
                    text: "string".into(),
                    allowed: values,
                    child: None,
                };
            }
            return TypeInfo {
                text: format!("[{def}](#{})", anchor(def)),
                allowed: Vec::new(),
                child: Some((def.to_string(), String::new())),
            };
        }
        if let Some(any) = prop["anyOf"].as_array() {
            // `a or b` for a choice of types (a count or a percentage), null left out.
            let infos: Vec<TypeInfo> = any
                .iter()
                .filter(|s| s["type"] != "null")
                .map(|s| self.type_of(s, field))
                .collect();
            if !infos.is_empty() {
                let text = infos
                    .iter()
                    .map(|i| i.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ");
                let mut infos = infos.into_iter();
                let first = infos.next().expect("not empty");
                return TypeInfo {
                    text,
                    allowed: first.allowed,
                    child: first.child,
                };
            }
        }
        if let Some(values) = prop["enum"].as_array() {
            let allowed: Vec<String> = values
                .iter()
                .filter_map(Value::as_str)
                .map(|v| format!("`{v}`"))
                .collect();
            if !allowed.is_empty() {
                return TypeInfo {
                    text: "string".into(),
                    allowed,
                    child: None,
                };
            }
        }
        let ty = match &prop["type"] {
            Value::String(t) => t.clone(),
            Value::Array(ts) => ts
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or("any")
                .to_string(),
            _ => "any".into(),
        };
        match ty.as_str() {
            "array" => {
                let inner = self.type_of(&prop["items"], field);
                TypeInfo {
                    text: format!("list of {}", inner.text),
                    allowed: inner.allowed,
                    child: inner.child.map(|(d, s)| (d, format!("[]{s}"))),
                }
            }
            "object" => match &prop["additionalProperties"] {
                v @ Value::Object(_) => {
                    let inner = self.type_of(v, field);
                    TypeInfo {
                        text: format!("map of string to {}", inner.text),
                        allowed: inner.allowed,
                        child: inner
                            .child
                            .map(|(d, s)| (d, format!(".<{}>{s}", singular(field)))),
                    }
                }
                _ => TypeInfo {
                    text: "mapping".into(),
                    allowed: Vec::new(),
                    child: None,
                },
            },
            "integer" => {
                let range = match (prop["minimum"].as_i64(), prop["maximum"].as_i64()) {
                    (Some(lo), Some(hi)) => format!(" ({lo}–{hi})"),
                    (Some(lo), None) => format!(" (≥ {lo})"),
                    _ => String::new(),
                };
                TypeInfo {
                    text: format!("integer{range}"),
                    allowed: Vec::new(),
                    child: None,
                }
            }
            other => TypeInfo {
                text: match other {
                    "any" => "integer or string".to_string(),
                    t => t.to_string(),
                },
                allowed: Vec::new(),
                child: None,
            },
        }
    }
}

/// The values of a string enum (`oneOf` of `const`s, or `enum`).
fn enum_values(def: &Value) -> Option<Vec<String>> {
    if let Some(e) = def["enum"].as_array() {
        return Some(
            e.iter()
                .filter_map(Value::as_str)
                .map(|s| format!("`{s}`"))
                .collect(),
        );
    }
    let one_of = def["oneOf"].as_array()?;
    one_of
        .iter()
        .map(|v| v["const"].as_str().map(|s| format!("`{s}`")))
        .collect()
}

/// The default of a field: the schema's own `default` when it says something, otherwise what
/// the field's doc comment states ("Default: `dev`.", "(default 10001; ...)").
fn default_of(prop: &Value, description: &str) -> String {
    match &prop["default"] {
        Value::Null => {}
        // Structured defaults (`{}` for nested settings) say nothing a reader needs.
        Value::Object(_) | Value::Array(_) => {}
        Value::String(s) if s.is_empty() => {}
        v => return format!("`{}`", serde_json::to_string(v).unwrap_or_default()),
    }
    stated_default(description).unwrap_or_default()
}

/// The value after "Default:"/"Default " at the start of a sentence, or after "(default".
fn stated_default(description: &str) -> Option<String> {
    let starts = [
        "(default: ",
        "(default ",
        ". Default: ",
        ". Default ",
        "Default: ",
        "Default ",
    ];
    let (at, marker) = starts
        .iter()
        .filter_map(|m| description.find(m).map(|i| (i, *m)))
        .min_by_key(|(i, _)| *i)?;
    if marker.starts_with("Default") && at != 0 {
        return None;
    }
    let rest = &description[at + marker.len()..];
    let mut end = rest.len();
    let mut in_code = false;
    for (i, ch) in rest.char_indices() {
        match ch {
            '`' => in_code = !in_code,
            ';' | ')' | ',' if !in_code => {
                end = i;
                break;
            }
            '.' if !in_code && rest[i + 1..].chars().next().is_none_or(char::is_whitespace) => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    let value = rest[..end].trim();
    (!value.is_empty()).then(|| value.to_string())
}

fn configmap_section() -> String {
    let mut out = String::from(
        "## ConfigMap knobs\n\nThe ConfigMap form carries these keys in `data` (all values are strings; \
         lists are comma-separated). An unknown key is an error that lists the known ones.\n\n\
         ```shell\nkpt fn eval --exec apply-defaults my-package -- environment=prod skip=network-policy\n```\n\n\
         | Key | Sets |\n| --- | --- |\n",
    );
    for (key, what) in config::configmap::KEYS {
        let (target, text) = match what.split_once(": ") {
            Some((t, x)) if t.starts_with("spec.") => (format!("`{t}`: "), x),
            _ => (String::new(), *what),
        };
        let _ = writeln!(out, "| `{key}` | {target}{} |", cell(text));
    }
    out.push('\n');
    out
}

fn annotations_section() -> String {
    let names = DefaultKind::names();
    let rows = [
        (
            optout::SKIP,
            format!(
                "`\"true\"` (or `all`) leaves the resource alone; a comma-separated list of defaults \
                 skips just those (`probes,resources`). Known defaults: {names}."
            ),
        ),
        (
            optout::SKIP_CONTAINERS,
            "Per container, separated by `;`: a bare name skips every default for that container, \
             `name=d1,d2` only the named ones (`istio-proxy; migrate=probes,resources`)."
                .to_string(),
        ),
        (
            optout::CLASS,
            "Picks the workload's class by name, ahead of every `match` rule. An unknown class is an \
             error result."
                .to_string(),
        ),
        (
            crate::generated::GENERATED,
            "Set by the function on the resources it generates (HPA, PDB, NetworkPolicy), so a \
             second run updates them instead of adding copies. A resource without it is the user's \
             and is never overwritten."
                .to_string(),
        ),
    ];
    let mut out = String::from(
        "## Annotations\n\nOpt-outs are read from the resource's `metadata.annotations` and, for \
         workloads, from the pod template's too (Helm charts often expose only pod annotations). \
         An unknown default name is a warning result, never silently ignored.\n\n\
         | Annotation | Meaning |\n| --- | --- |\n",
    );
    for (key, text) in rows {
        let _ = writeln!(out, "| `{key}` | {} |", cell(&text));
    }
    out.push_str(
        "\n```yaml\nmetadata:\n  annotations:\n    apply-defaults.dev/skip: network-policy\n    \
         apply-defaults.dev/skip-containers: \"istio-proxy; migrate=probes\"\n    \
         apply-defaults.dev/class: backend\n```\n\n",
    );
    out
}

fn profile_section() -> String {
    let shipped = Config::shipped();
    let mut out = String::from(
        "## Shipped profile\n\nThe classes of the shipped profile and what they set per environment. \
         A workload no class matches gets the fallback class ",
    );
    let _ = write!(
        out,
        "`{}`. Change any value through `spec.classes.<class>.environments.<environment>`; \
         `apply-defaults profile` prints the full profile.\n\n",
        shipped.fallback_class
    );
    out.push_str("### How workloads are matched\n\n| Class | Description | Components | Names | Images | Labels |\n| --- | --- | --- | --- | --- | --- |\n");
    for c in shipped.classes.values() {
        let m = &c.spec.matches;
        let mut components = vec![c.name.clone()];
        components.extend(m.components.iter().cloned());
        let labels: Vec<String> = m.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            c.name,
            cell(c.spec.description.as_deref().unwrap_or_default()),
            code_list(&components),
            code_list(&m.names),
            code_list(&m.images),
            code_list(&labels)
        );
    }
    out.push('\n');
    for (env, spec) in &shipped.spec.environments {
        let Ok(config) = Config::from_user_spec(json!({ "environment": env })) else {
            continue;
        };
        let _ = writeln!(out, "### Environment `{env}`\n");
        if let Some(d) = &spec.description {
            let _ = writeln!(out, "{}\n", one_line(d));
        }
        out.push_str("| Class | Replicas | Requests | Limits | HPA | PDB | Spreading |\n| --- | --- | --- | --- | --- | --- | --- |\n");
        for c in config.classes.values() {
            out.push_str(&class_row(c));
        }
        out.push('\n');
    }
    out
}

fn class_row(c: &Class) -> String {
    let e = &c.env;
    let res = |m: Option<&BTreeMap<String, String>>| match m {
        Some(m) if !m.is_empty() => m
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        _ => "–".into(),
    };
    let hpa = match &e.autoscaling {
        None => "–".to_string(),
        Some(a) => {
            let mut s = format!("{}–{}", a.min_replicas, a.max_replicas);
            if let Some(cpu) = a.target_cpu_utilization_percentage {
                let _ = write!(s, ", cpu {cpu}%");
            }
            if let Some(mem) = a.target_memory_utilization_percentage {
                let _ = write!(s, ", memory {mem}%");
            }
            s
        }
    };
    let pdb = match &e.disruption_budget {
        None => "–".to_string(),
        Some(p) => match (&p.max_unavailable, &p.min_available) {
            (Some(v), _) => format!("maxUnavailable {}", plain(v)),
            (_, Some(v)) => format!("minAvailable {}", plain(v)),
            _ => "–".to_string(),
        },
    };
    format!(
        "| `{}` | {} | {} | {} | {} | {} | {} |\n",
        c.name,
        e.replicas.map_or("–".to_string(), |r| r.to_string()),
        res(e.resources.as_ref().map(|r| &r.requests)),
        res(e.resources.as_ref().map(|r| &r.limits)),
        hpa,
        pdb,
        if e.spreading == Some(true) {
            "yes"
        } else {
            "–"
        }
    )
}

fn plain(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

fn code_list(items: &[String]) -> String {
    if items.is_empty() {
        return "–".into();
    }
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Doc comments arrive with their line breaks; a table cell needs one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Escapes what would end a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn anchor(def: &str) -> String {
    def.to_lowercase()
}

/// `classes` -> `class`, `environments` -> `environment`: the placeholder for a map's keys.
fn singular(field: &str) -> String {
    let s = field
        .strip_suffix("sses")
        .map(|s| format!("{s}ss"))
        .or_else(|| field.strip_suffix('s').map(str::to_string))
        .unwrap_or_else(|| field.to_string());
    if s.is_empty() { "name".into() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn repo_file(rel: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
    }

    /// Compares a checked-in generated file with what the code renders; `UPDATE_GOLDEN=1`
    /// (what `scripts/gen-docs.sh` sets) rewrites it instead.
    fn assert_fresh(rel: &str, rendered: &str) {
        let path = repo_file(rel);
        if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
            std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
            std::fs::write(&path, rendered).expect("write");
            return;
        }
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            current == rendered,
            "{rel} is stale: the code documents something else now. Run scripts/gen-docs.sh and \
             commit the result."
        );
    }

    #[test]
    fn reference_file_is_fresh() {
        assert_fresh(REFERENCE_PATH, &reference());
    }

    #[test]
    fn schema_file_is_fresh() {
        assert_fresh(SCHEMA_PATH, &schema_file());
    }

    #[test]
    fn every_field_of_the_schema_is_documented() {
        let text = reference();
        for path in [
            "spec.environment",
            "spec.classes.<class>.environments.<environment>.autoscaling.minReplicas",
            "spec.classes.<class>.match.images",
            "spec.exclude[]",
            "spec.networkPolicy.edges[].from",
            "spec.networkPolicy.monitoring[].ports",
            "spec.results.maxInfo",
        ] {
            assert!(
                text.contains(&format!("`{path}")),
                "{path} missing from the reference"
            );
        }
    }

    #[test]
    fn every_default_knob_and_annotation_is_listed() {
        let text = reference();
        for d in DefaultKind::ALL {
            assert!(
                text.contains(&format!("| `{}` |", d.name())),
                "{}",
                d.name()
            );
        }
        for (key, _) in config::configmap::KEYS {
            assert!(text.contains(&format!("| `{key}` |")), "{key}");
        }
        for a in [
            optout::SKIP,
            optout::SKIP_CONTAINERS,
            optout::CLASS,
            crate::generated::GENERATED,
        ] {
            assert!(text.contains(&format!("| `{a}` |")), "{a}");
        }
    }

    #[test]
    fn profile_tables_cover_each_environment_and_class() {
        let text = reference();
        let shipped = Config::shipped();
        for env in shipped.spec.environments.keys() {
            assert!(text.contains(&format!("### Environment `{env}`")), "{env}");
        }
        // The backend's prod HPA comes from the resolved config, not from a copy.
        let prod = Config::from_user_spec(json!({"environment": "prod"})).unwrap();
        let a = prod.classes["backend"].env.autoscaling.clone().unwrap();
        assert!(text.contains(&format!("{}–{}", a.min_replicas, a.max_replicas)));
    }

    #[test]
    fn stated_defaults_are_read_from_doc_comments() {
        assert_eq!(
            stated_default("Environment, Default: `dev`").as_deref(),
            None
        );
        assert_eq!(
            stated_default("Env. Default: `dev`.").as_deref(),
            Some("`dev`")
        );
        assert_eq!(
            stated_default("UID (default 10001; must be >= 10000)").as_deref(),
            Some("10001")
        );
        assert_eq!(
            stated_default("Most info. Default 200. Warnings").as_deref(),
            Some("200")
        );
        assert_eq!(
            stated_default("`IfHealthyBudget` (default: `AlwaysAllow`, so)").as_deref(),
            Some("`AlwaysAllow`")
        );
        assert_eq!(
            stated_default("By default the function only fills").as_deref(),
            None
        );
        assert_eq!(
            stated_default("Default: pods `k8s-app: kube-dns` in `kube-system`.").as_deref(),
            Some("pods `k8s-app: kube-dns` in `kube-system`")
        );
    }

    #[test]
    fn map_keys_get_readable_placeholders() {
        assert_eq!(singular("classes"), "class");
        assert_eq!(singular("environments"), "environment");
    }
}
