//! Replica counts per environment, and the fewest pods a workload runs once the defaults are
//! in (what the disruption budget and spreading read). Who owns the count is decided once per
//! run in the model ([`crate::model::scaling`]).

use serde_json::Value;

use super::{Outcome, WorkloadCtx};
use crate::config::DefaultKind;
use crate::model::Autoscaler;
use crate::workload;

const D: DefaultKind = DefaultKind::Replicas;

pub fn apply(ctx: &WorkloadCtx, item: &mut Value, out: &mut Outcome) {
    let scaling = &ctx.workload.scaling;
    let Some(path) = &scaling.replicas_path else {
        return;
    };
    if !ctx.wants(D) || scaling.autoscaler != Autoscaler::None {
        // An HPA owns the count: a value in the manifest would fight it.
        return;
    }
    let Some(wanted) = ctx.class.env.replicas else {
        return;
    };
    let dotted = path.join(".");
    if wanted > 1 && workload::get_path(item, path).is_none_or(Value::is_null) {
        if let Some(why) = &scaling.singleton {
            // A second pod would wait forever for the claim, or Recreate says the program
            // cannot run twice: one pod is what the manifest asks for.
            out.results.push(ctx.info(
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

/// The fewest pods the workload runs once the defaults are in: the HPA's lower bound when an
/// HPA scales it, else its replica count (absent: 1, the API server's default).
pub(super) fn min_pods(ctx: &WorkloadCtx, item: &Value) -> i64 {
    let scaling = &ctx.workload.scaling;
    match &scaling.autoscaler {
        Autoscaler::User { min_replicas, .. } => *min_replicas,
        Autoscaler::Generated => ctx
            .class
            .env
            .autoscaling
            .as_ref()
            .map_or(1, |s| i64::from(s.min_replicas)),
        Autoscaler::None => scaling
            .replicas_path
            .as_ref()
            .and_then(|p| workload::get_path(item, p))
            .and_then(Value::as_i64)
            .unwrap_or(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defaults::testing::*;
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
        let mut d = deployment("b", json!({"replicas": 1}));
        let pods = |class: &str, d: &mut Value| {
            let n = std::cell::Cell::new(0);
            run(&prod, class, d, &[], None, |ctx, item, _| {
                n.set(min_pods(ctx, item))
            });
            n.get()
        };
        assert_eq!(pods("backend", &mut d), 2);
        assert_eq!(pods("postgres", &mut d), 1);
    }
}
