//! The ResourceList envelope: read any version, write `config.kubernetes.io/v1`.

use serde_json::{Map, Value};

use super::result::FnResult;
use super::yaml::{self, YamlError};

pub const API_VERSION: &str = "config.kubernetes.io/v1";
pub const KIND: &str = "ResourceList";

/// Input that cannot be taken as a ResourceList at all: nothing is written to stdout.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("stdin is empty: expected a ResourceList (kind: ResourceList, items: [...])")]
    Empty,
    #[error("stdin is not valid UTF-8 at byte {0}")]
    NotUtf8(usize),
    #[error(transparent)]
    Yaml(#[from] YamlError),
    #[error(
        "stdin holds {0} YAML documents: a KRM function reads exactly one ResourceList. \
         To transform a plain manifest stream (Helm, pipes), use `apply-defaults stream`"
    )]
    ManyDocuments(usize),
    #[error(
        "the input is a `{0}`, not a ResourceList: a KRM function reads `kind: ResourceList`. \
         To transform plain manifests (Helm, pipes), use `apply-defaults stream`"
    )]
    NotResourceList(String),
    #[error("the input is not a mapping with `kind: ResourceList`")]
    NotAMapping,
    #[error("`{0}` of the ResourceList must be a {1}")]
    BadField(&'static str, &'static str),
}

impl ReadError {
    /// The message for `apply-defaults check`: a plain stream there means `stream --check`,
    /// not `stream` (which would change it).
    pub fn message(&self, check: bool) -> String {
        let text = self.to_string();
        match self {
            ReadError::ManyDocuments(_) | ReadError::NotResourceList(_) if check => {
                text.replace("To transform", "To check").replace(
                    "use `apply-defaults stream`",
                    "use `apply-defaults stream --check`",
                )
            }
            _ => text,
        }
    }
}

/// A parsed ResourceList. Items stay untyped, order-preserving trees.
#[derive(Debug, Clone, Default)]
pub struct ResourceList {
    pub items: Vec<Value>,
    pub function_config: Option<Value>,
    pub results: Vec<FnResult>,
    /// Top-level fields other than the ones above, passed through.
    pub extra: Map<String, Value>,
}

impl ResourceList {
    /// Reads a ResourceList from raw stdin bytes.
    pub fn from_bytes(input: &[u8]) -> Result<Self, ReadError> {
        yaml::check_size(input)?;
        let text = std::str::from_utf8(input).map_err(|e| ReadError::NotUtf8(e.valid_up_to()))?;
        Self::parse(text)
    }

    /// Reads a ResourceList from text (YAML or JSON).
    pub fn parse(text: &str) -> Result<Self, ReadError> {
        if text.trim().is_empty() {
            return Err(ReadError::Empty);
        }
        // One parse: a YAML stream is read as documents, so a multi-document input is told
        // apart without parsing it a second time (hostile inputs cost their bound only once).
        let value: Value = if yaml::looks_like_json(text) {
            yaml::from_str(text)?
        } else if let Some(v) = yaml::resource_list_parallel(text) {
            v
        } else {
            let mut docs = yaml::documents_from_str(text)?;
            match docs.len() {
                0 => return Err(ReadError::NotAMapping),
                1 => docs.pop().unwrap_or_default(),
                n => return Err(ReadError::ManyDocuments(n)),
            }
        };
        Self::from_value(value)
    }

    pub fn from_value(value: Value) -> Result<Self, ReadError> {
        let Value::Object(mut obj) = value else {
            return Err(ReadError::NotAMapping);
        };
        match obj.get("kind").and_then(Value::as_str) {
            Some(KIND) => {}
            Some(other) => return Err(ReadError::NotResourceList(other.to_string())),
            None => return Err(ReadError::NotAMapping),
        }
        let items = match obj.remove("items") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                yaml::check_items(items.len())?;
                items
            }
            Some(_) => return Err(ReadError::BadField("items", "list")),
        };
        let function_config = match obj.remove("functionConfig") {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) => Some(v),
            Some(_) => return Err(ReadError::BadField("functionConfig", "mapping")),
        };
        // Results from earlier functions in a pipeline are not ours to keep: kpt collects
        // each function's results separately.
        obj.remove("results");
        obj.remove("apiVersion");
        obj.remove("kind");
        Ok(ResourceList {
            items,
            function_config,
            results: Vec::new(),
            extra: obj,
        })
    }

    /// True when any result is an error: the process must exit 1 after writing.
    pub fn has_errors(&self) -> bool {
        self.results.iter().any(FnResult::is_error)
    }

    /// The envelope as a tree, `items` always present.
    pub fn to_value(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("apiVersion".into(), Value::String(API_VERSION.into()));
        obj.insert("kind".into(), Value::String(KIND.into()));
        for (k, v) in &self.extra {
            obj.insert(k.clone(), v.clone());
        }
        obj.insert("items".into(), Value::Array(self.items.clone()));
        if let Some(fc) = &self.function_config {
            obj.insert("functionConfig".into(), fc.clone());
        }
        if !self.results.is_empty() {
            obj.insert(
                "results".into(),
                serde_json::to_value(&self.results).unwrap_or(Value::Null),
            );
        }
        Value::Object(obj)
    }

    /// Writes the ResourceList as YAML.
    pub fn to_yaml(&self) -> Result<String, YamlError> {
        // Serialize through a borrowing view instead of cloning every item into a new tree.
        yaml::to_string(&Envelope {
            list: self,
            part: Part::Whole,
        })
    }

    /// Writes the ResourceList with items given as list-entry texts
    /// ([`yaml::list_entry_to_string`]) instead of `self.items`: the same text as [`to_yaml`]
    /// over those items, in pieces to write one after the other.
    ///
    /// [`to_yaml`]: ResourceList::to_yaml
    pub fn to_yaml_pieces(
        &self,
        items: impl Iterator<Item = String>,
    ) -> Result<Vec<String>, YamlError> {
        let mut pieces = vec![yaml::to_string(&Envelope {
            list: self,
            part: Part::Head,
        })?];
        let mut items = items.peekable();
        if items.peek().is_none() {
            pieces.push("items: []\n".to_string());
        } else {
            pieces.push("items:\n".to_string());
            pieces.extend(items);
        }
        if self.function_config.is_some() || !self.results.is_empty() {
            pieces.push(yaml::to_string(&Envelope {
                list: self,
                part: Part::Tail,
            })?);
        }
        Ok(pieces)
    }
}

impl std::str::FromStr for ResourceList {
    type Err = ReadError;

    fn from_str(text: &str) -> Result<Self, ReadError> {
        Self::parse(text)
    }
}

struct Envelope<'a> {
    list: &'a ResourceList,
    part: Part,
}

/// Which fields of the envelope to write: all, or those before or after `items`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Whole,
    Head,
    Tail,
}

impl serde::Serialize for Envelope<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let l = self.list;
        let mut m = s.serialize_map(None)?;
        if self.part != Part::Tail {
            m.serialize_entry("apiVersion", API_VERSION)?;
            m.serialize_entry("kind", KIND)?;
            for (k, v) in &l.extra {
                m.serialize_entry(k, v)?;
            }
        }
        if self.part == Part::Whole {
            m.serialize_entry("items", &l.items)?;
        }
        if self.part != Part::Head {
            if let Some(fc) = &l.function_config {
                m.serialize_entry("functionConfig", fc)?;
            }
            if !l.results.is_empty() {
                m.serialize_entry("results", &l.results)?;
            }
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_any_api_version_and_writes_v1() {
        let rl = ResourceList::parse(
            "apiVersion: config.kubernetes.io/v1alpha1\nkind: ResourceList\nitems: []\n",
        )
        .unwrap();
        let out = rl.to_yaml().unwrap();
        assert!(
            out.starts_with("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []"),
            "{out}"
        );
    }

    #[test]
    fn written_in_pieces_is_written_whole() {
        let text = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nextra: {a: 1}\n\
            items:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a, annotations: {x: 'on'}}\n\
            \x20 data: {script: \"#!/bin/sh\\n\\necho hi\\n\", empty: '', list: '[]'}\n\
            - apiVersion: v1\n  kind: List\n  items: [[], {}, [1, [2, {b: [c]}]], null, '0644', 1.0]\n\
            functionConfig: {apiVersion: v1, kind: ConfigMap, data: {environment: prod}}\n";
        let mut rl = ResourceList::parse(text).unwrap();
        rl.results.push(FnResult::info("done"));
        let entries = rl
            .items
            .iter()
            .map(|i| yaml::list_entry_to_string(i).unwrap());
        let pieces = rl.to_yaml_pieces(entries).unwrap();
        assert_eq!(pieces.concat(), rl.to_yaml().unwrap());

        let mut empty = ResourceList::parse("kind: ResourceList\nitems: []\n").unwrap();
        assert_eq!(
            empty.to_yaml_pieces(std::iter::empty()).unwrap().concat(),
            empty.to_yaml().unwrap()
        );
        empty.function_config = Some(serde_json::json!({"kind": "ConfigMap"}));
        assert_eq!(
            empty.to_yaml_pieces(std::iter::empty()).unwrap().concat(),
            empty.to_yaml().unwrap()
        );
    }

    #[test]
    fn plain_manifest_points_to_stream() {
        let err = ResourceList::parse("apiVersion: v1\nkind: ConfigMap\n").unwrap_err();
        assert!(err.to_string().contains("apply-defaults stream"), "{err}");
        assert!(!err.message(true).contains("transform"), "{err}");
        assert!(
            err.message(true).contains(
                "To check plain manifests (Helm, pipes), use `apply-defaults stream --check`"
            ),
            "{}",
            err.message(true)
        );
        let err = ResourceList::parse("kind: A\n---\nkind: B\n").unwrap_err();
        assert!(err.to_string().contains("2 YAML documents"), "{err}");
        assert!(
            err.message(true)
                .ends_with("use `apply-defaults stream --check`"),
            "{}",
            err.message(true)
        );
        assert_eq!(err.message(false), err.to_string());
    }

    #[test]
    fn empty_input_is_an_error() {
        assert!(matches!(ResourceList::parse("  \n"), Err(ReadError::Empty)));
    }
}
