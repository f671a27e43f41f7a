//! The human change report (stderr): a table of what each workload gained (`--report`), and a
//! unified diff against the input (`--diff`). Results on stdout stay the machine-readable form;
//! this is for people, so it is plain text without colour (kpt and CI logs capture stderr).

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::Value;
use similar::TextDiff;

use crate::config::{Config, DefaultKind};
use crate::krm::ResourceRef;
use crate::results::{ChangedResource, Summary};

/// Short column headings, in `DefaultKind::ALL` order.
fn heading(d: DefaultKind) -> &'static str {
    match d {
        DefaultKind::Resources => "RESOURCES",
        DefaultKind::Probes => "PROBES",
        DefaultKind::Security => "SECURITY",
        DefaultKind::Replicas => "REPLICAS",
        DefaultKind::Autoscaling => "HPA",
        DefaultKind::DisruptionBudget => "PDB",
        DefaultKind::Spreading => "SPREAD",
        DefaultKind::NetworkPolicy => "NETPOL",
    }
}

/// The default a generated resource of this kind belongs to.
fn default_of_generated(kind: &str) -> Option<DefaultKind> {
    match kind {
        "HorizontalPodAutoscaler" => Some(DefaultKind::Autoscaling),
        "PodDisruptionBudget" => Some(DefaultKind::DisruptionBudget),
        "NetworkPolicy" => Some(DefaultKind::NetworkPolicy),
        _ => None,
    }
}

/// One workload's line: fields set per default, resources generated for it.
struct Row<'a> {
    changed: &'a ChangedResource,
    fields: [usize; DefaultKind::ALL.len()],
    generated: Vec<&'a ResourceRef>,
}

/// What the run was configured by, for the report's first line: which environment applied,
/// and from where (a user who forgot `environment=prod` sees `dev (the default)` there).
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub config: &'a Config,
    /// Where the config came from: `functionConfig ConfigMap/function-input`, `--config prod.yaml`,
    /// `none: the shipped profile`.
    pub origin: String,
    /// The config set the environment (else the default applied).
    pub environment_set: bool,
}

impl Context<'_> {
    fn header(&self) -> String {
        let env = &self.config.environment;
        let why = if self.environment_set {
            "set by the config".to_string()
        } else {
            "the default: the config sets none; set `spec.environment`, or `environment` in the ConfigMap form".to_string()
        };
        format!(
            "apply-defaults: environment `{env}` ({why}); config: {}\n",
            self.origin
        )
    }
}

/// Why a workload's HPA or PDB column is empty: the run's own "no ..." info result about it
/// (one replica, a user's budget already selects the pods), else the class having none in this
/// environment. Kinds that never get them (Jobs, DaemonSets, Pods) say nothing: the README says
/// which kinds get which defaults.
fn empty_column_notes(
    summary: &Summary,
    ctx: &Context,
    row: &Row,
    column_empty: impl Fn(DefaultKind) -> bool,
) -> Vec<String> {
    let r = &row.changed.resource;
    let mut notes = Vec::new();
    let item = serde_json::json!({"apiVersion": r.api_version, "kind": r.kind});
    let Some(kind) = crate::workload::kind_of(&item, &ctx.config.workload_kinds) else {
        return notes;
    };
    if kind.runs_to_completion() || kind.replicas_path.is_none() {
        return notes;
    }
    let class = row
        .changed
        .class
        .as_deref()
        .and_then(|c| ctx.config.class(c));
    for (d, generated_kind) in [
        (DefaultKind::Autoscaling, "HorizontalPodAutoscaler"),
        (DefaultKind::DisruptionBudget, "PodDisruptionBudget"),
    ] {
        if !column_empty(d) || !ctx.config.applies(d) {
            continue;
        }
        let said = summary.results.iter().find(|x| {
            x.resource_ref.as_ref() == Some(r)
                && x.message.starts_with(&format!("no {generated_kind}"))
        });
        if let Some(x) = said {
            notes.push(x.message.clone());
            continue;
        }
        let Some(class) = class else { continue };
        let has = match d {
            DefaultKind::Autoscaling => class.env.autoscaling.is_some(),
            _ => class.env.disruption_budget.is_some(),
        };
        if !has {
            let field = match d {
                DefaultKind::Autoscaling => "autoscaling",
                _ => "disruptionBudget",
            };
            notes.push(format!(
                "no {generated_kind}: class `{}` has no `{field}` in environment `{}`",
                class.name, ctx.config.environment
            ));
        }
    }
    notes
}

/// A table of what was added per workload: one column per default with the number of fields
/// set (✓ when a resource was generated for it), the class, and the generated resources listed
/// under the workload they were made for; first the environment and config that applied, and
/// under a workload why its HPA or PDB column is empty; last the Services with no visible caller.
pub fn table(summary: &Summary, ctx: &Context) -> String {
    let mut out = ctx.header();
    out.push_str(&rows_table(summary, ctx));
    out.push_str(&uncalled(summary));
    out
}

/// The Services with no visible caller, one a line, so none is missed.
fn uncalled(summary: &Summary) -> String {
    if summary.uncalled_services.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "{} Service{} with no visible caller (see the warnings on each for what its pods accept; declare callers under spec.networkPolicy.edges):\n",
        summary.uncalled_services.len(),
        plural(summary.uncalled_services.len())
    );
    for s in &summary.uncalled_services {
        let _ = writeln!(out, "  ! {s}");
    }
    out
}

fn rows_table(summary: &Summary, ctx: &Context) -> String {
    if summary.changed.is_empty() {
        return "apply-defaults: nothing to change\n".to_string();
    }
    let mut rows: Vec<Row> = Vec::new();
    // Owners by (namespace, name), so attributing a generated resource is a lookup, not a scan.
    let mut owner_of: HashMap<(&str, &str), usize> = HashMap::new();
    for c in summary.changed.iter().filter(|c| !c.generated) {
        let mut fields = [0; DefaultKind::ALL.len()];
        for ch in &c.changes {
            fields[column(ch.default)] += 1;
        }
        owner_of
            .entry((
                c.resource.namespace.as_deref().unwrap_or_default(),
                &c.resource.name,
            ))
            .or_insert(rows.len());
        rows.push(Row {
            changed: c,
            fields,
            generated: Vec::new(),
        });
    }
    let mut unowned: Vec<&ResourceRef> = Vec::new();
    for c in summary.changed.iter().filter(|c| c.generated) {
        match owner(&owner_of, &c.resource) {
            Some(i) => rows[i].generated.push(&c.resource),
            None => unowned.push(&c.resource),
        }
    }

    let mut header: Vec<String> = vec!["WORKLOAD".into(), "CLASS".into()];
    header.extend(DefaultKind::ALL.map(|d| heading(d).to_string()));
    let mut lines: Vec<Vec<String>> = vec![header];
    for r in &rows {
        let mut line = vec![
            r.changed.resource.display(),
            r.changed.class.clone().unwrap_or_else(|| "-".into()),
        ];
        for d in DefaultKind::ALL {
            let n = r.fields[column(d)];
            let made = r
                .generated
                .iter()
                .any(|g| default_of_generated(&g.kind) == Some(d));
            line.push(match (n, made) {
                (0, false) => "-".into(),
                (0, true) => "✓".into(),
                (n, false) => n.to_string(),
                (n, true) => format!("{n}+✓"),
            });
        }
        lines.push(line);
    }
    let widths = column_widths(&lines);

    let mut out = String::new();
    // Only generated resources (e.g. an HPA for a workload that needed nothing else): a header
    // over no rows would read as an empty, broken table.
    let shown = if rows.is_empty() {
        &lines[..0]
    } else {
        &lines[..]
    };
    for (i, line) in shown.iter().enumerate() {
        let text: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:w$}"))
            .collect();
        let _ = writeln!(out, "{}", text.join("  ").trim_end());
        if i > 0 {
            let row = &rows[i - 1];
            for g in &row.generated {
                let _ = writeln!(out, "  + {}", g.display());
            }
            let empty = |d: DefaultKind| line[2 + column(d)] == "-";
            for note in empty_column_notes(summary, ctx, row, empty) {
                let _ = writeln!(out, "  - {note}");
            }
        }
    }
    if !unowned.is_empty() {
        out.push_str("generated:\n");
        for g in &unowned {
            let _ = writeln!(out, "  + {}", g.display());
        }
    }
    out.push_str(&totals(summary, rows.len()));
    out
}

/// The widest cell of each column.
fn column_widths(lines: &[Vec<String>]) -> Vec<usize> {
    (0..lines[0].len())
        .map(|col| {
            lines
                .iter()
                .map(|l| l[col].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect()
}

/// The table's closing line: how many workloads changed (or would) and resources were made.
fn totals(summary: &Summary, w: usize) -> String {
    let g = summary.changed.iter().filter(|c| c.generated).count();
    if is_check(summary) {
        format!(
            "check mode, nothing was changed: {w} workload{} with missing defaults, {g} resource{} missing \
             (numbers: fields missing; ✓: resource missing)\n",
            plural(w),
            plural(g)
        )
    } else {
        format!(
            "{w} workload{} changed, {g} resource{} generated (numbers: fields set; ✓: resource generated)\n",
            plural(w),
            plural(g)
        )
    }
}

/// Check mode reports each change it would have made as an error result marked "(check mode)";
/// the summary carries no mode of its own, and the table must not claim changes that were not
/// made.
fn is_check(summary: &Summary) -> bool {
    summary
        .results
        .iter()
        .any(|r| r.is_error() && r.message.ends_with("(check mode)"))
}

fn column(d: DefaultKind) -> usize {
    DefaultKind::ALL
        .iter()
        .position(|k| *k == d)
        .expect("ALL lists every default")
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The workload a generated resource was made for: same namespace, and a name equal to the
/// workload's or the workload's name followed by `-suffix` (the longest such name wins).
fn owner(owners: &HashMap<(&str, &str), usize>, generated: &ResourceRef) -> Option<usize> {
    let ns = generated.namespace.as_deref().unwrap_or_default();
    let name = generated.name.as_str();
    if let Some(i) = owners.get(&(ns, name)) {
        return Some(*i);
    }
    name.rmatch_indices('-')
        .find_map(|(at, _)| owners.get(&(ns, &name[..at])).copied())
}

/// A unified diff (3 lines of context) of every changed or generated item against the input,
/// by YAML text. Secret values are redacted on both sides.
pub fn diff(before: &[Value], after: &[Value]) -> String {
    let mut out = String::new();
    // The pipeline keeps every input item at its position and appends generated ones, so items
    // pair by position (by identity, two nameless items would be paired with each other).
    for (i, item) in after.iter().enumerate().filter(|(_, v)| v.is_object()) {
        let old = before.get(i);
        if old == Some(item) {
            continue;
        }
        let name = ResourceRef::of(item).display();
        let old_text = old.map(|v| yaml_text(&redacted(v))).unwrap_or_default();
        let new_text = yaml_text(&redacted(item));
        let (from, to) = match old {
            Some(_) => (format!("a/{name}"), format!("b/{name}")),
            None => ("/dev/null".to_string(), format!("b/{name}")),
        };
        let diff = TextDiff::from_lines(&old_text, &new_text);
        let _ = write!(
            out,
            "{}",
            diff.unified_diff().context_radius(3).header(&from, &to)
        );
    }
    out
}

fn yaml_text(v: &Value) -> String {
    let mut text = crate::krm::yaml::to_string(v)
        .unwrap_or_else(|e| format!("# not printable as YAML: {e}\n"));
    // A last line without a newline would print "\ No newline at end of file" noise.
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// A copy of the item with the values of a Secret's `data` and `stringData` replaced, so a
/// diff pasted into a ticket or a CI log never carries credentials. Keys stay visible.
fn redacted(item: &Value) -> std::borrow::Cow<'_, Value> {
    if item["kind"] != "Secret" {
        return std::borrow::Cow::Borrowed(item);
    }
    let mut copy = item.clone();
    for field in ["data", "stringData"] {
        if let Some(map) = copy.get_mut(field).and_then(Value::as_object_mut) {
            for v in map.values_mut() {
                *v = Value::String("(redacted)".into());
            }
        }
    }
    std::borrow::Cow::Owned(copy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defaults::Change;
    use serde_json::json;

    fn workload(name: &str, class: &str, changes: &[(DefaultKind, &str)]) -> ChangedResource {
        ChangedResource {
            resource: ResourceRef::of(&json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "namespace": "shop"}})),
            class: Some(class.into()),
            changes: changes
                .iter()
                .map(|(d, p)| Change {
                    default: *d,
                    path: (*p).into(),
                    value: json!(1),
                })
                .collect(),
            generated: false,
            file: None,
        }
    }

    fn ctx(config: &Config) -> Context<'_> {
        Context {
            config,
            origin: "functionConfig ConfigMap/function-input".into(),
            environment_set: false,
        }
    }

    fn generated(kind: &str, name: &str) -> ChangedResource {
        ChangedResource {
            resource: ResourceRef::of(&json!({"apiVersion": "x/v1", "kind": kind,
                "metadata": {"name": name, "namespace": "shop"}})),
            class: None,
            changes: Vec::new(),
            generated: true,
            file: None,
        }
    }

    #[test]
    fn table_counts_fields_per_default_and_lists_generated_under_owner() {
        let summary = Summary {
            changed: vec![
                workload(
                    "api",
                    "backend",
                    &[
                        (DefaultKind::Resources, "a"),
                        (DefaultKind::Resources, "b"),
                        (DefaultKind::Replicas, "spec.replicas"),
                    ],
                ),
                workload("api-worker", "default", &[(DefaultKind::Security, "s")]),
                generated("HorizontalPodAutoscaler", "api"),
                generated("NetworkPolicy", "api-worker-ingress"),
                generated("NetworkPolicy", "default-deny"),
            ],
            results: Vec::new(),
            uncalled_services: Vec::new(),
        };
        let text = rows_table(&summary, &ctx(&Config::shipped()));
        let expected = "\
WORKLOAD                    CLASS    RESOURCES  PROBES  SECURITY  REPLICAS  HPA  PDB  SPREAD  NETPOL
Deployment/shop/api         backend  2          -       -         1         ✓    -    -       -
  + HorizontalPodAutoscaler/shop/api
  - no PodDisruptionBudget: class `backend` has no `disruptionBudget` in environment `dev`
Deployment/shop/api-worker  default  -          -       1         -         -    -    -       ✓
  + NetworkPolicy/shop/api-worker-ingress
  - no HorizontalPodAutoscaler: class `default` has no `autoscaling` in environment `dev`
  - no PodDisruptionBudget: class `default` has no `disruptionBudget` in environment `dev`
generated:
  + NetworkPolicy/shop/default-deny
2 workloads changed, 3 resources generated (numbers: fields set; ✓: resource generated)
";
        assert_eq!(text, expected, "\n{text}");
    }

    #[test]
    fn says_which_environment_and_config_and_why_a_column_is_empty() {
        let prod = Config::load(Some(&json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "function-input"}, "data": {"environment": "prod"}})))
        .unwrap();
        let api = workload("api", "backend", &[(DefaultKind::Resources, "a")]);
        let summary = Summary {
            results: vec![
                crate::krm::FnResult::info(
                    "no PodDisruptionBudget: the workload runs 1 replica, and a budget cannot keep a single pod available through a drain; run 2 or more replicas for availability",
                )
                .about(&json!({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": "api", "namespace": "shop"}})),
            ],
            changed: vec![api, generated("HorizontalPodAutoscaler", "api")],
            ..Default::default()
        };
        let context = Context {
            environment_set: true,
            ..ctx(&prod)
        };
        let text = table(&summary, &context);
        assert!(
            text.starts_with(
                "apply-defaults: environment `prod` (set by the config); config: functionConfig ConfigMap/function-input\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("\n  - no PodDisruptionBudget: the workload runs 1 replica"),
            "{text}"
        );
        // The HPA was generated: its column is not empty, so nothing is said about it.
        assert!(!text.contains("no HorizontalPodAutoscaler"), "{text}");

        let dev = Config::shipped();
        let text = table(&Summary::default(), &ctx(&dev));
        assert_eq!(
            text,
            "apply-defaults: environment `dev` (the default: the config sets none; set \
             `spec.environment`, or `environment` in the ConfigMap form); config: functionConfig \
             ConfigMap/function-input\napply-defaults: nothing to change\n"
        );
    }

    #[test]
    fn check_mode_does_not_claim_changes() {
        let summary = Summary {
            changed: vec![workload("api", "backend", &[(DefaultKind::Probes, "p")])],
            results: vec![crate::krm::FnResult::error(
                "missing probes default (check mode)",
            )],
            uncalled_services: Vec::new(),
        };
        let text = rows_table(&summary, &ctx(&Config::shipped()));
        assert!(text.ends_with("check mode, nothing was changed: 1 workload with missing defaults, 0 resources missing (numbers: fields missing; ✓: resource missing)\n"), "{text}");
    }

    #[test]
    fn uncalled_services_are_listed_even_when_nothing_changed() {
        let summary = Summary {
            uncalled_services: vec!["billing/audit".into(), "ops/metrics".into()],
            ..Default::default()
        };
        let text = table(&summary, &ctx(&Config::shipped()));
        // After the environment header.
        assert!(
            text.contains("\napply-defaults: nothing to change\n2 Services with no visible caller"),
            "{text}"
        );
        assert!(
            text.ends_with("  ! billing/audit\n  ! ops/metrics\n"),
            "{text}"
        );
    }

    #[test]
    fn only_generated_resources_print_no_empty_table() {
        let summary = Summary {
            changed: vec![generated("HorizontalPodAutoscaler", "api")],
            results: Vec::new(),
            uncalled_services: Vec::new(),
        };
        assert_eq!(
            rows_table(&summary, &ctx(&Config::shipped())),
            "generated:\n  + HorizontalPodAutoscaler/shop/api\n0 workloads changed, 1 resource generated \
             (numbers: fields set; ✓: resource generated)\n"
        );
    }

    #[test]
    fn nothing_changed_says_so() {
        assert_eq!(
            rows_table(&Summary::default(), &ctx(&Config::shipped())),
            "apply-defaults: nothing to change\n"
        );
    }

    #[test]
    fn diff_has_hunks_with_context_and_new_files_from_dev_null() {
        let mut before = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"},
            "spec": {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "i": 9}});
        let mut after = before.clone();
        after["spec"]["i"] = json!(10);
        let hpa = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "api"}});
        before["spec"]["a"] = json!(1);
        let text = diff(std::slice::from_ref(&before), &[after, hpa]);
        assert!(
            text.starts_with("--- a/Deployment/api\n+++ b/Deployment/api\n@@ "),
            "{text}"
        );
        assert!(text.contains("-  i: 9\n+  i: 10\n"), "{text}");
        assert!(
            !text.contains("  a: 1"),
            "context is limited to 3 lines:\n{text}"
        );
        assert!(
            text.contains("--- /dev/null\n+++ b/HorizontalPodAutoscaler/api\n"),
            "{text}"
        );
    }

    #[test]
    fn diff_never_shows_secret_values() {
        let before = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
            "data": {"password": "aHVudGVyMg=="}, "stringData": {"token": "s3cr3t"}});
        let mut after = before.clone();
        after["metadata"]["labels"] = json!({"a": "b"});
        let text = diff(&[before], &[after]);
        assert!(
            !text.contains("aHVudGVyMg") && !text.contains("s3cr3t"),
            "{text}"
        );
        assert!(text.contains("password: (redacted)"), "{text}");
    }

    #[test]
    fn unchanged_items_are_not_in_the_diff() {
        let item = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api"}});
        assert_eq!(
            diff(std::slice::from_ref(&item), std::slice::from_ref(&item)),
            ""
        );
    }
}
