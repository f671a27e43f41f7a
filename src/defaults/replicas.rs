//! Replica counts per environment, and what the availability defaults (autoscaling,
//! disruption budget, spreading) need to know about a workload's scale: who owns the replica
//! count and how many pods run at least.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{Outcome, WorkloadCtx};
use crate::config::{AutoscalingSettings, DefaultKind};
use crate::krm::FnResult;
use crate::workload;

const D: DefaultKind = DefaultKind::Replicas;

pub fn apply(ctx: &WorkloadCtx, item: &mut Value, out: &mut Outcome) {
    let Some(path) = scalable(ctx) else { return };
    if !ctx.wants(D) || autoscaler(ctx, item) != Autoscaler::None {
        // An HPA owns the count: a value in the manifest would fight it.
        return;
    }
    let Some(wanted) = ctx.class.env.replicas else {
        return;
    };
    let dotted = path.join(".");
    if wanted > 1 && workload::get_path(item, path).is_none_or(Value::is_null) {
        if let Some(why) = singleton(ctx, item) {
            // A second pod would wait forever for the claim, or Recreate says the program
            // cannot run twice: one pod is what the manifest asks for.
            out.results.push(info(
                ctx,
                &format!("{dotted} not set to {wanted}: {why}, so the workload runs 1 pod"),
                &format!(
                    "{dotted} would not be set to {wanted}: {why}, so the workload runs 1 pod"
                ),
            ));
            return;
        }
    }
    let current = workload::get_path(item, path);
    match current {
        // A null count is an unset one (the API server treats it so).
        None | Some(Value::Null) => {}
        Some(v) if v.as_i64() == Some(i64::from(wanted)) => return,
        Some(_) if ctx.enforces(D) => {}
        Some(v) if v.as_i64().is_some() => return,
        Some(v) => {
            out.warn(format!(
                "{dotted} is {v}, not a whole number; left as written (the API server rejects it)"
            ));
            return;
        }
    }
    let Some((last, parent)) = path.split_last() else {
        return;
    };
    let Some(parent) = workload::get_path_mut(item, parent).and_then(Value::as_object_mut) else {
        out.warn(format!(
            "{dotted}: a parent field is not a mapping; no replica count set"
        ));
        return;
    };
    if parent.contains_key(last) {
        parent.insert(last.clone(), Value::from(wanted));
    } else {
        // Where people write it: first in the spec, above the selector and the template.
        parent.shift_insert(0, last.clone(), Value::from(wanted));
    }
    out.set(D, dotted, Value::from(wanted));
}

/// The replica path of a workload that can carry replicas, HPAs, PDBs and spreading: kinds
/// with a replica count that are not run-to-completion (so no DaemonSet, Job, CronJob or Pod).
pub(super) fn scalable<'k>(ctx: &WorkloadCtx<'k>) -> Option<&'k [String]> {
    if ctx.kind.runs_to_completion() {
        return None;
    }
    ctx.kind.replicas_path.as_deref()
}

/// Who sets the workload's replica count besides its manifest.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Autoscaler<'a> {
    /// Nobody: the count in the manifest (or the API default of 1) applies.
    None,
    /// A HorizontalPodAutoscaler the user wrote.
    User { name: String, min_replicas: i64 },
    /// The HPA this function generates from the class settings.
    Generated(&'a AutoscalingSettings),
}

/// Decides the workload's autoscaler. The user's HPA counts even when the autoscaling default
/// is switched off, since it scales the workload either way.
pub(super) fn autoscaler<'a>(ctx: &WorkloadCtx<'a>, item: &Value) -> Autoscaler<'a> {
    if scalable(ctx).is_none() {
        return Autoscaler::None;
    }
    let (ns, name) = identity(item);
    if let Some(hpa) = ctx.inventory.user_hpa(&ctx.kind.kind, ns, name) {
        return Autoscaler::User {
            name: hpa.name.clone(),
            min_replicas: hpa.min_replicas,
        };
    }
    match &ctx.class.env.autoscaling {
        Some(s)
            if ctx.wants(DefaultKind::Autoscaling)
                && !hpa_name_taken(ctx, item)
                && hpa_blocker(ctx, item).is_none() =>
        {
            Autoscaler::Generated(s)
        }
        _ => Autoscaler::None,
    }
}

/// Why a workload runs one pod by design: `strategy: Recreate` (the program must not run
/// twice, usually over one volume) or a claim in the input that only one node can mount.
pub(super) fn singleton(ctx: &WorkloadCtx, item: &Value) -> Option<String> {
    if item["spec"]["strategy"]["type"] == "Recreate" {
        return Some("it uses strategy Recreate".into());
    }
    let (ns, _) = identity(item);
    let spec = workload::pod_spec(item, ctx.kind)?;
    spec["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["persistentVolumeClaim"]["claimName"].as_str())
        .find(|c| {
            ctx.inventory
                .single_node_claims
                .contains(&(ns.to_string(), c.to_string()))
        })
        .map(|c| format!("it mounts the ReadWriteOnce claim {c}"))
}

/// The count the user wrote in the manifest, if any. Read before the replicas default runs
/// (which leaves the field alone whenever an HPA is generated), so it is the user's.
pub(super) fn written_replicas(ctx: &WorkloadCtx, item: &Value) -> Option<i64> {
    scalable(ctx)
        .and_then(|p| workload::get_path(item, p))
        .and_then(Value::as_i64)
}

/// What keeps the class's generated HPA off this workload: a singleton signal always, a
/// written replica count unless `enforce` names autoscaling.
pub(super) fn hpa_blocker(ctx: &WorkloadCtx, item: &Value) -> Option<String> {
    if let Some(why) = singleton(ctx, item) {
        return Some(format!("{why}, so it runs one pod by design"));
    }
    match written_replicas(ctx, item) {
        Some(n) if !ctx.enforces(DefaultKind::Autoscaling) => Some(format!(
            "spec.replicas is {n} as written and the user's count wins (remove spec.replicas, or set \
             enforce: [autoscaling], to get one)"
        )),
        _ => None,
    }
}

/// The user wrote an HPA with the name the generated one would get, for another workload: the
/// pipeline would keep theirs, and this workload would be left with no HPA and no count.
pub(super) fn hpa_name_taken(ctx: &WorkloadCtx, item: &Value) -> bool {
    let (ns, name) = identity(item);
    ctx.inventory.has_user_hpa_named(ns, name)
}

/// The fewest pods the workload runs once the defaults are in: the HPA's lower bound when an
/// HPA scales it, else its replica count (absent: 1, the API server's default).
pub(super) fn min_pods(ctx: &WorkloadCtx, item: &Value) -> i64 {
    match autoscaler(ctx, item) {
        Autoscaler::User { min_replicas, .. } => min_replicas,
        Autoscaler::Generated(s) => i64::from(s.min_replicas),
        Autoscaler::None => scalable(ctx)
            .and_then(|p| workload::get_path(item, p))
            .and_then(Value::as_i64)
            .unwrap_or(1),
    }
}

/// Namespace (empty when unset) and name of an item.
pub(super) fn identity(item: &Value) -> (&str, &str) {
    let m = &item["metadata"];
    (
        m["namespace"].as_str().unwrap_or_default(),
        m["name"].as_str().unwrap_or_default(),
    )
}

/// The workload's own `app.kubernetes.io/*` labels, for the resources generated for it (other
/// labels may carry meaning, such as selectors of other tools, that must not spread).
pub(super) fn recommended_labels(item: &Value) -> Option<BTreeMap<String, String>> {
    let labels: BTreeMap<String, String> = item["metadata"]["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.starts_with("app.kubernetes.io/"))
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect();
    (!labels.is_empty()).then_some(labels)
}

/// The pod labels as a string map, when there are any (non-string values are left out: a
/// selector cannot use them).
pub(super) fn pod_label_map(item: &Value, ctx: &WorkloadCtx) -> Option<BTreeMap<String, String>> {
    let labels: BTreeMap<String, String> = workload::pod_labels(item, ctx.kind)
        .into_iter()
        .flat_map(Map::iter)
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect();
    (!labels.is_empty()).then_some(labels)
}

/// A generated resource as people write one: `name` and `namespace` first in its metadata
/// (k8s-openapi serializes fields alphabetically), then marked as generated beside its owner.
pub(super) fn finish_generated(mut v: Value, owner: &Value, kind: &str, name: &str) -> Value {
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for (i, key) in ["name", "namespace"].into_iter().enumerate() {
            if let Some(value) = meta.shift_remove(key) {
                meta.shift_insert(i.min(meta.len()), key.to_string(), value);
            }
        }
    }
    crate::generated::mark_generated(
        &mut v,
        &crate::generated::generated_path(Some(owner), kind, name),
    );
    v
}

/// An info result, in the words of what a check run would do instead.
pub(super) fn info(ctx: &WorkloadCtx, done: &str, would: &str) -> FnResult {
    match ctx.config.mode {
        crate::config::Mode::Check => FnResult::info(would.to_string()),
        crate::config::Mode::Apply => FnResult::info(done.to_string()),
    }
}

#[cfg(test)]
pub(super) mod testing {
    //! A workload context over a real resolved config, for the unit tests of this module and
    //! its siblings.

    use serde_json::{Value, json};

    use crate::config::{Config, DefaultKind};
    use crate::defaults::{Outcome, WorkloadCtx};
    use crate::inventory::Inventory;
    use crate::optout::OptOut;

    pub fn config(env: &str, enforce: &[DefaultKind]) -> Config {
        let enforce: Vec<&str> = enforce.iter().map(|d| d.name()).collect();
        Config::load(Some(
            &json!({"apiVersion": "apply-defaults.dev/v1alpha1", "kind": "ApplyDefaults",
            "spec": {"environment": env, "enforce": enforce}}),
        ))
        .expect("valid config")
    }

    pub fn deployment(name: &str, spec: Value) -> Value {
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "ns", "labels": {"app.kubernetes.io/name": name, "team": "x"}},
            "spec": {"selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "app", "image": "app:1",
                    "resources": {"requests": {"cpu": "100m"}}}]}}}});
        if let (Some(d), Some(extra)) = (d["spec"].as_object_mut(), spec.as_object()) {
            d.extend(extra.clone());
        }
        d
    }

    /// Runs `f` on the item with the class `class` of `config`, the given other input items and
    /// opt-out annotations.
    pub fn run(
        config: &Config,
        class: &str,
        item: &mut Value,
        others: &[Value],
        skip: Option<&str>,
        f: impl Fn(&WorkloadCtx, &mut Value, &mut Outcome),
    ) -> Outcome {
        let mut all = others.to_vec();
        all.push(item.clone());
        let inventory = Inventory::build(&all);
        let kind = crate::workload::kind_of(item, &[]).expect("a workload");
        let ann = skip.map(|s| json!({crate::optout::SKIP: s}));
        let opt_out = OptOut::read(&[ann.as_ref()]);
        let ctx = WorkloadCtx {
            config,
            class: &config.classes[class],
            kind: &kind,
            opt_out: &opt_out,
            inventory: &inventory,
        };
        let mut out = Outcome::default();
        f(&ctx, item, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn fills_the_class_count_and_keeps_the_users() {
        let c = config("dev", &[]);
        let mut d = deployment("api-backend", json!({}));
        let out = run(&c, "backend", &mut d, &[], None, apply);
        assert_eq!(d["spec"]["replicas"], 2);
        assert_eq!(out.changes[0].path, "spec.replicas");
        let mut mine = deployment("api-backend", json!({"replicas": 4}));
        let out = run(&c, "backend", &mut mine, &[], None, apply);
        assert_eq!(mine["spec"]["replicas"], 4);
        assert!(out.changes.is_empty());
    }

    #[test]
    fn enforce_overwrites_the_count() {
        let c = config("dev", &[DefaultKind::Replicas]);
        let mut d = deployment("b", json!({"replicas": 7}));
        run(&c, "backend", &mut d, &[], None, apply);
        assert_eq!(d["spec"]["replicas"], 2);
    }

    #[test]
    fn an_hpa_owns_the_count() {
        let prod = config("prod", &[DefaultKind::Replicas]);
        let mut d = deployment("b", json!({}));
        run(&prod, "backend", &mut d, &[], None, apply);
        assert!(
            d["spec"].get("replicas").is_none(),
            "the generated HPA scales it"
        );
        let hpa = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "x", "namespace": "ns"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "b"}, "maxReplicas": 3}});
        let dev = config("dev", &[]);
        let mut d = deployment("b", json!({}));
        run(&dev, "backend", &mut d, &[hpa], None, apply);
        assert!(
            d["spec"].get("replicas").is_none(),
            "the user's HPA scales it"
        );
    }

    #[test]
    fn a_non_number_is_reported_not_replaced() {
        let c = config("dev", &[]);
        let mut unset = deployment("b", json!({"replicas": null}));
        run(&c, "backend", &mut unset, &[], None, apply);
        assert_eq!(unset["spec"]["replicas"], 2, "null is unset");
        let mut half = deployment("b", json!({"replicas": 1.5}));
        let out = run(&c, "backend", &mut half, &[], None, apply);
        assert_eq!(out.results.len(), 1);
        let mut d = deployment("b", json!({"replicas": "three"}));
        let out = run(&c, "backend", &mut d, &[], None, apply);
        assert_eq!(d["spec"]["replicas"], "three");
        assert!(
            out.results[0].message.contains("not a whole number"),
            "{:?}",
            out.results
        );
    }

    #[test]
    fn min_pods_follows_the_autoscaler() {
        // Under enforce the HPA takes over the written count; without it the count wins.
        let prod = config("prod", &[DefaultKind::Autoscaling]);
        let d = deployment("b", json!({"replicas": 1}));
        let inventory = Inventory::build(std::slice::from_ref(&d));
        let kind = crate::workload::kind_of(&d, &[]).unwrap();
        let opt_out = crate::optout::OptOut::default();
        let ctx = WorkloadCtx {
            config: &prod,
            class: &prod.classes["backend"],
            kind: &kind,
            opt_out: &opt_out,
            inventory: &inventory,
        };
        assert_eq!(min_pods(&ctx, &d), 2);
        let ctx = WorkloadCtx {
            class: &prod.classes["postgres"],
            ..ctx
        };
        assert_eq!(min_pods(&ctx, &d), 1);
    }

    use crate::inventory::Inventory;
}
