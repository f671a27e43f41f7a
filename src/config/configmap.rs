//! The ConfigMap form of the config: flat `data` knobs for `kpt fn eval -- k=v`, a Kptfile
//! `configMap:` and simple kustomize transformer configs.

use serde_json::{Map, Value, json};

use super::ConfigProblem;
use super::types::DefaultKind;

/// The keys a ConfigMap may carry, with what each one sets (for errors and docs).
pub const KEYS: &[(&str, &str)] = &[
    (
        "environment",
        "spec.environment: the environment to render (dev, prod, ...)",
    ),
    ("mode", "spec.mode: apply (default) or check"),
    (
        "defaults",
        "spec.defaults: comma-separated defaults to apply (all when absent)",
    ),
    ("skip", "comma-separated defaults not to apply"),
    (
        "enforce",
        "spec.enforce: comma-separated defaults that overwrite manifest values",
    ),
    (
        "kinds",
        "spec.selector.kinds: comma-separated kinds to touch",
    ),
    (
        "namespaces",
        "spec.selector.namespaces: comma-separated namespaces to touch",
    ),
    (
        "names",
        "spec.selector.names: comma-separated names (globs) to touch",
    ),
    (
        "fallback-class",
        "spec.fallbackClass: class of workloads no class matches",
    ),
    (
        "ingress-controller-namespace",
        "spec.networkPolicy.ingressControllers: namespace of the ingress controller",
    ),
    (
        "user-network-policies",
        "spec.networkPolicy.userPolicies: keep or add",
    ),
    ("per-field-results", "spec.results.perField: true or false"),
    ("max-info-results", "spec.results.maxInfo: a number"),
];

/// The `data.KEY` knob that sets a spec field (or a field inside it), for problems found after
/// the knobs became a spec: `spec.environment` → `data.environment`,
/// `spec.networkPolicy.ingressControllers[0].namespace` → `data.ingress-controller-namespace`.
pub fn knob_of(spec_field: &str) -> Option<String> {
    KEYS.iter()
        .filter_map(|(key, what)| {
            let path = what.split_once(':')?.0;
            let inside = spec_field
                .strip_prefix(path)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']));
            (path.starts_with("spec.") && inside).then_some((path.len(), key))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, key)| format!("data.{key}"))
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn defaults_list(key: &str, v: &str, problems: &mut Vec<ConfigProblem>) -> Vec<DefaultKind> {
    list(v)
        .into_iter()
        .filter_map(|name| {
            let d = DefaultKind::parse(&name);
            if d.is_none() {
                problems.push(ConfigProblem::new(
                    format!("data.{key}"),
                    format!("unknown default `{name}`; known: {}", DefaultKind::names()),
                ));
            }
            d
        })
        .collect()
}

/// Maps `data` onto a spec (as JSON, ready to merge over the profile).
pub fn to_spec_json(cm: &Value) -> Result<Value, Vec<ConfigProblem>> {
    let mut problems = Vec::new();
    let mut spec = Map::new();
    let data = match cm.get("data") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(vec![ConfigProblem::new(
                "data",
                "must be a mapping of strings",
            )]);
        }
    };
    let mut selector = Map::new();
    let mut defaults: Option<Vec<DefaultKind>> = None;
    let mut skip: Vec<DefaultKind> = Vec::new();
    for (key, value) in &data {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            _ => {
                problems.push(ConfigProblem::new(
                    format!("data.{key}"),
                    "must be a string",
                ));
                continue;
            }
        };
        match key.as_str() {
            "environment" => {
                spec.insert("environment".into(), json!(text.trim()));
            }
            "mode" => match text.trim() {
                m @ ("apply" | "check") => {
                    spec.insert("mode".into(), json!(m));
                }
                other => problems.push(ConfigProblem::new(
                    format!("data.{key}"),
                    format!("`{other}` is not one of: apply, check"),
                )),
            },
            "defaults" => defaults = Some(defaults_list(key, &text, &mut problems)),
            "skip" => skip = defaults_list(key, &text, &mut problems),
            "enforce" => {
                let e = defaults_list(key, &text, &mut problems);
                spec.insert("enforce".into(), json!(e));
            }
            "kinds" | "namespaces" | "names" => {
                selector.insert(key.clone(), json!(list(&text)));
            }
            "fallback-class" => {
                spec.insert("fallbackClass".into(), json!(text.trim()));
            }
            "ingress-controller-namespace" => {
                spec.entry("networkPolicy")
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
                    .expect("inserted as object")
                    .insert(
                        "ingressControllers".into(),
                        json!([{"namespace": text.trim()}]),
                    );
            }
            "user-network-policies" => match text.trim() {
                p @ ("keep" | "add") => {
                    spec.entry("networkPolicy")
                        .or_insert_with(|| json!({}))
                        .as_object_mut()
                        .expect("inserted as object")
                        .insert("userPolicies".into(), json!(p));
                }
                other => problems.push(ConfigProblem::new(
                    format!("data.{key}"),
                    format!("`{other}` is not one of: keep, add"),
                )),
            },
            "per-field-results" => match text.trim() {
                "true" => insert_results(&mut spec, "perField", json!(true)),
                "false" => insert_results(&mut spec, "perField", json!(false)),
                other => problems.push(ConfigProblem::new(
                    format!("data.{key}"),
                    format!("`{other}` is not true or false"),
                )),
            },
            "max-info-results" => match text.trim().parse::<usize>() {
                Ok(n) => insert_results(&mut spec, "maxInfo", json!(n)),
                Err(_) => problems.push(ConfigProblem::new(
                    format!("data.{key}"),
                    format!("`{text}` is not a non-negative number"),
                )),
            },
            other => problems.push(ConfigProblem::new(
                format!("data.{other}"),
                format!(
                    "unknown key `{other}`; known keys: {}",
                    KEYS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }
    if defaults.is_some() || !skip.is_empty() {
        let base: Vec<DefaultKind> = defaults.unwrap_or_else(|| DefaultKind::ALL.to_vec());
        let chosen: Vec<DefaultKind> = base.into_iter().filter(|d| !skip.contains(d)).collect();
        if chosen.is_empty() {
            problems.push(ConfigProblem::new(
                "data.skip",
                "skips every default: nothing would be applied",
            ));
        }
        spec.insert("defaults".into(), json!(chosen));
    }
    if !selector.is_empty() {
        spec.insert("selector".into(), Value::Object(selector));
    }
    if problems.is_empty() {
        Ok(Value::Object(spec))
    } else {
        Err(problems)
    }
}

fn insert_results(spec: &mut Map<String, Value>, key: &str, v: Value) {
    spec.entry("results")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("inserted as object")
        .insert(key.into(), v);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn cm(data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "function-input",
            "annotations": {"config.kubernetes.io/local-config": "true"}}, "data": data})
    }

    #[test]
    fn environment_knob() {
        let c = Config::load(Some(&cm(json!({"environment": "prod"})))).unwrap();
        assert_eq!(c.environment, "prod");
    }

    #[test]
    fn unknown_key_is_named() {
        let errs = Config::load(Some(&cm(json!({"enviroment": "prod"})))).unwrap_err();
        assert_eq!(errs[0].field, "data.enviroment");
        assert!(errs[0].message.contains("unknown key `enviroment`"));
    }

    #[test]
    fn problems_found_in_the_spec_name_the_knob_written() {
        let errs = Config::load(Some(&cm(json!({"environment": "staging"})))).unwrap_err();
        assert_eq!(errs[0].field, "data.environment");
        assert!(errs[0].message.contains("staging"), "{}", errs[0].message);
        let errs = Config::load(Some(&cm(json!({"fallback-class": "nope"})))).unwrap_err();
        assert_eq!(errs[0].field, "data.fallback-class");
        assert_eq!(
            knob_of("spec.networkPolicy.ingressControllers[0].namespace").as_deref(),
            Some("data.ingress-controller-namespace")
        );
        assert_eq!(knob_of("spec.environments.prod.basedOn"), None);
        assert_eq!(knob_of("spec.classes.x"), None);
    }

    #[test]
    fn skip_removes_defaults() {
        let c = Config::load(Some(&cm(json!({"skip": "network-policy, probes"})))).unwrap();
        assert!(!c.applies(DefaultKind::NetworkPolicy));
        assert!(!c.applies(DefaultKind::Probes));
        assert!(c.applies(DefaultKind::Resources));
    }

    #[test]
    fn empty_configmap_is_dev() {
        let c = Config::load(Some(&cm(Value::Null))).unwrap();
        assert_eq!(c.environment, "dev");
    }
}
