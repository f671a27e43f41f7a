//! What is known about well-known images: how to check their health, which paths they write,
//! whether they start slowly, and what stops them from running hardened. One data table, so
//! supporting another image is one entry, not a change to every default.

use crate::config::selector::glob_match;

/// A health check an image supports. Port-bound checks target the image's port when the
/// container declares it, else the container's first declared TCP port; they are skipped when
/// the container declares no port at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// HTTP GET on this path.
    Http(&'static str),
    /// A TCP connection.
    Tcp,
    /// A command; `{port}` is replaced by the port (declared, else the image's default).
    Exec(&'static [&'static str]),
}

/// Everything the defaults know about one image family.
#[derive(Debug)]
pub struct KnownImage {
    /// For messages, e.g. `PostgreSQL`.
    pub name: &'static str,
    /// Globs over the normalised repository (`workload::image_repository`).
    pub repositories: &'static [&'static str],
    /// The port the image serves on unless configured otherwise.
    pub port: Option<i32>,
    /// Readiness checks, best first.
    pub readiness: &'static [Check],
    /// Liveness checks, best first; the first one that differs from the readiness check wins.
    pub liveness: &'static [Check],
    /// Seconds a startup probe should allow (the image is slow to start).
    pub startup_seconds: Option<i32>,
    /// Timeout for its checks, when the class sets none (exec checks start a process).
    pub timeout_seconds: Option<i32>,
    /// Paths the program writes, besides `/tmp`; each gets an emptyDir unless mounted.
    pub writable_paths: &'static [&'static str],
    /// Shown when the image runs under the hardened securityContext: what breaks and what to do.
    pub hardening_note: Option<&'static str>,
    /// A data directory that must not be a volume's root when running as non-root.
    pub data_dir: Option<DataDir>,
}

/// A data directory named by an environment variable. A program that insists on owning its
/// data directory (PostgreSQL's initdb chmods it to 0700) cannot use a volume's root as a
/// non-root UID, because the root directory of a volume belongs to root; a subdirectory it
/// creates itself (writable through fsGroup) works.
#[derive(Debug, Clone, Copy)]
pub struct DataDir {
    pub env: &'static str,
    /// The directory when the variable is unset.
    pub default: &'static str,
    /// The subdirectory of the mount to use instead.
    pub subdir: &'static str,
}

/// The table. Sources: each image's Dockerfile and entrypoint (data directories, default
/// ports, the user it expects) and its documented health endpoints.
pub static KNOWN_IMAGES: &[KnownImage] = &[
    KnownImage {
        name: "PostgreSQL",
        repositories: &["postgres", "*/postgres", "*/postgresql"],
        port: Some(5432),
        // pg_isready only asks whether the server accepts connections (authentication is not
        // checked); `-U` spares libpq a passwd lookup that fails for an arbitrary UID.
        readiness: &[Check::Exec(&[
            "pg_isready",
            "-U",
            "postgres",
            "-h",
            "127.0.0.1",
            "-p",
            "{port}",
        ])],
        liveness: &[
            Check::Tcp,
            Check::Exec(&[
                "pg_isready",
                "-U",
                "postgres",
                "-h",
                "/var/run/postgresql",
                "-p",
                "{port}",
            ]),
        ],
        startup_seconds: None,
        timeout_seconds: Some(5),
        // The unix socket and lock file live in /var/run/postgresql.
        writable_paths: &["/var/run/postgresql", "/var/lib/postgresql/data"],
        hardening_note: None,
        data_dir: Some(DataDir {
            env: "PGDATA",
            default: "/var/lib/postgresql/data",
            subdir: "pgdata",
        }),
    },
    KnownImage {
        name: "Redis",
        repositories: &["redis", "*/redis"],
        port: Some(6379),
        // redis-cli exits 0 on an error reply (NOAUTH) and 1 when it cannot connect, so this
        // works with and without requirepass.
        readiness: &[Check::Exec(&[
            "redis-cli",
            "-h",
            "127.0.0.1",
            "-p",
            "{port}",
            "ping",
        ])],
        liveness: &[Check::Tcp],
        startup_seconds: None,
        timeout_seconds: Some(5),
        writable_paths: &["/data"],
        hardening_note: None,
        data_dir: None,
    },
    KnownImage {
        name: "MinIO",
        repositories: &["minio/minio", "*/minio"],
        port: Some(9000),
        readiness: &[Check::Http("/minio/health/ready")],
        liveness: &[Check::Http("/minio/health/live")],
        startup_seconds: None,
        timeout_seconds: None,
        // An arbitrary UID has HOME=/, where MinIO creates its certs directory.
        writable_paths: &["/data", "/.minio"],
        hardening_note: None,
        data_dir: None,
    },
    KnownImage {
        name: "Grafana",
        repositories: &[
            "grafana/grafana",
            "grafana/grafana-oss",
            "grafana/grafana-enterprise",
        ],
        port: Some(3000),
        readiness: &[Check::Http("/api/health")],
        liveness: &[Check::Tcp],
        startup_seconds: None,
        timeout_seconds: None,
        writable_paths: &["/var/lib/grafana", "/var/log/grafana"],
        hardening_note: None,
        data_dir: None,
    },
    KnownImage {
        name: "Tempo",
        repositories: &["grafana/tempo"],
        port: Some(3200),
        readiness: &[Check::Http("/ready")],
        liveness: &[Check::Tcp],
        startup_seconds: None,
        timeout_seconds: None,
        writable_paths: &["/var/tempo"],
        hardening_note: None,
        data_dir: None,
    },
    KnownImage {
        name: "Ollama",
        repositories: &["ollama/ollama"],
        port: Some(11434),
        // Answers as soon as the server listens; models load on first use.
        readiness: &[Check::Http("/api/version")],
        liveness: &[Check::Tcp],
        startup_seconds: Some(300),
        timeout_seconds: None,
        // Models and keys go to $HOME/.ollama, and an arbitrary UID has HOME=/.
        writable_paths: &["/.ollama"],
        hardening_note: Some(
            "Ollama keeps models in $HOME/.ollama; as a non-root UID its HOME is /, so mount the \
             models volume at /.ollama (or set OLLAMA_MODELS to a path on it); /root is mode 0700 \
             and not reachable as non-root",
        ),
        data_dir: None,
    },
    KnownImage {
        name: "nginx (unprivileged)",
        repositories: &["nginxinc/nginx-unprivileged", "*/nginx-unprivileged"],
        port: Some(8080),
        readiness: &[Check::Http("/")],
        liveness: &[Check::Tcp],
        startup_seconds: None,
        timeout_seconds: None,
        writable_paths: &["/var/cache/nginx"],
        hardening_note: None,
        data_dir: None,
    },
    KnownImage {
        name: "nginx",
        repositories: &["nginx", "*/nginx"],
        port: Some(80),
        readiness: &[Check::Http("/")],
        liveness: &[Check::Tcp],
        startup_seconds: None,
        timeout_seconds: None,
        writable_paths: &["/var/cache/nginx", "/var/run"],
        hardening_note: Some(
            "the nginx image listens on port 80 as root; as a non-root UID it cannot bind a port \
             below 1024, so change `listen` to 8080 (and the containerPort and Service targetPort), \
             or use nginxinc/nginx-unprivileged",
        ),
        data_dir: None,
    },
    KnownImage {
        name: "OpenResty",
        repositories: &["openresty/openresty", "*/openresty"],
        port: Some(80),
        readiness: &[Check::Http("/")],
        liveness: &[Check::Tcp],
        startup_seconds: None,
        timeout_seconds: None,
        // The official images put nginx's temp paths under /var/run/openresty; the pid file
        // is logs/nginx.pid. An emptyDir over logs/ hides the image's access.log and error.log
        // links to stdout and stderr, so configs should log to /dev/stdout explicitly.
        writable_paths: &["/var/run/openresty", "/usr/local/openresty/nginx/logs"],
        hardening_note: Some(
            "OpenResty listens on port 80 as root by default; as a non-root UID it cannot bind a \
             port below 1024, so change `listen` to 8080 (and the containerPort and Service \
             targetPort)",
        ),
        data_dir: None,
    },
];

/// What is known about an image reference (`docker.io/library/postgres:16-alpine`), if anything.
pub fn lookup(image: &str) -> Option<&'static KnownImage> {
    let repo = crate::workload::image_repository(image);
    KNOWN_IMAGES
        .iter()
        .find(|k| k.repositories.iter().any(|p| glob_match(p, &repo)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_images_by_repository() {
        assert_eq!(
            lookup("postgres:16-alpine").map(|k| k.name),
            Some("PostgreSQL")
        );
        assert_eq!(
            lookup("docker.io/bitnami/postgresql:16").map(|k| k.name),
            Some("PostgreSQL")
        );
        assert_eq!(lookup("grafana/tempo:2.8.1").map(|k| k.name), Some("Tempo"));
        assert_eq!(
            lookup("nginxinc/nginx-unprivileged:1.27").map(|k| k.name),
            Some("nginx (unprivileged)")
        );
        assert_eq!(lookup("nginx:1.27").map(|k| k.name), Some("nginx"));
        assert!(lookup("mcpmesh/python-runtime:0.5.3").is_none());
    }

    #[test]
    fn every_image_has_distinct_readiness_and_liveness() {
        for k in KNOWN_IMAGES {
            assert!(!k.readiness.is_empty(), "{}", k.name);
            assert!(
                k.liveness.iter().any(|l| !k.readiness.contains(l)),
                "{}",
                k.name
            );
        }
    }
}
