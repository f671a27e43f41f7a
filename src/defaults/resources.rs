//! Requests and limits sized by class and environment. Fills what is missing; never lowers or
//! replaces a value the manifest set (unless `enforce: [resources]`); never produces a request
//! above its limit.

use serde_json::{Map, Value};

use super::{Outcome, WorkloadCtx};
use crate::config::DefaultKind;
use crate::quantity::Quantity;
use crate::workload::{self, ContainerRole};

const D: DefaultKind = DefaultKind::Resources;

pub fn apply(ctx: &WorkloadCtx, item: &mut Value, out: &mut Outcome) {
    if !ctx.wants(D) {
        return;
    }
    let Some(settings) = ctx.class.env.resources.clone() else {
        return;
    };
    let enforce = ctx.enforces(D);
    let kind = ctx.kind();
    let Some(spec) = workload::pod_spec_mut(item, kind) else {
        return;
    };
    workload::for_each_container_mut(spec, |role, c| {
        if !ctx.wants_container(D, c) {
            return;
        }
        let path = format!("{}.resources", workload::container_path(kind, role, c));
        fill_container(
            c,
            &settings.requests,
            &settings.limits,
            enforce,
            &path,
            role,
            out,
        );
    });
}

fn fill_container(
    c: &mut Value,
    requests: &std::collections::BTreeMap<String, String>,
    limits: &std::collections::BTreeMap<String, String>,
    enforce: bool,
    path: &str,
    _role: ContainerRole,
    out: &mut Outcome,
) {
    let Some(obj) = c.as_object_mut() else { return };
    let res = obj
        .entry("resources")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(res_obj) = res.as_object_mut() else {
        return;
    };
    // Sections are created in the conventional order (requests, then limits); empty ones are
    // removed again below.
    for section in ["requests", "limits"] {
        res_obj
            .entry(section)
            .or_insert_with(|| Value::Object(Map::new()));
    }
    // Limits first, so a filled request can be capped by the limit the user wrote.
    for (section, wanted) in [("limits", limits), ("requests", requests)] {
        for (name, q) in wanted {
            let current = res.get(section).and_then(|s| s.get(name)).cloned();
            if current.is_some() && !enforce {
                continue;
            }
            let mut value = q.clone();
            if !enforce {
                value = clamp(res, section, name, q);
            }
            if current.as_ref().and_then(Value::as_str) == Some(value.as_str()) {
                continue;
            }
            let Some(map) = res
                .as_object_mut()
                .expect("checked above")
                .entry(section)
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
            else {
                continue;
            };
            map.insert(name.clone(), Value::String(value.clone()));
            out.set(D, format!("{path}.{section}.{name}"), Value::String(value));
        }
    }
    // The user's own values may contradict each other: say so, change nothing.
    if let (Some(req), Some(lim)) = (res.get("requests"), res.get("limits")) {
        for (name, l) in lim.as_object().into_iter().flatten() {
            if let (Some(r), Some(l)) = (
                req.get(name).and_then(Quantity::from_json),
                Quantity::from_json(l),
            ) {
                if l.value() < r.value() {
                    out.warn(format!(
                        "{path}: limit {name}={l} is below the request {r}; the API server rejects this pod"
                    ));
                }
            }
        }
    }
    if let Some(res_obj) = res.as_object_mut() {
        res_obj.retain(|k, v| {
            !(matches!(k.as_str(), "requests" | "limits")
                && v.as_object().is_some_and(Map::is_empty))
        });
    }
    if res.as_object().is_some_and(Map::is_empty) {
        obj.remove("resources");
    }
}

/// A filled request never exceeds the user's limit, and a filled limit is never below the
/// user's request.
fn clamp(res: &Value, section: &str, name: &str, q: &str) -> String {
    let other = if section == "requests" {
        "limits"
    } else {
        "requests"
    };
    let (Some(mine), Some(theirs)) = (
        Quantity::parse(q).ok(),
        res.get(other)
            .and_then(|s| s.get(name))
            .and_then(Quantity::from_json),
    ) else {
        return q.to_string();
    };
    let conflict = if section == "requests" {
        mine.value() > theirs.value()
    } else {
        mine.value() < theirs.value()
    };
    if conflict {
        theirs.as_str().to_string()
    } else {
        q.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn m(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn fills_missing_and_keeps_user_values() {
        let mut c = json!({"name": "app", "resources": {"limits": {"memory": "2Gi"}}});
        let mut out = Outcome::default();
        fill_container(
            &mut c,
            &m(&[("cpu", "200m"), ("memory", "256Mi")]),
            &m(&[("cpu", "1"), ("memory", "1Gi")]),
            false,
            "p",
            ContainerRole::App,
            &mut out,
        );
        assert_eq!(
            c["resources"],
            json!({"limits": {"memory": "2Gi", "cpu": "1"}, "requests": {"cpu": "200m", "memory": "256Mi"}})
        );
        let mut fresh = json!({"name": "app"});
        fill_container(
            &mut fresh,
            &m(&[("cpu", "1")]),
            &m(&[("cpu", "1")]),
            false,
            "p",
            ContainerRole::App,
            &mut Outcome::default(),
        );
        let keys: Vec<_> = fresh["resources"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, ["requests", "limits"]);
        assert_eq!(out.changes.len(), 3);
    }

    #[test]
    fn request_is_capped_by_user_limit() {
        let mut c = json!({"name": "app", "resources": {"limits": {"cpu": "100m"}}});
        let mut out = Outcome::default();
        fill_container(
            &mut c,
            &m(&[("cpu", "200m")]),
            &m(&[]),
            false,
            "p",
            ContainerRole::App,
            &mut out,
        );
        assert_eq!(c["resources"]["requests"]["cpu"], "100m");
    }

    #[test]
    fn user_limit_below_request_warns() {
        let mut c = json!({"name": "app", "resources": {"limits": {"cpu": "100m"}, "requests": {"cpu": "1"}}});
        let mut out = Outcome::default();
        fill_container(
            &mut c,
            &m(&[]),
            &m(&[]),
            false,
            "p",
            ContainerRole::App,
            &mut out,
        );
        assert_eq!(out.results.len(), 1);
    }

    #[test]
    fn enforce_overwrites() {
        let mut c = json!({"name": "app", "resources": {"limits": {"cpu": "4"}}});
        let mut out = Outcome::default();
        fill_container(
            &mut c,
            &m(&[]),
            &m(&[("cpu", "1")]),
            true,
            "p",
            ContainerRole::App,
            &mut out,
        );
        assert_eq!(c["resources"]["limits"]["cpu"], "1");
    }

    #[test]
    fn second_run_changes_nothing() {
        let mut c = json!({"name": "app"});
        let mut out = Outcome::default();
        let (r, l) = (m(&[("cpu", "200m")]), m(&[("cpu", "1")]));
        fill_container(&mut c, &r, &l, false, "p", ContainerRole::App, &mut out);
        let mut again = Outcome::default();
        fill_container(&mut c, &r, &l, false, "p", ContainerRole::App, &mut again);
        assert!(again.changes.is_empty());
    }
}
