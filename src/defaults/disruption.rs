//! PodDisruptionBudgets for workloads that run more than one pod, so node drains and cluster
//! upgrades take them down one pod at a time. Never a zero-disruption budget (validation
//! refuses one: it blocks drains), and `unhealthyPodEvictionPolicy` always set (default
//! `AlwaysAllow`, so pods that are not ready anyway never block a drain).

use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::{Outcome, WorkloadCtx};
use super::{companions, replicas};
use crate::config::{DefaultKind, DisruptionBudgetSettings};
use crate::krm::FnResult;
use crate::workload;

const D: DefaultKind = DefaultKind::DisruptionBudget;
const KIND: &str = "PodDisruptionBudget";

pub fn apply(ctx: &WorkloadCtx, item: &mut Value, out: &mut Outcome) {
    if ctx.scalable().is_none() || !ctx.wants(D) {
        return;
    }
    let Some(settings) = &ctx.class.env.disruption_budget else {
        return;
    };
    let pods = replicas::min_pods(ctx, item);
    if pods == 0 {
        // Switched off on purpose: there is nothing to keep available.
        return;
    }
    if pods == 1 {
        out.results.push(FnResult::info(format!(
            "no {KIND}: the workload runs 1 replica, and a budget cannot keep a single pod available through a drain; \
             run 2 or more replicas for availability"
        )));
        return;
    }
    let (ns, _) = crate::object::identity(item);
    if let Some(labels) = workload::pod_labels(item, ctx.kind()) {
        if let Some(theirs) = ctx.model.scaling.pdbs.selecting(ns, labels) {
            // The eviction API refuses to evict a pod that two budgets select.
            out.results.push(FnResult::info(format!(
                "no {KIND} generated: the user's {KIND}/{theirs} already selects these pods"
            )));
            return;
        }
    }
    let Some(selector) = selector(ctx, item) else {
        out.warn(format!(
            "no {KIND}: the pod template has no labels to select its pods by; add labels to {}.metadata.labels",
            ctx.kind().template_path.join(".")
        ));
        return;
    };
    out.generated.push(build(item, settings, selector));
}

/// The pods the workload counts as its own: its `spec.selector` when it is a label selector
/// (the controller's own definition, stable across rollouts), else the pod-template labels.
fn selector(ctx: &WorkloadCtx, item: &Value) -> Option<LabelSelector> {
    let parsed = item["spec"]
        .get("selector")
        .filter(|s| s.get("matchLabels").is_some() || s.get("matchExpressions").is_some())
        .and_then(|s| serde_json::from_value::<LabelSelector>(s.clone()).ok());
    if parsed.is_some() {
        return parsed;
    }
    companions::pod_label_map(item, ctx).map(|labels| LabelSelector {
        match_labels: Some(labels),
        ..Default::default()
    })
}

fn int_or_string(v: &Value) -> Option<IntOrString> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .map(IntOrString::Int),
        Value::String(s) => Some(IntOrString::String(s.clone())),
        _ => None,
    }
}

fn build(item: &Value, s: &DisruptionBudgetSettings, selector: LabelSelector) -> Value {
    let (ns, name) = crate::object::identity(item);
    let pdb = PodDisruptionBudget {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: (!ns.is_empty()).then(|| ns.to_string()),
            labels: companions::recommended_labels(item),
            ..Default::default()
        },
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: s.max_unavailable.as_ref().and_then(int_or_string),
            min_available: s.min_available.as_ref().and_then(int_or_string),
            selector: Some(selector),
            unhealthy_pod_eviction_policy: Some(
                s.unhealthy_pod_eviction_policy
                    .clone()
                    .unwrap_or_else(|| "AlwaysAllow".into()),
            ),
        }),
        ..Default::default()
    };
    let v = serde_json::to_value(pdb).expect("k8s-openapi types serialize");
    companions::finish_generated(v, item, KIND, name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defaults::testing::*;
    use serde_json::json;

    #[test]
    fn prod_backend_gets_max_unavailable_one() {
        let c = config("prod", &[]);
        let mut d = deployment("b", json!({}));
        let out = run(&c, "backend", &mut d, &[], None, apply);
        let pdb = &out.generated[0];
        assert_eq!(pdb["apiVersion"], "policy/v1");
        assert_eq!(pdb["metadata"]["name"], "b");
        assert_eq!(pdb["spec"]["maxUnavailable"], 1);
        assert!(pdb["spec"].get("minAvailable").is_none());
        assert_eq!(pdb["spec"]["unhealthyPodEvictionPolicy"], "AlwaysAllow");
        assert_eq!(
            pdb["spec"]["selector"],
            json!({"matchLabels": {"app": "b"}})
        );
    }

    #[test]
    fn single_replica_gets_none() {
        let c = config("prod", &[]);
        let mut d = deployment("b", json!({"replicas": 1}));
        let out = run(&c, "default", &mut d, &[], None, apply);
        assert!(out.generated.is_empty());
        assert!(out.results[0].message.contains("runs 1 replica"));
        // Data stores have no budget in the profile: nothing said at all.
        let out = run(&c, "postgres", &mut d, &[], None, apply);
        assert!(out.generated.is_empty() && out.results.is_empty());
    }

    #[test]
    fn a_user_pdb_over_the_pods_means_none() {
        let c = config("prod", &[]);
        let theirs = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "b-pdb", "namespace": "ns"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "b"}}}});
        let mut d = deployment("b", json!({}));
        let out = run(&c, "backend", &mut d, &[theirs], None, apply);
        assert!(out.generated.is_empty());
        assert!(out.results[0].message.contains("PodDisruptionBudget/b-pdb"));
    }

    #[test]
    fn percentages_and_policy_come_from_the_config() {
        let s = DisruptionBudgetSettings {
            min_available: Some(json!("50%")),
            unhealthy_pod_eviction_policy: Some("IfHealthyBudget".into()),
            ..Default::default()
        };
        let d = deployment("b", json!({}));
        let pdb = build(&d, &s, LabelSelector::default());
        assert_eq!(pdb["spec"]["minAvailable"], "50%");
        assert_eq!(pdb["spec"]["unhealthyPodEvictionPolicy"], "IfHealthyBudget");
    }

    #[test]
    fn no_labels_is_a_warning() {
        let c = config("prod", &[]);
        let mut d = deployment("b", json!({"replicas": 3}));
        d["spec"]["selector"] = json!({});
        d["spec"]["template"]["metadata"] = json!({});
        let out = run(&c, "default", &mut d, &[], None, apply);
        assert!(out.generated.is_empty());
        assert_eq!(out.results[0].severity, crate::krm::Severity::Warning);
    }
}
