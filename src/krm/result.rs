//! Structured results, as kpt and kustomize read them from a ResourceList.

use serde::Serialize;
use serde_json::Value;

/// How serious a result is. kpt fails a pipeline on the exit code, which follows `Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The function could not do what it was asked; the process exits 1.
    Error,
    /// Something the user should look at; the output is still valid.
    Warning,
    /// What the function changed.
    Info,
}

/// Names the resource a result is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ResourceRef {
    #[serde(rename = "apiVersion", skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl ResourceRef {
    /// The reference of an item, from whatever identifying fields it has.
    pub fn of(item: &Value) -> Self {
        let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
        ResourceRef {
            api_version: s(&item["apiVersion"]),
            kind: s(&item["kind"]),
            name: s(&item["metadata"]["name"]),
            namespace: item["metadata"]["namespace"].as_str().map(str::to_string),
        }
    }

    /// `Kind/name` or `Kind/namespace/name`, for people.
    pub fn display(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{}/{}", self.kind, ns, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }
}

/// The field a result is about.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Field {
    /// Dotted path with list items named by their key, e.g. `spec.template.spec.containers[name=app].resources`.
    pub path: String,
    #[serde(rename = "currentValue", skip_serializing_if = "Option::is_none")]
    pub current_value: Option<Value>,
    #[serde(rename = "proposedValue", skip_serializing_if = "Option::is_none")]
    pub proposed_value: Option<Value>,
}

/// The file an item came from, as the orchestrator's annotations say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct File {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<i64>,
}

/// One result entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FnResult {
    pub message: String,
    pub severity: Severity,
    #[serde(rename = "resourceRef", skip_serializing_if = "Option::is_none")]
    pub resource_ref: Option<ResourceRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<Field>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<File>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<std::collections::BTreeMap<String, String>>,
}

impl FnResult {
    fn new(severity: Severity, message: impl Into<String>) -> Self {
        FnResult {
            message: message.into(),
            severity,
            resource_ref: None,
            field: None,
            file: None,
            tags: None,
        }
    }
    pub fn error(message: impl Into<String>) -> Self {
        Self::new(Severity::Error, message)
    }
    pub fn warning(message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, message)
    }
    pub fn info(message: impl Into<String>) -> Self {
        Self::new(Severity::Info, message)
    }

    /// Attaches the item's reference and the file it came from.
    pub fn about(mut self, item: &Value) -> Self {
        let r = ResourceRef::of(item);
        // An item with neither kind nor name has no useful reference; its file says where it is.
        if !(r.kind.is_empty() && r.name.is_empty()) {
            self.resource_ref = Some(r);
        }
        self.file = super::annotations::source_file(item);
        self
    }

    pub fn at(mut self, path: impl Into<String>) -> Self {
        self.field.get_or_insert_with(Field::default).path = path.into();
        self
    }

    pub fn proposing(mut self, value: Value) -> Self {
        self.field.get_or_insert_with(Field::default).proposed_value = Some(value);
        self
    }

    pub fn tag(mut self, key: &str, value: impl Into<String>) -> Self {
        self.tags
            .get_or_insert_with(Default::default)
            .insert(key.to_string(), value.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// One line for stderr: `error: Deployment/app: message (field)`.
    pub fn to_human(&self) -> String {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        let mut line = format!("{sev}: ");
        if let Some(r) = &self.resource_ref {
            line.push_str(&r.display());
            line.push_str(": ");
        }
        line.push_str(&self.message);
        if let Some(f) = &self.field {
            if !f.path.is_empty() {
                line.push_str(&format!(" (field {})", f.path));
            }
        }
        if let Some(file) = &self.file {
            line.push_str(&format!(" [{}]", file.path));
        }
        line
    }
}
