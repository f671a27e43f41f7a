//! Spreading for workloads that run more than one pod: a preferred pod anti-affinity on
//! `kubernetes.io/hostname` (one node failing takes one pod) and a topology spread across
//! zones. Both are preferences (`ScheduleAnyway`): a small or single-zone cluster still
//! schedules every pod. A required hostname anti-affinity the user wrote is stricter and is
//! never replaced, not even under `enforce`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    PodAffinityTerm, TopologySpreadConstraint, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::{Map, Value};

use super::{Outcome, WorkloadCtx};
use super::{companions, replicas};
use crate::config::DefaultKind;
use crate::workload;

const D: DefaultKind = DefaultKind::Spreading;
const HOSTNAME: &str = "kubernetes.io/hostname";
const ZONE: &str = "topology.kubernetes.io/zone";
const PREFERRED: &str = "preferredDuringSchedulingIgnoredDuringExecution";
const REQUIRED: &str = "requiredDuringSchedulingIgnoredDuringExecution";

pub fn apply(ctx: &WorkloadCtx, item: &mut Value, out: &mut Outcome) {
    if ctx.scalable().is_none() || !ctx.wants(D) || ctx.class.env.spreading != Some(true) {
        return;
    }
    if replicas::min_pods(ctx, item) <= 1 {
        return;
    }
    let Some(labels) = companions::pod_label_map(item, ctx) else {
        out.warn(format!(
            "no spreading: the pod template has no labels for the anti-affinity and spread constraint to select; \
             add labels to {}.metadata.labels",
            ctx.kind().template_path.join(".")
        ));
        return;
    };
    let enforce = ctx.enforces(D);
    let base = ctx.kind().pod_spec_path();
    let Some(spec) = workload::pod_spec_mut(item, ctx.kind()) else {
        return;
    };
    match anti_affinity(spec, &labels, enforce) {
        Ok(Some(term)) => out.set(D, format!("{base}.affinity.podAntiAffinity.{PREFERRED}[podAffinityTerm.topologyKey={HOSTNAME}]"), term),
        Ok(None) => {}
        Err(field) => out.warn(format!("{base}.{field} is not a mapping; no pod anti-affinity added")),
    }
    match zone_spread(spec, &labels, enforce) {
        Ok(Some(c)) => out.set(
            D,
            format!("{base}.topologySpreadConstraints[topologyKey={ZONE}]"),
            c,
        ),
        Ok(None) => {}
        Err(field) => out.warn(format!(
            "{base}.{field} is not a list; no topology spread constraint added"
        )),
    }
}

fn selector(labels: &BTreeMap<String, String>) -> Option<LabelSelector> {
    Some(LabelSelector {
        match_labels: Some(labels.clone()),
        ..Default::default()
    })
}

fn our_term(labels: &BTreeMap<String, String>) -> Value {
    let term = WeightedPodAffinityTerm {
        weight: 100,
        pod_affinity_term: PodAffinityTerm {
            label_selector: selector(labels),
            topology_key: HOSTNAME.into(),
            ..Default::default()
        },
    };
    serde_json::to_value(term).expect("k8s-openapi types serialize")
}

fn our_constraint(labels: &BTreeMap<String, String>) -> Value {
    let c = TopologySpreadConstraint {
        max_skew: 1,
        topology_key: ZONE.into(),
        when_unsatisfiable: "ScheduleAnyway".into(),
        label_selector: selector(labels),
        ..Default::default()
    };
    serde_json::to_value(c).expect("k8s-openapi types serialize")
}

/// Mapping at `key` inside `parent`, created when missing; `Err` names a field that holds
/// something else.
fn mapping<'a>(
    parent: &'a mut Value,
    key: &str,
    at: &mut String,
) -> Result<&'a mut Map<String, Value>, String> {
    at.push_str(if at.is_empty() { "" } else { "." });
    at.push_str(key);
    let obj = parent.as_object_mut().ok_or_else(|| at.clone())?;
    obj.entry(key)
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| at.clone())
}

/// Adds the preferred hostname anti-affinity unless one (preferred or required) is there;
/// under enforce a differing preferred one is replaced. Returns the term set.
fn anti_affinity(
    spec: &mut Value,
    labels: &BTreeMap<String, String>,
    enforce: bool,
) -> Result<Option<Value>, String> {
    let on_hostname = |t: &Value| t["topologyKey"] == HOSTNAME;
    let anti = &spec["affinity"]["podAntiAffinity"];
    if anti[REQUIRED]
        .as_array()
        .is_some_and(|l| l.iter().any(on_hostname))
    {
        return Ok(None);
    }
    let ours = our_term(labels);
    let existing = anti[PREFERRED]
        .as_array()
        .and_then(|l| l.iter().position(|t| on_hostname(&t["podAffinityTerm"])));
    if let Some(i) = existing {
        if !enforce || anti[PREFERRED][i] == ours {
            return Ok(None);
        }
    }
    let mut at = String::new();
    let affinity = mapping(spec, "affinity", &mut at)?;
    at.push_str(".podAntiAffinity");
    let anti = affinity
        .entry("podAntiAffinity")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| at.clone())?;
    at.push('.');
    at.push_str(PREFERRED);
    let list = anti
        .entry(PREFERRED)
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .ok_or_else(|| at.clone())?;
    match existing {
        Some(i) => list[i] = ours.clone(),
        None => list.push(ours.clone()),
    }
    Ok(Some(ours))
}

/// Adds the zone spread constraint unless one on zones is there; under enforce a differing one
/// is replaced. Returns the constraint set.
fn zone_spread(
    spec: &mut Value,
    labels: &BTreeMap<String, String>,
    enforce: bool,
) -> Result<Option<Value>, String> {
    let ours = our_constraint(labels);
    let obj = spec.as_object_mut().ok_or_else(String::new)?;
    let list = obj
        .entry("topologySpreadConstraints")
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .ok_or_else(|| "topologySpreadConstraints".to_string())?;
    match list.iter().position(|c| c["topologyKey"] == ZONE) {
        Some(i) if enforce && list[i] != ours => list[i] = ours.clone(),
        Some(_) => return Ok(None),
        None => list.push(ours.clone()),
    }
    Ok(Some(ours))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defaults::testing::*;
    use serde_json::json;

    #[test]
    fn multi_replica_prod_gets_both() {
        let c = config("prod", &[]);
        let mut d = deployment("b", json!({}));
        let out = run(&c, "backend", &mut d, &[], None, apply);
        let spec = &d["spec"]["template"]["spec"];
        let term = &spec["affinity"]["podAntiAffinity"][PREFERRED][0];
        assert_eq!(term["weight"], 100);
        assert_eq!(term["podAffinityTerm"]["topologyKey"], HOSTNAME);
        assert_eq!(
            term["podAffinityTerm"]["labelSelector"]["matchLabels"],
            json!({"app": "b"})
        );
        let tsc = &spec["topologySpreadConstraints"][0];
        assert_eq!(tsc["topologyKey"], ZONE);
        assert_eq!(tsc["whenUnsatisfiable"], "ScheduleAnyway");
        assert_eq!(tsc["maxSkew"], 1);
        assert_eq!(out.changes.len(), 2);
        let again = run(&c, "backend", &mut d, &[], None, apply);
        assert!(again.changes.is_empty());
    }

    #[test]
    fn user_terms_are_kept_and_added_to() {
        let c = config("prod", &[]);
        let mut d = deployment("b", json!({}));
        d["spec"]["template"]["spec"]["affinity"] = json!({"podAntiAffinity": {PREFERRED: [
            {"weight": 10, "podAffinityTerm": {"topologyKey": ZONE, "labelSelector": {"matchLabels": {"app": "b"}}}}]}});
        d["spec"]["template"]["spec"]["topologySpreadConstraints"] =
            json!([{"maxSkew": 2, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule"}]);
        let out = run(&c, "backend", &mut d, &[], None, apply);
        let spec = &d["spec"]["template"]["spec"];
        assert_eq!(
            spec["affinity"]["podAntiAffinity"][PREFERRED]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
        assert_eq!(spec["topologySpreadConstraints"][0]["maxSkew"], 2);
        assert_eq!(out.changes.len(), 1);
    }

    #[test]
    fn enforce_replaces_preferred_but_never_loosens_required() {
        let c = config("prod", &[DefaultKind::Spreading]);
        let mut d = deployment("b", json!({}));
        d["spec"]["template"]["spec"]["topologySpreadConstraints"] =
            json!([{"maxSkew": 2, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule"}]);
        d["spec"]["template"]["spec"]["affinity"] =
            json!({"podAntiAffinity": {REQUIRED: [{"topologyKey": HOSTNAME}]}});
        run(&c, "backend", &mut d, &[], None, apply);
        let spec = &d["spec"]["template"]["spec"];
        assert_eq!(
            spec["topologySpreadConstraints"][0]["whenUnsatisfiable"],
            "ScheduleAnyway"
        );
        assert!(spec["affinity"]["podAntiAffinity"].get(PREFERRED).is_none());
    }

    #[test]
    fn single_replica_and_bad_shapes() {
        let c = config("prod", &[]);
        let mut d = deployment("b", json!({"replicas": 1}));
        let out = run(&c, "default", &mut d, &[], None, apply);
        assert!(out.changes.is_empty() && d["spec"]["template"]["spec"].get("affinity").is_none());
        let mut d = deployment("b", json!({"replicas": 3}));
        d["spec"]["template"]["spec"]["affinity"] = json!("oops");
        d["spec"]["template"]["spec"]["topologySpreadConstraints"] = json!({});
        let out = run(&c, "default", &mut d, &[], None, apply);
        assert_eq!(out.results.len(), 2, "{:?}", out.results);
        assert_eq!(d["spec"]["template"]["spec"]["affinity"], "oops");
    }
}
