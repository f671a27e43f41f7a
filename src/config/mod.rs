//! The function config: the typed `ApplyDefaults` kind and the ConfigMap form, merged over the
//! shipped profile, validated (every problem reported at once), and resolved for one
//! environment.

pub mod configmap;
pub mod network;
pub mod profile;
pub mod schema;
pub mod selector;
pub mod types;
mod validate;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

pub use network::*;
pub use selector::Selector;
pub use types::*;

/// One problem in the function config, with the field it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Dotted path of the field, e.g. `spec.classes.backend.environments.prod.replicas`.
    pub field: String,
    pub message: String,
}

impl ConfigProblem {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigProblem {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

/// The environment used when the config names none.
pub const DEFAULT_ENVIRONMENT: &str = "dev";

/// A class resolved for the chosen environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Class {
    pub name: String,
    pub spec: ClassSpec,
    /// The class's settings for the chosen environment (after `basedOn`).
    pub env: ClassEnvSettings,
}

/// The config resolved for one run.
#[derive(Debug, Clone)]
pub struct Config {
    pub environment: String,
    pub mode: Mode,
    pub enabled: BTreeSet<DefaultKind>,
    pub enforce: BTreeSet<DefaultKind>,
    pub selector: Selector,
    pub exclude: Vec<Selector>,
    pub workload_kinds: Vec<WorkloadKindSpec>,
    pub classes: BTreeMap<String, Class>,
    pub fallback_class: String,
    pub network: NetworkPolicySpec,
    pub per_field_results: bool,
    pub max_info: usize,
    /// The merged spec, as resolved (for `apply-defaults config`-style introspection).
    pub spec: Spec,
}

impl Config {
    /// Loads the functionConfig of a ResourceList (None: the shipped profile, `dev`).
    pub fn load(function_config: Option<&Value>) -> Result<Config, Vec<ConfigProblem>> {
        let user = match function_config {
            None => Value::Object(Default::default()),
            Some(fc) => user_spec_json(fc)?,
        };
        let from_configmap = function_config.is_some_and(|fc| fc["kind"] == "ConfigMap");
        Self::from_user_spec(user).map_err(|mut problems| {
            // The user of the ConfigMap form wrote `data.environment`, not `spec.environment`:
            // point at the knob they wrote.
            if from_configmap {
                for p in &mut problems {
                    if let Some(field) = configmap::knob_of(&p.field) {
                        p.field = field;
                    }
                }
            }
            problems
        })
    }

    /// Resolves a user spec (already validated against the schema) over the shipped profile.
    pub fn from_user_spec(user: Value) -> Result<Config, Vec<ConfigProblem>> {
        let use_profile = user
            .get("useShippedProfile")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let mut merged = if use_profile {
            profile::shipped_spec_json()
        } else {
            Value::Object(Default::default())
        };
        let mut user = user;
        normalize_exclusive_fields(&mut user);
        json_patch::merge(&mut merged, &user);
        let spec: Spec = serde_json::from_value(merged).map_err(|e| {
            vec![ConfigProblem::new(
                "spec",
                format!("merged config is invalid: {e}"),
            )]
        })?;
        validate::validate(&spec)?;
        Ok(Self::resolve(spec))
    }

    fn resolve(spec: Spec) -> Config {
        let environment = spec
            .environment
            .clone()
            .unwrap_or_else(|| DEFAULT_ENVIRONMENT.to_string());
        let chain = validate::environment_chain(&spec, &environment);
        let classes = spec
            .classes
            .iter()
            .map(|(name, c)| {
                let env = chain
                    .iter()
                    .find_map(|e| c.environments.get(e))
                    .cloned()
                    .unwrap_or_default();
                (
                    name.clone(),
                    Class {
                        name: name.clone(),
                        spec: c.clone(),
                        env,
                    },
                )
            })
            .collect();
        let enabled = match &spec.defaults {
            Some(list) if !list.is_empty() => list.iter().copied().collect(),
            _ => DefaultKind::ALL.into_iter().collect(),
        };
        Config {
            environment,
            mode: spec.mode.unwrap_or_default(),
            enabled,
            enforce: spec.enforce.iter().copied().collect(),
            selector: spec.selector.clone(),
            exclude: spec.exclude.clone(),
            workload_kinds: spec.workload_kinds.clone(),
            classes,
            fallback_class: spec
                .fallback_class
                .clone()
                .unwrap_or_else(|| "default".into()),
            network: spec.network_policy.clone(),
            per_field_results: spec.results.per_field.unwrap_or(false),
            max_info: spec.results.max_info.unwrap_or(200),
            spec,
        }
    }

    /// The default config: the shipped profile in `dev`.
    pub fn shipped() -> Config {
        Self::load(None).expect("the shipped profile is valid (tested)")
    }

    /// True when the default is switched on by the config.
    pub fn applies(&self, d: DefaultKind) -> bool {
        self.enabled.contains(&d)
    }

    /// True when the default may overwrite values the manifests set.
    pub fn enforces(&self, d: DefaultKind) -> bool {
        self.enforce.contains(&d)
    }

    /// True when the config's selector and excludes let the function touch this item.
    pub fn selects(&self, item: &Value) -> bool {
        self.selector.matches(item) && !self.exclude.iter().any(|s| s.matches(item))
    }

    pub fn class(&self, name: &str) -> Option<&Class> {
        self.classes.get(name)
    }

    /// The fallback class (always present: validation checks it).
    pub fn fallback(&self) -> &Class {
        &self.classes[&self.fallback_class]
    }
}

/// A user who sets `minAvailable` means "instead of the profile's `maxUnavailable`" (and the
/// other way round); a plain merge would keep both and fail validation.
fn normalize_exclusive_fields(user: &mut Value) {
    let Some(classes) = user.get_mut("classes").and_then(Value::as_object_mut) else {
        return;
    };
    for class in classes.values_mut() {
        let Some(envs) = class.get_mut("environments").and_then(Value::as_object_mut) else {
            continue;
        };
        for env in envs.values_mut() {
            let Some(pdb) = env
                .get_mut("disruptionBudget")
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            for (set, other) in [
                ("minAvailable", "maxUnavailable"),
                ("maxUnavailable", "minAvailable"),
            ] {
                if pdb.get(set).is_some_and(|v| !v.is_null()) && !pdb.contains_key(other) {
                    pdb.insert(other.to_string(), Value::Null);
                }
            }
        }
    }
}

/// Turns a functionConfig (typed or ConfigMap) into the user's spec as JSON, checked against
/// the typed schema so unknown fields are refused by name and path.
fn user_spec_json(fc: &Value) -> Result<Value, Vec<ConfigProblem>> {
    let kind = fc.get("kind").and_then(Value::as_str).unwrap_or_default();
    let api_version = fc
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match kind {
        "ConfigMap" => configmap::to_spec_json(fc),
        KIND => {
            if api_version != API_VERSION {
                return Err(vec![ConfigProblem::new(
                    "apiVersion",
                    format!(
                        "`{api_version}` is not supported for kind {KIND}: use `{API_VERSION}`"
                    ),
                )]);
            }
            schema_problems(fc)?;
            Ok(fc
                .get("spec")
                .cloned()
                .unwrap_or(Value::Object(Default::default())))
        }
        "" => Err(vec![ConfigProblem::new(
            "kind",
            format!("the functionConfig has no kind: use kind {KIND} ({API_VERSION}) or ConfigMap"),
        )]),
        other => Err(vec![ConfigProblem::new(
            "kind",
            format!(
                "functionConfig kind `{other}` is not supported: use kind {KIND} ({API_VERSION}) or ConfigMap"
            ),
        )]),
    }
}

/// Most schema problems reported for one config (each found by one more deserialization).
const MAX_SCHEMA_PROBLEMS: usize = 32;

/// Checks a typed config against the schema and reports every problem at once, the way kpt's
/// `LoadFunctionConfig` does: serde stops at the first error, so each error's node is removed and
/// the document read again.
fn schema_problems(fc: &Value) -> Result<(), Vec<ConfigProblem>> {
    let mut doc = fc.clone();
    drop_removals(&mut doc);
    let mut problems = Vec::new();
    while problems.len() < MAX_SCHEMA_PROBLEMS {
        let Err(e) = serde_path_to_error::deserialize::<_, ApplyDefaults>(doc.clone()) else {
            break;
        };
        let path = e.path().to_string();
        let field = if path == "." { String::new() } else { path };
        problems.push(ConfigProblem::new(
            field.clone(),
            e.into_inner().to_string(),
        ));
        if field.is_empty() || !remove_path(&mut doc, &field) {
            break;
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Removes the `null` entries of the maps whose values are whole objects (`classes`,
/// `environments`): in a merge patch (RFC 7396) `classes: {minio: null}` removes the shipped
/// class, so it is valid input, though `null` is no class.
fn drop_removals(doc: &mut Value) {
    for key in ["classes", "environments"] {
        if let Some(m) = doc
            .get_mut("spec")
            .and_then(|s| s.get_mut(key))
            .and_then(Value::as_object_mut)
        {
            m.retain(|_, v| !v.is_null());
        }
    }
}

/// One step of a field path.
enum Step {
    Key(String),
    Index(usize),
}

/// Removes the node at a serde_path_to_error path (`a.b[0].c`); false when it is not there.
fn remove_path(doc: &mut Value, path: &str) -> bool {
    let mut steps: Vec<Step> = Vec::new();
    for part in path.split('.') {
        let (key, rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            steps.push(Step::Key(key.to_string()));
        }
        for idx in rest.split(['[', ']']).filter(|s| !s.is_empty()) {
            match idx.parse() {
                Ok(i) => steps.push(Step::Index(i)),
                Err(_) => return false,
            }
        }
    }
    let Some((last, parents)) = steps.split_last() else {
        return false;
    };
    let mut cur = doc;
    for step in parents {
        let next = match step {
            Step::Key(k) => cur.get_mut(k.as_str()),
            Step::Index(i) => cur.get_mut(*i),
        };
        match next {
            Some(n) => cur = n,
            None => return false,
        }
    }
    match (last, cur) {
        (Step::Key(k), Value::Object(m)) => m.shift_remove(k).is_some(),
        (Step::Index(i), Value::Array(a)) if *i < a.len() => {
            a.remove(*i);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_schema_problem_is_reported_at_once() {
        let fc = json!({"apiVersion": API_VERSION, "kind": KIND, "spec": {
            "classes": {"backend": {"probes": {"paht": "/x"}, "environments": {"prod": {"replica": 2}}}},
            "results": {"maxInfo": "many"}}});
        let errs = Config::load(Some(&fc)).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(
            fields.contains(&"spec.classes.backend.probes.paht"),
            "{fields:?}"
        );
        assert!(
            fields.contains(&"spec.classes.backend.environments.prod.replica"),
            "{fields:?}"
        );
        assert!(fields.contains(&"spec.results.maxInfo"), "{fields:?}");
    }

    #[test]
    fn shipped_profile_is_valid_and_defaults_to_dev() {
        let c = Config::shipped();
        assert_eq!(c.environment, "dev");
        assert_eq!(c.classes["backend"].env.replicas, Some(2));
        assert!(c.applies(DefaultKind::Probes));
    }

    #[test]
    fn typed_config_picks_prod() {
        let fc = json!({"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": "x",
            "annotations": {"config.kubernetes.io/function": "container: {image: x}"}},
            "spec": {"environment": "prod"}});
        let c = Config::load(Some(&fc)).unwrap();
        assert_eq!(c.environment, "prod");
        let hpa = c.classes["backend"].env.autoscaling.clone().unwrap();
        assert_eq!((hpa.min_replicas, hpa.max_replicas), (2, 5));
        assert_eq!(hpa.target_cpu_utilization_percentage, Some(70));
    }

    #[test]
    fn unknown_field_is_named_with_its_path() {
        let fc = json!({"apiVersion": API_VERSION, "kind": KIND,
            "spec": {"classes": {"backend": {"environments": {"prod": {"replica": 3}}}}}});
        let errs = Config::load(Some(&fc)).unwrap_err();
        assert!(
            errs[0]
                .field
                .contains("spec.classes.backend.environments.prod"),
            "{errs:?}"
        );
        assert!(errs[0].message.contains("replica"), "{errs:?}");
    }

    #[test]
    fn unknown_environment_lists_the_defined_ones() {
        let fc = json!({"apiVersion": API_VERSION, "kind": KIND, "spec": {"environment": "qa"}});
        let errs = Config::load(Some(&fc)).unwrap_err();
        assert!(errs[0].message.contains("dev, prod"), "{errs:?}");
    }

    #[test]
    fn wrong_kind_and_version_are_refused() {
        let errs = Config::load(Some(&json!({"apiVersion": "v1", "kind": "Secret"}))).unwrap_err();
        assert_eq!(errs[0].field, "kind");
        let errs = Config::load(Some(&json!({"apiVersion": "x/v2", "kind": KIND}))).unwrap_err();
        assert_eq!(errs[0].field, "apiVersion");
    }

    #[test]
    fn user_class_merges_over_profile() {
        let fc = json!({"apiVersion": API_VERSION, "kind": KIND, "spec": {"classes": {
            "backend": {"environments": {"dev": {"replicas": 4}}}}}});
        let c = Config::load(Some(&fc)).unwrap();
        assert_eq!(c.classes["backend"].env.replicas, Some(4));
        assert!(c.classes["backend"].env.resources.is_some());
    }

    #[test]
    fn based_on_falls_back() {
        let fc = json!({"apiVersion": API_VERSION, "kind": KIND, "spec": {"environment": "staging",
            "environments": {"staging": {"basedOn": "prod"}}}});
        let c = Config::load(Some(&fc)).unwrap();
        assert_eq!(c.classes["backend"].env.replicas, Some(3));
    }
}
