//! `alertlab fetch prometheus` against a real Prometheus server (Debian's `prometheus`, installed by
//! the test command) on loopback, its history backfilled with `promtool tsdb create-blocks-from
//! openmetrics`: a range long enough to need chunking comes back with exactly the backfilled
//! samples; a bad query and a server that is down fail (exit 1) without an output file, in bounded
//! time.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use predicates::prelude::*;

use super::alertlab;

/// 2026-01-01T00:00:00Z.
const START: i64 = 1_767_225_600;
/// Nine days of minutes: 12,960 points a series, more than one request's 11,000.
const POINTS: i64 = 9 * 1440;

fn value(series: usize, i: i64) -> f64 {
    if series == 0 {
        (i % 97) as f64 + 0.5
    } else {
        (i * 3 % 1000) as f64
    }
}

/// A Prometheus server on a free loopback port, killed when dropped.
struct Server {
    child: Child,
    url: String,
    port: u16,
}

/// Start Prometheus on a free loopback port with an empty configuration, its storage in
/// `dir/tsdb` (history already there is served), and `extra` flags; `scheme` is how it is reached.
fn spawn_prometheus(dir: &Path, scheme: &str, extra: &[String], stderr: Stdio) -> Server {
    std::fs::write(dir.join("prometheus.yml"), "global: {}\n").unwrap();
    let port = free_port();
    let child = Process::new("prometheus")
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("tsdb").display()
        ))
        .arg("--storage.tsdb.retention.time=100y")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("Debian's prometheus is installed by scripts/test.sh");
    Server {
        child,
        url: format!("{scheme}://127.0.0.1:{port}"),
        port,
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether the server on `port` answers `/-/ready` with 200 (plain HTTP over std's TCP).
fn ready(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /-/ready HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200")
}

fn start_server(dir: &Path) -> Server {
    let mut om = String::from("# TYPE demo_value gauge\n");
    for (s, instance) in ["a", "b"].iter().enumerate() {
        for i in 0..POINTS {
            om += &format!(
                "demo_value{{instance=\"{instance}\"}} {} {}\n",
                value(s, i),
                START + i * 60
            );
        }
    }
    om += "# EOF\n";
    std::fs::write(dir.join("history.om"), om).unwrap();
    let data = dir.join("tsdb");
    let out = Process::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(dir.join("history.om"))
        .arg(&data)
        .output()
        .expect("promtool is installed by scripts/test.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let server = spawn_prometheus(dir, "http", &[], log.into());
    let port = server.port;
    let started = Instant::now();
    loop {
        let ready = ready(port);
        if ready {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "prometheus did not start: {}",
            std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    server
}

/// `alertlab fetch prometheus --url URL --start START --end END ARGS...` run in `dir`.
fn fetch(dir: &Path, url: &str, end: i64, args: &[&str]) -> assert_cmd::assert::Assert {
    alertlab()
        .current_dir(dir)
        .args(["fetch", "prometheus", "--url", url])
        .args(["--start", &START.to_string(), "--end", &end.to_string()])
        .args(args)
        .assert()
}

#[test]
fn fetch_returns_exactly_the_backfilled_samples_and_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let server = start_server(p);
    let end = START + (POINTS - 1) * 60;
    fetch(
        p,
        &server.url,
        end,
        &[
            "--query",
            "demo_value",
            "--step",
            "1m",
            "--out",
            "fetched.csv",
        ],
    )
    .success();
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("fetched.csv.meta.json")).unwrap())
            .unwrap();
    assert_eq!(meta["requests"], 2, "the range needed two requests");
    assert_eq!(meta["points"], 2 * POINTS);
    let series = alertlab::series::load(&p.join("fetched.csv"), None).unwrap();
    assert_eq!(series.len(), 2);
    for (s, instance) in ["a", "b"].iter().enumerate() {
        let got = series
            .iter()
            .find(|x| x.name == format!("demo_value{{instance=\"{instance}\"}}"))
            .unwrap_or_else(|| {
                panic!(
                    "series {instance}: {:?}",
                    series.iter().map(|x| &x.name).collect::<Vec<_>>()
                )
            });
        assert_eq!(
            got.timestamps.len() as i64,
            POINTS,
            "every sample once, none dropped at the seam"
        );
        for (i, (t, v)) in got.timestamps.iter().zip(&got.values).enumerate() {
            assert_eq!(*t, (START + i as i64 * 60) * 1000);
            assert_eq!(*v, value(s, i as i64), "{instance} at {i}");
        }
    }
    // The server's own message for a bad query (HTTP 400: the user's input, exit 2); no file.
    let started = Instant::now();
    fetch(
        p,
        &server.url,
        end,
        &["--query", "sum((", "--out", "bad.csv"],
    )
    .code(2)
    .stderr(predicate::str::contains("rejected the query"))
    .stderr(predicate::str::contains("parse error"));
    assert!(!p.join("bad.csv").exists() && !p.join("bad.csv.meta.json").exists());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a bad query is not retried"
    );
    // A misspelt metric: no series, an error, no file.
    fetch(
        p,
        &server.url,
        end,
        &["--query", "demo_valeu", "--out", "none.csv"],
    )
    .code(1)
    .stderr(predicate::str::contains("returned no series"));
    assert!(!p.join("none.csv").exists());
    // Every Prometheus alert of a spec, per env, named for a `backtest.data` pattern.
    std::fs::write(
        p.join("s.yaml"),
        "apiVersion: alertlab/v1\nkind: AlertSet\nmetadata: {name: s}\nenvironments: {a: {}, b: {}}\nalerts:\n  - name: demo\n    metric: {prometheus: {expr: 'demo_value{instance=\"{{env}}\"}'}}\n    condition: {threshold: {op: '>', value: 90}}\n    backtest: {data: 'history/demo-{{env}}.csv'}\n",
    )
    .unwrap();
    fetch(
        p,
        &server.url,
        end,
        &["--spec", "s.yaml", "--format", "csv", "--out", "history"],
    )
    .success();
    for (s, env) in ["a", "b"].iter().enumerate() {
        let got = alertlab::series::load(&p.join(format!("history/demo-{env}.csv")), None).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].values[100], value(s, 100));
    }
    alertlab()
        .current_dir(p)
        .args(["backtest", "--spec", "s.yaml"])
        .assert()
        .success();
    drop(server);
    // Nothing listening: bounded retries, exit 1, no file.
    let down = format!("http://127.0.0.1:{}", free_port());
    let started = Instant::now();
    fetch(
        p,
        &down,
        end,
        &["--query", "up", "--timeout", "2s", "--out", "down.csv"],
    )
    .code(1)
    .stderr(predicate::str::contains("after 3 attempts"));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert!(!p.join("down.csv").exists());
}

#[test]
fn credentials_never_come_from_the_command_line_and_bad_flags_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    alertlab()
        .current_dir(p)
        .env_remove("ALERTLAB_PROMETHEUS_PASSWORD")
        .args([
            "fetch",
            "prometheus",
            "--url",
            "http://127.0.0.1:1",
            "--query",
            "up",
        ])
        .args([
            "--basic-auth-user",
            "me",
            "--start",
            "0",
            "--end",
            "60",
            "--out",
            "x.csv",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ALERTLAB_PROMETHEUS_PASSWORD"));
    for (flag, value, message) in [
        ("--step", "0s", "`--step 0s`"),
        ("--url", "ftp://x", "expected http:// or https://"),
        ("--out", "x.xlsx", ".parquet or .csv"),
    ] {
        let mut args = vec![
            "fetch",
            "prometheus",
            "--url",
            "http://127.0.0.1:1",
            "--query",
            "up",
            "--start",
            "0",
            "--end",
            "60",
            "--out",
            "x.csv",
        ];
        let at = args.iter().position(|a| *a == flag).unwrap_or(args.len());
        if at < args.len() {
            args[at + 1] = value;
        } else {
            args.extend([flag, value]);
        }
        alertlab()
            .current_dir(p)
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(message));
    }
}

/// A one-request HTTP server on loopback answering `body`; the request it got (head only).
fn one_shot(body: &'static str) -> (String, std::thread::JoinHandle<String>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                break;
            }
            head += &line;
        }
        let mut stream = reader.into_inner();
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        head
    });
    (url, handle)
}

const ONE_SAMPLE: &str = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up"},"values":[[60,"1"]]}]}}"#;

#[test]
fn credentials_from_a_file_or_the_environment_reach_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("token"), "s3cret-token\n").unwrap();
    let (url, server) = one_shot(ONE_SAMPLE);
    alertlab()
        .current_dir(p)
        .env_remove("ALERTLAB_PROMETHEUS_TOKEN")
        .args(["fetch", "prometheus", "--url", &url, "--query", "up"])
        .args([
            "--start",
            "60",
            "--end",
            "60",
            "--bearer-token-file",
            "token",
        ])
        .args(["--out", "a.csv"])
        .assert()
        .success();
    let head = server.join().unwrap().to_ascii_lowercase();
    assert!(
        head.contains("authorization: bearer s3cret-token"),
        "{head}"
    );
    let (url, server) = one_shot(ONE_SAMPLE);
    alertlab()
        .current_dir(p)
        .env("ALERTLAB_PROMETHEUS_PASSWORD", "open sesame")
        .args(["fetch", "prometheus", "--url", &url, "--query", "up"])
        .args([
            "--start",
            "60",
            "--end",
            "60",
            "--basic-auth-user",
            "Aladdin",
        ])
        .args(["--out", "b.csv"])
        .assert()
        .success()
        .stderr(predicate::str::contains("open sesame").not());
    let head = server.join().unwrap().to_ascii_lowercase();
    assert!(
        head.contains("authorization: basic qwxhzgrpbjpvcgvuihnlc2ftzq=="),
        "{head}"
    );
    let meta = std::fs::read_to_string(p.join("b.csv.meta.json")).unwrap();
    assert!(!meta.contains("sesame") && !meta.contains("s3cret"));
}

/// `openssl ARGS` in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Process::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl makes the test CA");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Over TLS with a private CA: `--ca-file` trusts it; without, the certificate is refused.
#[test]
fn https_with_a_private_ca_needs_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        p,
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-subj",
                "/CN=alertlab-test-ca",
                "-days",
                "2",
            ],
        ]
        .concat(),
    );
    openssl(
        p,
        &[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "leaf.key",
                "-out",
                "leaf.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        ]
        .concat(),
    );
    std::fs::write(
        p.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        p,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    std::fs::write(
        p.join("web.yml"),
        format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
            p.join("leaf.pem").display(),
            p.join("leaf.key").display()
        ),
    )
    .unwrap();
    let server = spawn_prometheus(
        p,
        "https",
        &[format!("--web.config.file={}", p.join("web.yml").display())],
        Stdio::null(),
    );
    let started = Instant::now();
    let fetch_with_ca = || {
        fetch(
            p,
            &server.url,
            START + 300,
            &[
                "--query",
                "vector(1)",
                "--ca-file",
                "ca.pem",
                "--timeout",
                "3s",
                "--out",
                "v.csv",
            ],
        )
        .get_output()
        .clone()
    };
    // The server takes a moment to listen; the fetch itself is the readiness probe.
    let mut out = fetch_with_ca();
    while !out.status.success() && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(300));
        out = fetch_with_ca();
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        alertlab::series::load(&p.join("v.csv"), None).unwrap()[0].len(),
        6
    );
    fetch(
        p,
        &server.url,
        START + 300,
        &["--query", "vector(1)", "--timeout", "3s", "--out", "w.csv"],
    )
    .code(1)
    .stderr(predicate::str::contains("UnknownIssuer"));
    assert!(!p.join("w.csv").exists());
}
