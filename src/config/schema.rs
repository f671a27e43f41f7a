//! What the JSON Schema (`apply-defaults schema`, docs/apply-defaults.schema.json) says beyond
//! the derived types, so an editor refuses what the function refuses where JSON Schema can say
//! it: quantity spellings, PodDisruptionBudget values, the autoscaling target, and `null` as a
//! removal in the maps a merge patch may remove from.
//!
//! The config is merged over the shipped profile (RFC 7396) before it is validated, so a rule
//! about the merged result holds for a field of the user's document only where the profile
//! supplies nothing: an `autoscaling` without a target is refused for a new class, but fine for
//! `backend` in `prod`, whose shipped `autoscaling` brings the target. The class rules below are
//! therefore built from the shipped profile itself.

use schemars::Schema;
use serde_json::{Map, Value, json};

use super::profile;

/// A Kubernetes quantity as [`crate::quantity::Quantity::parse`] reads it: a non-negative
/// decimal, then an exponent or one suffix.
pub const QUANTITY_PATTERN: &str =
    r"^\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?$";

/// A percentage from 0% to 100%, as validation reads one (`u32` parse, so a leading `+` too).
const PERCENT_PATTERN: &str = r"^\+?0*([0-9]|[1-9][0-9]|100)%$";

/// Requests and limits: each value a quantity string.
pub fn quantity_map(schema: &mut Schema) {
    schema.insert(
        "additionalProperties".into(),
        json!({"type": "string", "pattern": QUANTITY_PATTERN}),
    );
}

/// `maxUnavailable`: a count of at least 1 or a percentage other than `0%` (zero blocks drains).
pub fn max_unavailable(schema: &mut Schema) {
    schema.insert(
        "anyOf".into(),
        json!([
            {"type": "integer", "minimum": 1},
            {"type": "string", "pattern": PERCENT_PATTERN, "not": {"const": "0%"}},
            {"type": "null"}
        ]),
    );
}

/// `minAvailable`: a count or a percentage other than `100%` (which blocks drains).
pub fn min_available(schema: &mut Schema) {
    schema.insert(
        "anyOf".into(),
        json!([
            {"type": "integer", "minimum": 0},
            {"type": "string", "pattern": PERCENT_PATTERN, "not": {"const": "100%"}},
            {"type": "null"}
        ]),
    );
}

/// Exactly one of `maxUnavailable` and `minAvailable` after the merge: both set (not `null`) is
/// refused here; neither is refused per class below, where the profile brings none.
pub fn disruption_budget(schema: &mut Schema) {
    schema.insert(
        "not".into(),
        json!({"required": ["maxUnavailable", "minAvailable"], "properties": {
            "maxUnavailable": {"not": {"type": "null"}},
            "minAvailable": {"not": {"type": "null"}}
        }}),
    );
}

/// Allows `null` as a map value: `classes: {minio: null}` removes the shipped class.
pub fn nullable_values(schema: &mut Schema) {
    if let Some(inner) = schema.get("additionalProperties").cloned() {
        schema.insert(
            "additionalProperties".into(),
            json!({"anyOf": [inner, {"type": "null"}]}),
        );
    }
}

/// A field that must be present and not `null`.
fn present(field: &str) -> Value {
    json!({"required": [field], "properties": {field: {"not": {"type": "null"}}}})
}

/// What a class's environment must say itself when the profile brings nothing for it: an
/// `autoscaling` needs a target, a `disruptionBudget` one of its two fields.
fn env_rules(needs_target: bool, needs_budget_field: bool) -> Value {
    let mut props = Map::new();
    if needs_target {
        props.insert(
            "autoscaling".into(),
            json!({"anyOf": [{"type": "null"}, {"anyOf": [
                present("targetCPUUtilizationPercentage"),
                present("targetMemoryUtilizationPercentage")
            ]}]}),
        );
    }
    if needs_budget_field {
        props.insert(
            "disruptionBudget".into(),
            json!({"anyOf": [{"type": "null"}, {"anyOf": [
                present("maxUnavailable"),
                present("minAvailable")
            ]}]}),
        );
    }
    json!({"properties": props})
}

/// A class entry: the class schema, the environment rules where the profile brings nothing
/// (`shipped`: the profile's settings of this class, by environment), or `null` (removal).
fn class_entry(shipped: Option<&Map<String, Value>>) -> Value {
    let mut environments = json!({"additionalProperties": env_rules(true, true)});
    if let Some(envs) = shipped {
        let props: Map<String, Value> = envs
            .iter()
            .map(|(env, settings)| {
                let has = |k: &str| settings.get(k).is_some_and(|v| !v.is_null());
                (
                    env.clone(),
                    env_rules(!has("autoscaling"), !has("disruptionBudget")),
                )
            })
            .collect();
        environments["properties"] = Value::Object(props);
    }
    json!({"anyOf": [
        {"$ref": "#/$defs/ClassSpec", "properties": {"environments": environments}},
        {"type": "null"}
    ]})
}

/// `spec.classes`: per shipped class, the rules its profile settings leave to the user; for
/// other names, all of them. With `useShippedProfile: false` nothing is brought, so every class
/// gets all of them (see [`spec`]).
pub fn classes(schema: &mut Schema) {
    let shipped = profile::shipped_spec_json();
    let props: Map<String, Value> = shipped["classes"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, class)| {
            let envs = class["environments"].as_object();
            (name.clone(), class_entry(Some(envs.unwrap_or(&Map::new()))))
        })
        .collect();
    schema.insert("properties".into(), Value::Object(props));
    schema.insert("additionalProperties".into(), class_entry(None));
}

/// The spec: without the shipped profile, every class must say everything itself.
pub fn spec(schema: &mut Schema) {
    schema.insert(
        "if".into(),
        json!({"required": ["useShippedProfile"], "properties": {"useShippedProfile": {"const": false}}}),
    );
    schema.insert(
        "then".into(),
        json!({"properties": {"classes": {"patternProperties": {"": {"anyOf": [
            {"properties": {"environments": {"additionalProperties": env_rules(true, true)}}},
            {"type": "null"}
        ]}}}}}),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_classes_relax_only_what_the_profile_brings() {
        let schema: Value = serde_json::from_str(&crate::run::schema()).unwrap();
        let classes = &schema["$defs"]["Spec"]["properties"]["classes"];
        let backend = &classes["properties"]["backend"]["anyOf"][0]["properties"]["environments"];
        // backend's prod autoscaling brings a target; dev has none to bring.
        assert!(
            backend["properties"]["prod"]["properties"]
                .get("autoscaling")
                .is_none()
        );
        assert!(
            backend["properties"]["dev"]["properties"]
                .get("autoscaling")
                .is_some()
        );
        assert!(classes["additionalProperties"]["anyOf"][1]["type"] == "null");
    }
}
