//! The typed function config, `kind: ApplyDefaults`. Every field is documented here: the JSON
//! Schema (`apply-defaults schema`) and the config reference (`docs/config-reference.md`) are
//! generated from these comments.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::network::{ClassNetworkSpec, NetworkPolicySpec};
use super::selector::Selector;

/// `apiVersion` of the typed config.
pub const API_VERSION: &str = "apply-defaults.dev/v1alpha1";
/// `kind` of the typed config.
pub const KIND: &str = "ApplyDefaults";

/// Function config of `apply-defaults`: which environment to render, which defaults to apply
/// to which resources, and (optionally) workload classes and network rules that extend or
/// override the shipped profile.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "ApplyDefaults")]
pub struct ApplyDefaults {
    /// Must be `apply-defaults.dev/v1alpha1`.
    pub api_version: String,
    /// Must be `ApplyDefaults`.
    pub kind: String,
    /// Standard object metadata. Orchestrator annotations such as
    /// `config.kubernetes.io/function` and `config.kubernetes.io/local-config` are accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<BTreeMap<String, serde_json::Value>>")]
    pub metadata: Option<serde_json::Value>,
    /// What to apply.
    #[serde(default)]
    pub spec: Spec,
}

/// What to apply, where, and with which settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(transform = super::schema::spec)]
pub struct Spec {
    /// Environment whose settings apply, one of the keys of `environments` (the shipped profile
    /// defines `dev` and `prod`). Default: `dev`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// `apply` (the default) fills in defaults; `check` changes nothing and reports every
    /// missing default as an error result (exit 1), for kpt validators and CI gates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// Defaults to apply. Empty or absent applies all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<Vec<DefaultKind>>,
    /// Defaults whose values overwrite what the manifests already set. By default the
    /// function only fills in what is missing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enforce: Vec<DefaultKind>,
    /// Which resources the function may touch. Every field must match; an empty selector
    /// selects everything.
    #[serde(default, skip_serializing_if = "Selector::is_empty")]
    pub selector: Selector,
    /// Resources to leave alone: a resource matching any of these selectors is skipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<Selector>,
    /// Extra workload kinds with a pod template (for example Argo Rollouts), in addition to
    /// Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob and Pod.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workload_kinds: Vec<WorkloadKindSpec>,
    /// Named environments. The shipped profile defines `dev` and `prod`; add more here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(transform = super::schema::nullable_values)]
    pub environments: BTreeMap<String, EnvironmentSpec>,
    /// Workload classes by name. Entries here are merged over the shipped profile's classes
    /// of the same name (RFC 7396 merge: a `null` removes a profile setting); new names add
    /// classes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(transform = super::schema::classes)]
    pub classes: BTreeMap<String, ClassSpec>,
    /// The class used for workloads no class matches. Default: `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_class: Option<String>,
    /// NetworkPolicy generation: ingress controller, monitoring, declared edges, external
    /// services.
    #[serde(default)]
    pub network_policy: NetworkPolicySpec,
    /// How much the function reports in `results`.
    #[serde(default)]
    pub results: ResultsSpec,
    /// Start from the shipped profile (true, the default) or from nothing but this config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_shipped_profile: Option<bool>,
}

/// What a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Fill in the defaults.
    #[default]
    Apply,
    /// Change nothing; report each missing default as an error.
    Check,
}

/// One of the defaults the function applies; also the names used by the opt-out annotations.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum DefaultKind {
    /// cpu and memory requests and limits (and ephemeral-storage when the class sets it).
    Resources,
    /// readiness, liveness and startup probes derived from ports and images.
    Probes,
    /// pod and container securityContext for Pod Security "restricted", read-only root
    /// filesystem with writable emptyDirs, no service-account token.
    Security,
    /// replica counts per environment.
    Replicas,
    /// HorizontalPodAutoscalers (prod), which take over `spec.replicas`.
    Autoscaling,
    /// PodDisruptionBudgets for multi-replica workloads.
    DisruptionBudget,
    /// pod anti-affinity on hostname and topology spread across zones.
    Spreading,
    /// NetworkPolicies: default-deny, DNS, and least-privilege policies per workload.
    NetworkPolicy,
}

impl DefaultKind {
    pub const ALL: [DefaultKind; 8] = [
        DefaultKind::Resources,
        DefaultKind::Probes,
        DefaultKind::Security,
        DefaultKind::Replicas,
        DefaultKind::Autoscaling,
        DefaultKind::DisruptionBudget,
        DefaultKind::Spreading,
        DefaultKind::NetworkPolicy,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DefaultKind::Resources => "resources",
            DefaultKind::Probes => "probes",
            DefaultKind::Security => "security",
            DefaultKind::Replicas => "replicas",
            DefaultKind::Autoscaling => "autoscaling",
            DefaultKind::DisruptionBudget => "disruption-budget",
            DefaultKind::Spreading => "spreading",
            DefaultKind::NetworkPolicy => "network-policy",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }

    pub fn names() -> String {
        Self::ALL.map(DefaultKind::name).join(", ")
    }
}

/// A custom workload kind and where its pod template sits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkloadKindSpec {
    /// API group of the kind, e.g. `argoproj.io` (empty for the core group).
    #[serde(default)]
    pub group: String,
    /// The kind, e.g. `Rollout`.
    pub kind: String,
    /// Path of the pod template, dot-separated, e.g. `spec.template`.
    pub pod_template_path: String,
    /// Path of the replica count, dot-separated (absent: the kind has no replicas).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas_path: Option<String>,
}

/// An environment. Classes carry settings per environment name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvironmentSpec {
    /// What the environment is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Another environment whose class settings apply where a class has none for this one
    /// (e.g. `staging` based on `prod`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub based_on: Option<String>,
}

/// A workload class: how workloads are recognised, and their defaults per environment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClassSpec {
    /// What the class is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// How workloads are assigned to this class.
    #[serde(default, rename = "match")]
    pub matches: ClassMatch,
    /// Settings per environment name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environments: BTreeMap<String, ClassEnvSettings>,
    /// Probe settings shared by all environments.
    #[serde(default)]
    pub probes: ProbeSettings,
    /// Security settings shared by all environments.
    #[serde(default)]
    pub security: SecuritySettings,
    /// Network settings: egress beyond the cluster.
    #[serde(default)]
    pub network: ClassNetworkSpec,
}

/// How a workload is assigned to a class. A workload's class is decided in this order: the
/// annotation `apply-defaults.dev/class`; the label `app.kubernetes.io/component` equal to the
/// class name or listed in `components`; `labels`; `names`; `images`. A workload no class
/// matches gets the fallback class.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClassMatch {
    /// Values of `app.kubernetes.io/component` that mean this class (besides its own name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    /// Pod-template labels that must all be present with these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Workload names; `*` matches any run of characters (e.g. `*-agent`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Image repositories of any container, without tag or digest; `*` matches any run of
    /// characters (e.g. `postgres`, `*/postgres`, `bitnami/postgresql*`). Docker Hub's
    /// `docker.io/` and `library/` prefixes are ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
}

/// Settings of a class in one environment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClassEnvSettings {
    /// Replica count, set where the manifest has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Container requests and limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceSettings>,
    /// A HorizontalPodAutoscaler for the workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoscalingSettings>,
    /// A PodDisruptionBudget for the workload (only when it runs more than one replica).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disruption_budget: Option<DisruptionBudgetSettings>,
    /// Preferred anti-affinity on `kubernetes.io/hostname` and topology spread across zones
    /// (only when the workload runs more than one replica).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spreading: Option<bool>,
}

/// Requests and limits by resource name (`cpu`, `memory`, `ephemeral-storage`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourceSettings {
    /// Requests, e.g. `{cpu: 200m, memory: 256Mi}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(transform = super::schema::quantity_map)]
    pub requests: BTreeMap<String, String>,
    /// Limits, e.g. `{cpu: "1", memory: 1Gi}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(transform = super::schema::quantity_map)]
    pub limits: BTreeMap<String, String>,
}

/// HorizontalPodAutoscaler bounds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AutoscalingSettings {
    /// Lower bound of replicas (at least 1).
    #[schemars(range(min = 1))]
    pub min_replicas: i32,
    /// Upper bound of replicas (at least `minReplicas`).
    #[schemars(range(min = 1))]
    pub max_replicas: i32,
    /// Target average CPU utilization, percent of the request.
    #[serde(
        default,
        rename = "targetCPUUtilizationPercentage",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 1))]
    pub target_cpu_utilization_percentage: Option<i32>,
    /// Target average memory utilization, percent of the request.
    #[serde(
        default,
        rename = "targetMemoryUtilizationPercentage",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 1))]
    pub target_memory_utilization_percentage: Option<i32>,
}

/// PodDisruptionBudget: exactly one of the two fields. Zero-disruption budgets (which block
/// node drains) are refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(transform = super::schema::disruption_budget)]
pub struct DisruptionBudgetSettings {
    /// Pods that may be unavailable at once: a count (`1`) or a percentage (`"25%"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = super::schema::max_unavailable)]
    pub max_unavailable: Option<serde_json::Value>,
    /// Pods that must stay available: a count or a percentage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(transform = super::schema::min_available)]
    pub min_available: Option<serde_json::Value>,
    /// `IfHealthyBudget` or `AlwaysAllow` (default: `AlwaysAllow`, so stuck unhealthy pods do not
    /// block node drains).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["IfHealthyBudget", "AlwaysAllow", null]))]
    pub unhealthy_pod_eviction_policy: Option<String>,
}

/// How probes are derived for a class.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProbeSettings {
    /// HTTP path of the health endpoint on the container's http port, e.g. `/health`. Without
    /// it, http ports get TCP probes unless the image is a known one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Seconds before the first readiness check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness_initial_delay_seconds: Option<i32>,
    /// Seconds between readiness checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness_period_seconds: Option<i32>,
    /// Seconds before the first liveness check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_initial_delay_seconds: Option<i32>,
    /// Seconds between liveness checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_period_seconds: Option<i32>,
    /// Seconds a check may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i32>,
    /// Consecutive failures before the container counts as unready / is restarted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<i32>,
    /// Give slow starters a startup probe allowing this many seconds to start (0 or absent:
    /// no startup probe unless the image is known to start slowly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_seconds: Option<i32>,
}

/// Security settings for a class.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecuritySettings {
    /// UID to run as (default 10001; must be >= 10000 to pass kube-score and Checkov, lower
    /// values are allowed with a warning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<i64>,
    /// GID to run as (default 10001).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_group: Option<i64>,
    /// Group owning mounted volumes (default 10001).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs_group: Option<i64>,
    /// Mount the root filesystem read-only (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_root_filesystem: Option<bool>,
    /// Extra paths the program writes, mounted as emptyDir volumes (besides `/tmp` and what is
    /// known for well-known images).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writable_paths: Vec<String>,
    /// The workload talks to the Kubernetes API: keep the service-account token mounted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needs_kubernetes_api: Option<bool>,
}

/// What goes into `results`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResultsSpec {
    /// One info result per field set (with `field.path` and `proposedValue`) instead of one per
    /// resource. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_field: Option<bool>,
    /// Most info results to write; the rest are summed up in one line, so thousands of
    /// workloads do not drown kpt's results file. Default 200. Warnings and errors are never
    /// dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_info: Option<usize>,
}
