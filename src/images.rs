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
    /// The non-root user the image is built for (its `USER`, or the user its root entrypoint
    /// drops to): files it ships and expects to write belong to it.
    pub user: Option<ImageUser>,
    /// Paths the image ships files in (config, content, log links to stdout): an emptyDir at
    /// or above one would hide them, so none is ever mounted there.
    pub ships: &'static [&'static str],
    /// Paths the program writes that hold shipped files: no emptyDir fits, so under a
    /// read-only root the container is warned about them.
    pub writes_shipped: &'static [&'static str],
}

/// The UID/GID an image is built for, on the repositories that build it so (a vendor's
/// rebuild, such as Bitnami's, runs as its own user).
#[derive(Debug, Clone, Copy)]
pub struct ImageUser {
    pub uid: i64,
    pub gid: i64,
    /// Globs over the normalised repository.
    pub repositories: &'static [&'static str],
}

impl KnownImage {
    /// The user this image reference is built for, if known.
    pub fn user_for(&self, image: &str) -> Option<ImageUser> {
        let repo = crate::workload::image_repository(image);
        self.user
            .filter(|u| u.repositories.iter().any(|p| glob_match(p, &repo)))
    }
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
        user: None,
        ships: &[],
        writes_shipped: &[],
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
        // Runs as any non-root UID once its paths are writable (the stacks run it as 10001,
        // which Checkov's CKV_K8S_40 accepts), so no image user is forced.
        user: None,
        ships: &[],
        writes_shipped: &[],
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
        user: None,
        ships: &[],
        writes_shipped: &[],
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
        // Runs as any non-root UID once its paths are writable (the stacks run it as 10001,
        // which Checkov's CKV_K8S_40 accepts), so no image user is forced.
        user: None,
        ships: &["/etc/grafana", "/usr/share/grafana"],
        writes_shipped: &[],
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
        user: None,
        ships: &[],
        writes_shipped: &[],
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
        user: None,
        ships: &[],
        writes_shipped: &[],
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
        user: None,
        ships: &[],
        writes_shipped: &[],
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
            "the nginx image listens on port 80; as a non-root UID it cannot bind a port below 1024 \
             unless the pod sets the sysctl net.ipv4.ip_unprivileged_port_start, so change `listen` \
             to 8080 (and the containerPort and Service targetPort), or use nginxinc/nginx-unprivileged",
        ),
        data_dir: None,
        // The image's `nginx` user (101), which its worker processes run as.
        user: Some(ImageUser {
            uid: 101,
            gid: 101,
            repositories: &["nginx"],
        }),
        ships: &["/etc/nginx", "/usr/share/nginx/html", "/var/log/nginx"],
        writes_shipped: &[],
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
        // is logs/nginx.pid. An emptyDir over logs/ would hide the image's access.log and
        // error.log links to stdout and stderr, so logs/ is warned about, never mounted over.
        writable_paths: &["/var/run/openresty"],
        hardening_note: Some(
            "OpenResty listens on port 80 by default; as a non-root UID it cannot bind a port below \
             1024 unless the pod sets the sysctl net.ipv4.ip_unprivileged_port_start, so change \
             `listen` to 8080 (and the containerPort and Service targetPort)",
        ),
        data_dir: None,
        user: None,
        ships: &[
            "/usr/local/openresty/nginx/conf",
            "/etc/nginx/conf.d",
            "/usr/local/openresty/nginx/logs",
        ],
        writes_shipped: &["/usr/local/openresty/nginx/logs"],
    },
    // httpd writes its pid file and logs under logs/; any non-root UID serves once that is writable.
    KnownImage {
        name: "Apache httpd",
        repositories: &["httpd", "*/httpd"],
        port: Some(80),
        readiness: &[Check::Http("/")],
        liveness: &[Check::Tcp],
        startup_seconds: None,
        timeout_seconds: None,
        writable_paths: &["/usr/local/apache2/logs"],
        hardening_note: None,
        data_dir: None,
        user: None,
        ships: &["/usr/local/apache2/conf", "/usr/local/apache2/htdocs"],
        writes_shipped: &[],
    },
    // The entrypoint drops to ENVOY_UID 101; health is on the admin port, which manifests rarely declare, so only TCP checks.
    KnownImage {
        name: "Envoy",
        repositories: &["envoyproxy/envoy", "envoyproxy/envoy-*"],
        port: Some(10000),
        readiness: &[],
        liveness: &[],
        startup_seconds: None,
        timeout_seconds: None,
        writable_paths: &[],
        hardening_note: None,
        data_dir: None,
        user: Some(ImageUser {
            uid: 101,
            gid: 101,
            repositories: &["envoyproxy/envoy", "envoyproxy/envoy-*"],
        }),
        ships: &["/etc/envoy"],
        writes_shipped: &[],
    },
    // elastic/dockerfiles: USER 1000:0; the keystore is created in config/ at start; 8.x serves HTTPS with auth, so only TCP checks.
    KnownImage {
        name: "Elasticsearch",
        repositories: &[
            "elasticsearch/elasticsearch",
            "elasticsearch",
            "*/elasticsearch",
        ],
        port: Some(9200),
        readiness: &[],
        liveness: &[],
        startup_seconds: None,
        timeout_seconds: None,
        writable_paths: &[
            "/usr/share/elasticsearch/data",
            "/usr/share/elasticsearch/logs",
        ],
        hardening_note: None,
        data_dir: None,
        user: Some(ImageUser {
            uid: 1000,
            gid: 1000,
            repositories: &["*elasticsearch/elasticsearch", "elasticsearch"],
        }),
        ships: &[
            "/usr/share/elasticsearch/config",
            "/usr/share/elasticsearch/plugins",
        ],
        writes_shipped: &["/usr/share/elasticsearch/config"],
    },
    // opensearch-build: USER 1000; the security plugin writes into config/ at start.
    KnownImage {
        name: "OpenSearch",
        repositories: &["opensearchproject/opensearch", "*/opensearch"],
        port: Some(9200),
        readiness: &[],
        liveness: &[],
        startup_seconds: None,
        timeout_seconds: None,
        writable_paths: &["/usr/share/opensearch/data", "/usr/share/opensearch/logs"],
        hardening_note: None,
        data_dir: None,
        user: Some(ImageUser {
            uid: 1000,
            gid: 1000,
            repositories: &["opensearchproject/opensearch"],
        }),
        ships: &[
            "/usr/share/opensearch/config",
            "/usr/share/opensearch/plugins",
        ],
        writes_shipped: &["/usr/share/opensearch/config"],
    },
    // apache/kafka docker/: USER appuser (1000); the run script writes server.properties into config/.
    KnownImage {
        name: "Kafka",
        repositories: &["apache/kafka", "apache/kafka-native"],
        port: Some(9092),
        readiness: &[],
        liveness: &[],
        startup_seconds: None,
        timeout_seconds: None,
        writable_paths: &[
            "/var/lib/kafka/data",
            "/mnt/shared/config",
            "/opt/kafka/logs",
        ],
        hardening_note: None,
        data_dir: None,
        user: Some(ImageUser {
            uid: 1000,
            gid: 1000,
            repositories: &["apache/kafka", "apache/kafka-native"],
        }),
        ships: &["/opt/kafka/config", "/etc/kafka/docker"],
        writes_shipped: &["/opt/kafka/config"],
    },
    // docker-library/zookeeper: user zookeeper (1000); the entrypoint writes zoo.cfg into /conf.
    KnownImage {
        name: "ZooKeeper",
        repositories: &["zookeeper"],
        port: Some(2181),
        readiness: &[],
        liveness: &[],
        startup_seconds: None,
        timeout_seconds: None,
        writable_paths: &["/data", "/datalog", "/logs"],
        hardening_note: None,
        data_dir: None,
        user: Some(ImageUser {
            uid: 1000,
            gid: 1000,
            repositories: &["zookeeper"],
        }),
        ships: &["/conf"],
        writes_shipped: &["/conf"],
    },
    // docker-library/rabbitmq: user rabbitmq (999); the Erlang cookie lives in /var/lib/rabbitmq.
    KnownImage {
        name: "RabbitMQ",
        repositories: &["rabbitmq"],
        port: Some(5672),
        readiness: &[],
        liveness: &[],
        startup_seconds: None,
        timeout_seconds: None,
        writable_paths: &["/var/lib/rabbitmq", "/var/log/rabbitmq"],
        hardening_note: None,
        data_dir: None,
        user: Some(ImageUser {
            uid: 999,
            gid: 999,
            repositories: &["rabbitmq"],
        }),
        ships: &["/etc/rabbitmq"],
        writes_shipped: &[],
    },
    // docker-library/mongo: user mongodb (999).
    KnownImage {
        name: "MongoDB",
        repositories: &["mongo"],
        port: Some(27017),
        readiness: &[],
        liveness: &[],
        startup_seconds: None,
        timeout_seconds: None,
        writable_paths: &["/data/db", "/data/configdb"],
        hardening_note: None,
        data_dir: None,
        user: Some(ImageUser {
            uid: 999,
            gid: 999,
            repositories: &["mongo"],
        }),
        ships: &[],
        writes_shipped: &[],
    },
    // docker-library/mysql: user mysql (999); the socket and pid file live in /var/run/mysqld.
    KnownImage {
        name: "MySQL",
        repositories: &["mysql"],
        port: Some(3306),
        readiness: &[],
        liveness: &[],
        startup_seconds: None,
        timeout_seconds: None,
        writable_paths: &["/var/lib/mysql", "/var/run/mysqld", "/var/lib/mysql-files"],
        hardening_note: None,
        data_dir: None,
        user: Some(ImageUser {
            uid: 999,
            gid: 999,
            repositories: &["mysql"],
        }),
        ships: &["/etc/mysql"],
        writes_shipped: &[],
    },
    // docker-library/mariadb: user mysql (999); the socket lives in /run/mysqld.
    KnownImage {
        name: "MariaDB",
        repositories: &["mariadb"],
        port: Some(3306),
        readiness: &[],
        liveness: &[],
        startup_seconds: None,
        timeout_seconds: None,
        writable_paths: &["/var/lib/mysql", "/run/mysqld"],
        hardening_note: None,
        data_dir: None,
        user: Some(ImageUser {
            uid: 999,
            gid: 999,
            repositories: &["mariadb"],
        }),
        ships: &["/etc/mysql"],
        writes_shipped: &[],
    },
    // jaegertracing/jaeger: USER 10001; in-memory storage by default.
    KnownImage {
        name: "Jaeger",
        repositories: &[
            "jaegertracing/all-in-one",
            "jaegertracing/jaeger",
            "jaegertracing/jaeger-*",
        ],
        port: Some(16686),
        readiness: &[],
        liveness: &[],
        startup_seconds: None,
        timeout_seconds: None,
        writable_paths: &[],
        hardening_note: None,
        data_dir: None,
        user: Some(ImageUser {
            uid: 10001,
            gid: 10001,
            repositories: &[
                "jaegertracing/all-in-one",
                "jaegertracing/jaeger",
                "jaegertracing/jaeger-*",
            ],
        }),
        ships: &[],
        writes_shipped: &[],
    },
    // opentelemetry-collector-releases: USER 10001; config shipped in /etc/otelcol*.
    KnownImage {
        name: "OpenTelemetry Collector",
        repositories: &[
            "otel/opentelemetry-collector",
            "otel/opentelemetry-collector-*",
        ],
        port: Some(4317),
        readiness: &[],
        liveness: &[],
        startup_seconds: None,
        timeout_seconds: None,
        writable_paths: &[],
        hardening_note: None,
        data_dir: None,
        user: Some(ImageUser {
            uid: 10001,
            gid: 10001,
            repositories: &[
                "otel/opentelemetry-collector",
                "otel/opentelemetry-collector-*",
            ],
        }),
        ships: &["/etc/otelcol", "/etc/otelcol-contrib"],
        writes_shipped: &[],
    },
    // prometheus/prometheus Dockerfile: USER nobody (65534), TSDB in /prometheus.
    KnownImage {
        name: "Prometheus",
        repositories: &["prometheus/prometheus", "*/prometheus/prometheus"],
        port: Some(9090),
        readiness: &[Check::Http("/-/ready")],
        liveness: &[Check::Http("/-/healthy")],
        startup_seconds: None,
        timeout_seconds: None,
        writable_paths: &["/prometheus"],
        hardening_note: None,
        data_dir: None,
        user: Some(ImageUser {
            uid: 65534,
            gid: 65534,
            repositories: &["prometheus/prometheus", "*/prometheus/prometheus"],
        }),
        ships: &["/etc/prometheus", "/usr/share/prometheus"],
        writes_shipped: &[],
    },
    // valkey-container: runs as any non-root UID once /data is writable, as Redis.
    KnownImage {
        name: "Valkey",
        repositories: &["valkey/valkey", "*/valkey"],
        port: Some(6379),
        readiness: &[Check::Exec(&[
            "valkey-cli",
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
        user: None,
        ships: &[],
        writes_shipped: &[],
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
        // Entries without checks get the TCP checks any image gets (health endpoints that
        // need TLS, auth or an undeclared admin port are not guessed).
        for k in KNOWN_IMAGES.iter().filter(|k| !k.readiness.is_empty()) {
            assert!(
                k.liveness.iter().any(|l| !k.readiness.contains(l)),
                "{}",
                k.name
            );
        }
    }
}
