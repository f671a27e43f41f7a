//! The writable volumes a read-only root needs: an emptyDir for every path the program writes
//! that no volume covers (/tmp, the class's paths, a known image's paths), and a known image's
//! data directory moved off a volume root it cannot own.

use super::*;

impl Hardening<'_> {
    /// Appends the emptyDir volumes this run made to the pod's list.
    pub(super) fn add_volumes(&self, spec: &mut Value, new_volumes: Vec<Value>, out: &mut Outcome) {
        if let (false, Some(obj)) = (new_volumes.is_empty(), spec.as_object_mut()) {
            let list = obj
                .entry("volumes")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Some(list) = list.as_array_mut() {
                for v in new_volumes {
                    let name = v["name"].as_str().unwrap_or_default().to_string();
                    out.set(D, format!("{}.volumes[name={name}]", self.base), v.clone());
                    list.push(v);
                }
            } else {
                out.warn(format!(
                    "{}.volumes is not a list; no emptyDir volumes added",
                    self.base
                ));
            }
        }
    }

    /// An emptyDir for every path the container writes that no volume covers yet.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn writable_paths(
        &self,
        c: &mut Value,
        known: Option<&KnownImage>,
        cpath: &str,
        names: &mut HashSet<String>,
        added: &mut HashMap<String, String>,
        new_volumes: &mut Vec<Value>,
        out: &mut Outcome,
    ) {
        let mut paths: Vec<&str> = vec!["/tmp"];
        paths.extend(self.settings.writable_paths.iter().map(String::as_str));
        paths.extend(
            known
                .into_iter()
                .flat_map(|k| k.writable_paths.iter().copied()),
        );
        // An emptyDir at or above a path the image ships files in would hide them (configs,
        // content, log links to stdout): such a path is left to the warning instead.
        let ships: &[&str] = known.map_or(&[], |k| k.ships);
        paths.retain(|p| !ships.iter().any(|s| covers(p, s)));
        let Some(obj) = c.as_object_mut() else { return };
        let mounts = obj
            .entry("volumeMounts")
            .or_insert_with(|| Value::Array(Vec::new()));
        let Some(mounts) = mounts.as_array_mut() else {
            out.warn(format!(
                "{cpath}.volumeMounts is not a list; no emptyDir mounts added"
            ));
            return;
        };
        for path in paths {
            let path = normalise(path);
            if !path.starts_with('/') {
                continue;
            }
            if mounts
                .iter()
                .any(|m| m["mountPath"].as_str().is_some_and(|mp| covers(mp, path)))
            {
                continue;
            }
            let name = added.entry(path.to_string()).or_insert_with(|| {
                let base = slug(path);
                let mut name = base.clone();
                let mut n = 2;
                while names.contains(&name) {
                    name = format!("{base}-{n}");
                    n += 1;
                }
                names.insert(name.clone());
                let v = Volume {
                    name: name.clone(),
                    empty_dir: Some(EmptyDirVolumeSource::default()),
                    ..Default::default()
                };
                new_volumes.push(name_first(to_map(&v)));
                name
            });
            let m = VolumeMount {
                name: name.clone(),
                mount_path: path.to_string(),
                ..Default::default()
            };
            let m = name_first(to_map(&m));
            out.set(D, format!("{cpath}.volumeMounts[name={name}]"), m.clone());
            mounts.push(m);
        }
        if mounts.is_empty() {
            obj.remove("volumeMounts");
        }
    }

    /// Moves a data directory that is a volume's root into a subdirectory the program can own.
    pub(super) fn data_dir(
        &self,
        c: &mut Value,
        k: &KnownImage,
        user: Option<i64>,
        cpath: &str,
        out: &mut Outcome,
    ) {
        let Some(dd) = k.data_dir else { return };
        let env_set = c["env"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["name"] == dd.env);
        let mounted_at_root = c["volumeMounts"].as_array().into_iter().flatten().any(|m| {
            m["mountPath"]
                .as_str()
                .is_some_and(|mp| normalise(mp) == dd.default)
        });
        if env_set || !mounted_at_root {
            return;
        }
        let value = format!("{}/{}", dd.default, dd.subdir);
        let Some(obj) = c.as_object_mut() else { return };
        let env = obj.entry("env").or_insert_with(|| Value::Array(Vec::new()));
        let Some(env) = env.as_array_mut() else {
            return;
        };
        let var = to_map(&EnvVar {
            name: dd.env.into(),
            value: Some(value.clone()),
            value_from: None,
        });
        let var = name_first(var);
        env.push(var.clone());
        out.set(D, format!("{cpath}.env[name={}]", dd.env), var);
        out.warn(format!(
            "{cpath}: set {}={value}: running as UID {} {} cannot take ownership of the volume's root \
             directory (it belongs to root) but can create and own a subdirectory, writable through fsGroup. \
             A database already initialised at the volume's root must be moved into {}/ first, or set {} in env \
             yourself",
            dd.env,
            user.unwrap_or(DEFAULT_ID),
            k.name,
            dd.subdir,
            dd.env
        ));
    }
}

pub(super) fn normalise(path: &str) -> &str {
    let t = path.trim_end_matches('/');
    if t.is_empty() { "/" } else { t }
}

/// True when a mount at `mount` already makes `path` its own (the same path or inside it).
pub(super) fn covers(mount: &str, path: &str) -> bool {
    let (m, p) = (normalise(mount), normalise(path));
    m == p || m == "/" || p.strip_prefix(m).is_some_and(|rest| rest.starts_with('/'))
}

/// A volume name for a path: a DNS-1123 label (`/var/run/postgresql` -> `var-run-postgresql`).
pub(super) fn slug(path: &str) -> String {
    let mut s = String::new();
    for ch in path.chars() {
        if ch.is_ascii_alphanumeric() {
            s.push(ch.to_ascii_lowercase());
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    let s = s.trim_end_matches('-');
    let s: String = s.chars().take(56).collect();
    let s = s.trim_end_matches('-').to_string();
    if s.is_empty() { "root".into() } else { s }
}
