//! Kubernetes label-selector semantics, shared by everything that asks "does this selector pick
//! these pods" (user PDBs in the inventory, user NetworkPolicies in the graph).

use serde_json::Value;

/// One `matchExpressions` entry against labels looked up through `label`. An entry this cannot
/// read (no key, unknown operator) matches nothing.
pub fn expression_matches<'a>(e: &Value, label: impl Fn(&str) -> Option<&'a str>) -> bool {
    let Some(key) = e["key"].as_str() else {
        return false;
    };
    let values: Vec<String> = e["values"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        })
        .collect();
    let value = label(key);
    match e["operator"].as_str() {
        Some("In") => value.is_some_and(|v| values.iter().any(|x| x == v)),
        Some("NotIn") => value.is_none_or(|v| values.iter().all(|x| x != v)),
        Some("Exists") => value.is_some(),
        Some("DoesNotExist") => value.is_none(),
        _ => false,
    }
}

/// A whole selector (`matchLabels` and `matchExpressions`, all ANDed). A selector this cannot
/// read matches nothing; an empty one matches everything.
pub fn selector_matches<'a>(
    selector: &Value,
    label: impl Fn(&str) -> Option<&'a str> + Copy,
) -> bool {
    let match_labels = match selector.get("matchLabels") {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m
            .iter()
            .all(|(k, v)| v.as_str().is_some() && label(k) == v.as_str()),
        Some(_) => false,
    };
    let expressions = match selector.get("matchExpressions") {
        None | Some(Value::Null) => true,
        Some(Value::Array(list)) => list.iter().all(|e| expression_matches(e, label)),
        Some(_) => false,
    };
    match_labels && expressions
}
