//! HorizontalPodAutoscalers where the class asks for one, and the one documented removal: a
//! workload an HPA scales loses `spec.replicas`, so `kubectl apply` and Argo CD do not reset
//! the count the HPA chose (kube-score flags the combination).

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use super::companions;
use super::{Outcome, WorkloadCtx};
use crate::config::{AutoscalingSettings, DefaultKind};
use crate::krm::FnResult;
use crate::model::Autoscaler;
use crate::workload::{self, ContainerRole};

const D: DefaultKind = DefaultKind::Autoscaling;
const KIND: &str = "HorizontalPodAutoscaler";

pub fn apply(ctx: &WorkloadCtx, item: &mut Value, out: &mut Outcome) {
    let Some(path) = ctx.scalable() else {
        return;
    };
    if !ctx.wants(D) {
        return;
    }
    let (_, name) = crate::object::identity(item);
    let scaling = &ctx.workload.scaling;
    let hpa_name = match &scaling.autoscaler {
        Autoscaler::None => {
            if ctx.class.env.autoscaling.is_some() && scaling.hpa_name_taken {
                out.warn(format!(
                    "the class asks for an HPA, but the {KIND} named {name} in the input scales something else; \
                     no HPA generated (rename one of them)"
                ));
            } else if ctx.class.env.autoscaling.is_some() {
                if let Some(why) = &scaling.hpa_blocker {
                    out.results.push(FnResult::info(format!(
                        "no {KIND} generated although the class asks for autoscaling: {why}"
                    )));
                }
            }
            return;
        }
        Autoscaler::User { name, .. } => {
            if ctx.class.env.autoscaling.is_some() {
                // Said so the report can tell why the HPA column is empty.
                out.results.push(FnResult::info(format!(
                    "no {KIND} generated: the user's {KIND}/{name} already scales this workload"
                )));
            }
            format!("the user's {KIND}/{name}")
        }
        Autoscaler::Generated => {
            let Some(settings) = &ctx.class.env.autoscaling else {
                return;
            };
            if let Some(n) = scaling.written_replicas.filter(|n| *n != 0) {
                out.warn(format!(
                    "spec.replicas is {n} as written, but enforce names autoscaling: the generated {KIND} \
                     scales between {} and {} replicas and spec.replicas is removed; drop autoscaling from \
                     enforce to keep the count",
                    settings.min_replicas, settings.max_replicas
                ));
            }
            warn_missing_requests(ctx, item, settings, out);
            out.generated.push(build(item, ctx, settings));
            format!("{KIND}/{name}")
        }
    };
    remove_replicas(ctx, item, path, &hpa_name, out);
}

fn remove_replicas(
    ctx: &WorkloadCtx,
    item: &mut Value,
    path: &[String],
    hpa: &str,
    out: &mut Outcome,
) {
    let Some((last, parent)) = path.split_last() else {
        return;
    };
    if workload::get_path(item, path).and_then(Value::as_i64) == Some(0) {
        // Scaled to zero on purpose: the HPA controller leaves a workload at 0 alone, while
        // removing the count would bring it back up.
        out.results.push(FnResult::info(format!(
            "kept {}: 0 replicas switches the workload off, and {hpa} leaves it off until the count is raised",
            path.join(".")
        )));
        return;
    }
    let removed = workload::get_path(item, parent).is_some()
        && workload::get_path_mut(item, parent)
            .and_then(Value::as_object_mut)
            .and_then(|p| p.remove(last))
            .is_some();
    if !removed {
        return;
    }
    let dotted = path.join(".");
    out.set(D, dotted.clone(), Value::Null);
    out.results.push(
        ctx.info(
            &format!("removed {dotted}: {hpa} sets the replica count, and a count in the manifest makes kubectl apply and Argo CD reset it"),
            &format!("{dotted} would be removed: {hpa} sets the replica count, and a count in the manifest makes kubectl apply and Argo CD reset it"),
        )
        .at(dotted),
    );
}

/// Utilization targets are percentages of the request: the HPA controller refuses to scale a
/// pod with a container that has none (here when the resources default was opted out).
fn warn_missing_requests(
    ctx: &WorkloadCtx,
    item: &Value,
    s: &AutoscalingSettings,
    out: &mut Outcome,
) {
    let Some(spec) = workload::pod_spec(item, ctx.kind()) else {
        return;
    };
    let targets = [
        ("cpu", s.target_cpu_utilization_percentage),
        ("memory", s.target_memory_utilization_percentage),
    ];
    // Run-to-completion init containers are not running when the HPA measures the pod.
    for (role, _, c) in workload::containers(spec)
        .into_iter()
        .filter(|(role, _, _)| *role != ContainerRole::Init)
    {
        for (resource, target) in targets {
            if target.is_some() && c["resources"]["requests"].get(resource).is_none() {
                let path = workload::container_path(ctx.kind(), role, c);
                out.warn(format!(
                    "{path} has no {resource} request: the generated HPA scales on {resource} utilization, \
                     which the HPA controller cannot compute without one"
                ));
            }
        }
    }
}

fn build(item: &Value, ctx: &WorkloadCtx, s: &AutoscalingSettings) -> Value {
    let (ns, name) = crate::object::identity(item);
    let utilization = |resource: &str, target: Option<i32>| {
        target.map(|t| MetricSpec {
            type_: "Resource".into(),
            resource: Some(ResourceMetricSource {
                name: resource.into(),
                target: MetricTarget {
                    type_: "Utilization".into(),
                    average_utilization: Some(t),
                    ..Default::default()
                },
            }),
            ..Default::default()
        })
    };
    let metrics: Vec<MetricSpec> = [
        utilization("cpu", s.target_cpu_utilization_percentage),
        utilization("memory", s.target_memory_utilization_percentage),
    ]
    .into_iter()
    .flatten()
    .collect();
    let hpa = HorizontalPodAutoscaler {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: (!ns.is_empty()).then(|| ns.to_string()),
            labels: companions::recommended_labels(item),
            ..Default::default()
        },
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: item["apiVersion"].as_str().map(str::to_string),
                kind: ctx.kind().kind.clone(),
                name: name.to_string(),
            },
            min_replicas: Some(s.min_replicas),
            max_replicas: s.max_replicas,
            metrics: Some(metrics),
            ..Default::default()
        }),
        ..Default::default()
    };
    let v = serde_json::to_value(hpa).expect("k8s-openapi types serialize");
    companions::finish_generated(v, item, KIND, name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defaults::testing::*;
    use serde_json::json;

    #[test]
    fn prod_backend_gets_the_plans_hpa_and_loses_its_count() {
        // Issue 15: a written count is removed only when enforce names autoscaling.
        let c = config("prod", &[DefaultKind::Autoscaling]);
        let mut d = deployment("b", json!({"replicas": 3}));
        let out = run(&c, "backend", &mut d, &[], None, apply);
        assert!(d["spec"].get("replicas").is_none());
        assert_eq!(out.changes[0].path, "spec.replicas");
        assert_eq!(out.changes[0].value, Value::Null);
        let hpa = &out.generated[0];
        assert_eq!(hpa["apiVersion"], "autoscaling/v2");
        assert_eq!(hpa["metadata"]["name"], "b");
        assert_eq!(hpa["metadata"]["namespace"], "ns");
        assert_eq!(
            hpa["metadata"]["labels"],
            json!({"app.kubernetes.io/name": "b"})
        );
        assert_eq!(
            hpa["metadata"]["annotations"]["apply-defaults.dev/generated"],
            "true"
        );
        assert_eq!(
            hpa["spec"]["scaleTargetRef"],
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "b"})
        );
        assert_eq!(
            (
                hpa["spec"]["minReplicas"].as_i64(),
                hpa["spec"]["maxReplicas"].as_i64()
            ),
            (Some(2), Some(5))
        );
        assert_eq!(
            hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
            70
        );
        assert!(
            out.results
                .iter()
                .any(|r| r.message.starts_with("removed spec.replicas"))
        );
    }

    #[test]
    fn users_hpa_means_none_generated_but_the_count_goes() {
        let c = config("prod", &[]);
        let hpa = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "b-hpa", "namespace": "ns"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "b"}, "minReplicas": 2, "maxReplicas": 9}});
        let mut d = deployment("b", json!({"replicas": 3}));
        let out = run(&c, "backend", &mut d, &[hpa], None, apply);
        assert!(out.generated.is_empty());
        assert!(d["spec"].get("replicas").is_none());
        assert!(
            out.results[0]
                .message
                .contains("the user's HorizontalPodAutoscaler"),
            "{:?}",
            out.results
        );
    }

    #[test]
    fn opted_out_or_dev_leaves_it_alone() {
        let mut d = deployment("b", json!({"replicas": 3}));
        let out = run(
            &config("prod", &[]),
            "backend",
            &mut d,
            &[],
            Some("autoscaling"),
            apply,
        );
        assert!(out.generated.is_empty() && out.changes.is_empty());
        let out = run(&config("dev", &[]), "backend", &mut d, &[], None, apply);
        assert!(out.generated.is_empty() && out.changes.is_empty());
        assert_eq!(d["spec"]["replicas"], 3);
    }

    #[test]
    fn scaled_to_zero_stays_at_zero() {
        let c = config("prod", &[DefaultKind::Autoscaling]);
        let mut d = deployment("b", json!({"replicas": 0}));
        let out = run(&c, "backend", &mut d, &[], None, apply);
        assert_eq!(d["spec"]["replicas"], 0);
        assert!(out.changes.is_empty());
        assert!(out.results[0].message.starts_with("kept spec.replicas"));
    }

    #[test]
    fn missing_cpu_request_is_a_warning() {
        let c = config("prod", &[]);
        let mut d = deployment("b", json!({}));
        d["spec"]["template"]["spec"]["containers"][0]["resources"] = json!({});
        let out = run(&c, "backend", &mut d, &[], None, apply);
        assert_eq!(out.generated.len(), 1);
        assert!(
            out.results.iter().any(|r| r
                .message
                .contains("containers[name=app] has no cpu request")),
            "{:?}",
            out.results
        );
    }

    #[test]
    fn a_taken_name_is_reported_and_the_count_kept() {
        let c = config("prod", &[]);
        let other = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "b", "namespace": "ns"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "other"}, "maxReplicas": 3}});
        let mut d = deployment("b", json!({"replicas": 3}));
        let out = run(&c, "backend", &mut d, &[other], None, apply);
        assert!(out.generated.is_empty());
        assert_eq!(d["spec"]["replicas"], 3);
        assert!(out.results[0].message.contains("scales something else"));
    }

    #[test]
    fn statefulset_of_a_class_without_autoscaling_gets_none() {
        let c = config("prod", &[]);
        let mut s = deployment("pg", json!({"replicas": 1}));
        s["kind"] = json!("StatefulSet");
        let out = run(&c, "postgres", &mut s, &[], None, apply);
        assert!(out.generated.is_empty() && out.changes.is_empty());
    }
}
