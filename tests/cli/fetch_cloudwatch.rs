//! `alertlab fetch cloudwatch` and `import cloudwatch --live`, the binary end to end against a
//! loopback server that speaks the SDK's wire protocol (Smithy RPC v2 CBOR,
//! `POST /service/GraniteServiceVersion20100801/operation/<Op>`), reached the way users reach a
//! VPC endpoint: `AWS_ENDPOINT_URL_CLOUDWATCH`, with dummy credentials from the environment.
//!
//! The server holds one metric (and its band) and answers GetMetricData honouring the time range
//! and `ScanBy`, in pages of at most [`PAGE`] points with a `NextToken`; ListMetrics with that
//! metric; DescribeAlarms with the import fixture's alarms (converted from the CLI's JSON to CBOR).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ciborium::Value;
use predicates::prelude::*;

use super::{alertlab, json_of, root};

/// Points per answer page.
const PAGE: usize = 100;
/// 2026-11-20T00:00:00Z: the metric's first point, 288 points a day at 300 s.
const T0: i64 = 1_795_132_800;
const POINTS: i64 = 2 * 288;
const SECRET: &str = "wJalrXUtnFEMI-not-a-real-secret";

fn metric_value(i: i64) -> f64 {
    (100 + (i * 37) % 50) as f64
}

/// The center of the band AWS "drew" at k0 = 2 (±20, so σ = 10): the metric itself, except 30
/// below it for ten periods.
fn band_center(i: i64) -> f64 {
    metric_value(i) - if (100..110).contains(&i) { 30.0 } else { 0.0 }
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_map()?
        .iter()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
}

fn seconds(v: &Value) -> f64 {
    match v {
        Value::Tag(1, inner) => match inner.as_ref() {
            Value::Float(f) => *f,
            Value::Integer(i) => i128::from(*i) as f64,
            _ => f64::NAN,
        },
        _ => f64::NAN,
    }
}

/// The CLI's describe-alarms JSON as CBOR: numbers keep their kind, `…Timestamp` fields become
/// epoch-seconds timestamps.
fn cbor_of_json(key: &str, v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) if n.is_f64() => Value::Float(n.as_f64().unwrap()),
        serde_json::Value::Number(n) => Value::Integer(n.as_i64().unwrap().into()),
        serde_json::Value::String(s) if key.ends_with("Timestamp") => Value::Tag(
            1,
            Box::new(Value::Float(
                chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp() as f64,
            )),
        ),
        serde_json::Value::String(s) => text(s),
        serde_json::Value::Array(a) => {
            Value::Array(a.iter().map(|x| cbor_of_json(key, x)).collect())
        }
        serde_json::Value::Object(o) => Value::Map(
            o.iter()
                .map(|(k, x)| (text(k), cbor_of_json(k, x)))
                .collect(),
        ),
    }
}

/// The value of a result at point index `i`.
type Values = fn(i64) -> f64;

/// One answer of GetMetricData for `body`.
fn get_metric_data(body: &Value) -> Value {
    let start = seconds(get(body, "StartTime").unwrap()) as i64;
    let end = seconds(get(body, "EndTime").unwrap()) as i64;
    let ascending = get(body, "ScanBy").and_then(Value::as_text) == Some("TimestampAscending");
    let offset: usize = get(body, "NextToken")
        .and_then(Value::as_text)
        .map(|t| t.trim_start_matches("page-").parse().unwrap())
        .unwrap_or(0);
    let mut results = Vec::new();
    let mut more = false;
    for q in get(body, "MetricDataQueries")
        .and_then(Value::as_array)
        .unwrap()
    {
        let id = get(q, "Id").and_then(Value::as_text).unwrap();
        let mut times: Vec<i64> = (0..POINTS)
            .map(|i| T0 + i * 300)
            .filter(|t| (start..end).contains(t))
            .collect();
        if !ascending {
            times.reverse();
        }
        let known = match get(q, "MetricStat") {
            Some(stat) => {
                let metric = get(stat, "Metric").unwrap();
                let name = get(metric, "MetricName").and_then(Value::as_text);
                let dims = get(metric, "Dimensions").and_then(Value::as_array);
                // Per function (api-prod) or account-wide (no dimension).
                name == Some("ConcurrentExecutions")
                    && dims.is_none_or(|d| {
                        d.is_empty()
                            || d.len() == 1
                                && get(&d[0], "Value").and_then(Value::as_text) == Some("api-prod")
                    })
            }
            None => true,
        };
        if !known {
            times.clear();
        }
        more |= times.len() > offset + PAGE;
        let page: Vec<i64> = times.into_iter().skip(offset).take(PAGE).collect();
        let series: Vec<(&str, Values)> = match get(q, "Expression") {
            Some(_) => vec![
                ("ConcurrentExecutions Upper", |i| band_center(i) + 20.0),
                ("ConcurrentExecutions Lower", |i| band_center(i) - 20.0),
            ],
            None => vec![("ConcurrentExecutions", metric_value)],
        };
        for (label, value) in series {
            results.push(Value::Map(vec![
                (text("Id"), text(id)),
                (text("Label"), text(label)),
                (
                    text("Timestamps"),
                    Value::Array(
                        page.iter()
                            .map(|t| Value::Tag(1, Box::new(Value::Float(*t as f64))))
                            .collect(),
                    ),
                ),
                (
                    text("Values"),
                    Value::Array(
                        page.iter()
                            .map(|t| Value::Float(value((t - T0) / 300)))
                            .collect(),
                    ),
                ),
                (
                    text("StatusCode"),
                    text(if more { "PartialData" } else { "Complete" }),
                ),
            ]));
        }
    }
    let mut answer = vec![(text("MetricDataResults"), Value::Array(results))];
    if more {
        answer.push((text("NextToken"), text(&format!("page-{}", offset + PAGE))));
    }
    Value::Map(answer)
}

/// ListMetrics: the one metric, unless the request names another.
fn list_metrics(body: &Value) -> Value {
    let asked = get(body, "MetricName").and_then(Value::as_text);
    if asked.is_some_and(|name| name != "ConcurrentExecutions") {
        return Value::Map(vec![(text("Metrics"), Value::Array(vec![]))]);
    }
    Value::Map(vec![(
        text("Metrics"),
        Value::Array(vec![Value::Map(vec![
            (text("Namespace"), text("AWS/Lambda")),
            (text("MetricName"), text("ConcurrentExecutions")),
            (
                text("Dimensions"),
                Value::Array(vec![Value::Map(vec![
                    (text("Name"), text("FunctionName")),
                    (text("Value"), text("api-prod")),
                ])]),
            ),
        ])]),
    )])
}

fn describe_alarms() -> Value {
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/import/describe-alarms.json"))
            .unwrap(),
    )
    .unwrap();
    cbor_of_json("", &json)
}

/// What the server saw: operation name, whether the request was signed with the dummy key, and
/// the ids of its queries (GetMetricData).
type Seen = Arc<Mutex<Vec<(String, bool, Vec<String>)>>>;

/// One HTTP request as the server reads it.
struct Request {
    path: String,
    /// Signed with the dummy access key.
    signed: bool,
    body: Vec<u8>,
}

fn read_request(stream: &TcpStream) -> std::io::Result<Request> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let (mut length, mut signed) = (0usize, false);
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let lower = header.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("authorization:") && header.contains("Credential=AKIDLOOPBACK/") {
            signed = true;
        }
        if header == "\r\n" || header.is_empty() {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Request { path, signed, body })
}

/// An answer in the SDK's protocol's headers, then the connection closes.
fn reply(stream: &mut TcpStream, status: &str, body: &[u8]) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: application/cbor\r\nsmithy-protocol: rpc-v2-cbor\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    stream.flush()
}

fn answer(stream: &mut TcpStream, seen: &Seen) -> std::io::Result<()> {
    let Request { path, signed, body } = read_request(stream)?;
    let op = path.rsplit('/').next().unwrap_or("").to_string();
    let request: Value = ciborium::from_reader(&body[..]).unwrap_or(Value::Null);
    let ids = get(&request, "MetricDataQueries")
        .and_then(Value::as_array)
        .map(|qs| {
            qs.iter()
                .filter_map(|q| get(q, "Id").and_then(Value::as_text).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    seen.lock().unwrap().push((op.clone(), signed, ids));
    let reply_to = match op.as_str() {
        "GetMetricData" => Some(get_metric_data(&request)),
        "ListMetrics" => Some(list_metrics(&request)),
        "DescribeAlarms" => Some(describe_alarms()),
        _ => None,
    };
    match reply_to {
        Some(v) => {
            let mut out = Vec::new();
            ciborium::into_writer(&v, &mut out).unwrap();
            reply(stream, "200 OK", &out)
        }
        None => reply(stream, "404 Not Found", &[]),
    }
}

/// A loopback server answering each connection with `handle`: its URL.
fn listen(handle: impl Fn(&mut TcpStream) + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            handle(&mut stream);
        }
    });
    url
}

/// A loopback CloudWatch: its URL and what it saw.
fn serve() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let url = listen(move |stream| {
        let _ = answer(stream, &log);
    });
    (url, seen)
}

/// A server that answers every request with HTTP 200 and a body that is not CBOR.
fn serve_garbage() -> String {
    listen(|stream| {
        if read_request(stream).is_ok() {
            let _ = reply(
                stream,
                "200 OK",
                b"<html>502 from a proxy that thinks it is helpful</html>",
            );
        }
    })
}

/// `alertlab` with the standard AWS environment pointed at `url`, and nothing from the machine's
/// own AWS configuration.
fn aws_cli(dir: &Path, url: &str) -> assert_cmd::Command {
    let mut cmd = alertlab();
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("AWS_CONFIG_FILE", dir.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "AKIDLOOPBACK")
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ENDPOINT_URL_CLOUDWATCH", url)
        .current_dir(dir);
    cmd
}

fn rfc3339(s: i64) -> String {
    chrono::DateTime::from_timestamp(s, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn fetch_args(metric: &str, out: &str) -> Vec<String> {
    [
        "fetch",
        "cloudwatch",
        "--namespace",
        "AWS/Lambda",
        "--metric",
        metric,
        "--dimension",
        "FunctionName=api-prod",
        "--stat",
        "Maximum",
        "--period",
        "300",
        "--band",
        "2",
        "--out",
        out,
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        "--start".into(),
        rfc3339(T0),
        "--end".into(),
        rfc3339(T0 + (POINTS - 1) * 300),
    ])
    .collect()
}

#[test]
fn fetch_cloudwatch_reaches_the_endpoint_override_and_writes_metric_and_band() {
    let dir = tempfile::tempdir().unwrap();
    let (url, seen) = serve();
    let out = aws_cli(dir.path(), &url)
        .args(fetch_args("ConcurrentExecutions", "lambda.csv"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains(SECRET));

    // 576 points in pages of 100: six pages of one call, each signed with the dummy key.
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 6, "{seen:?}");
    assert!(seen
        .iter()
        .all(|(op, signed, ids)| op == "GetMetricData" && *signed && ids == &["m0", "b0"]));

    // The metric and both sides of the band, each point once, as the loader reads them.
    let loaded = alertlab::series::load(&dir.path().join("lambda.csv"), None).unwrap();
    let names: Vec<&str> = loaded.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "ConcurrentExecutions{FunctionName=\"api-prod\"}",
            "ANOMALY_DETECTION_BAND(ConcurrentExecutions{FunctionName=\"api-prod\"}, 2) lower",
            "ANOMALY_DETECTION_BAND(ConcurrentExecutions{FunctionName=\"api-prod\"}, 2) upper",
        ]
    );
    let expected_times: Vec<i64> = (0..POINTS).map(|i| (T0 + i * 300) * 1000).collect();
    for s in &loaded {
        assert_eq!(s.timestamps, expected_times, "{}", s.name);
    }
    let metric: Vec<f64> = (0..POINTS).map(metric_value).collect();
    assert_eq!(loaded[0].values, metric);
    assert_eq!(loaded[2].values[0], band_center(0) + 20.0);

    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("lambda.csv.meta.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(meta["source"], "cloudwatch");
    assert_eq!(meta["metric_name"], "ConcurrentExecutions");
    assert_eq!(meta["dimensions"]["FunctionName"], "api-prod");
    assert_eq!(meta["stat"], "Maximum");
    assert_eq!(meta["period_s"], 300);
    assert_eq!(meta["band_k0"], 2.0);
    assert_eq!(meta["pages"], 6);
    assert_eq!(meta["points"], 3 * POINTS);
}

#[test]
fn the_replay_band_reads_the_fetched_file_and_backtests_only_the_metric() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _) = serve();
    aws_cli(dir.path(), &url)
        .args(fetch_args("ConcurrentExecutions", "lambda-prod.parquet"))
        .assert()
        .success();
    let episodes = |k: f64| -> usize {
        std::fs::write(
            dir.path().join("lambda.yaml"),
            format!(
                r#"apiVersion: alertlab/v1
kind: AlertSet
metadata: {{name: lambda}}
environments:
  prod: {{account: "222222222222", region: eu-west-1}}
alerts:
  - name: lambda-concurrency
    summary: Lambda concurrency outside AWS's band
    metric:
      cloudwatch: {{namespace: AWS/Lambda, name: ConcurrentExecutions, stat: Maximum, period: 300, dimensions: {{FunctionName: api-prod}}}}
    condition:
      anomaly: {{model: replay, k: {k}, k0: 2, band_data: "lambda-{{{{env}}}}.parquet"}}
    evaluation: {{datapoints_to_alarm: 1, evaluation_periods: 1}}
    backtest: {{data: "lambda-{{{{env}}}}.parquet"}}
"#
            ),
        )
        .unwrap();
        let report = json_of(alertlab().current_dir(dir.path()).args([
            "backtest",
            "--spec",
            "lambda.yaml",
            "--format",
            "json",
        ]));
        let results = report["results"].as_array().expect("results");
        let series: Vec<&str> = results
            .iter()
            .filter_map(|r| r["series"].as_str())
            .collect();
        assert_eq!(
            series,
            ["ConcurrentExecutions{FunctionName=\"api-prod\"}"],
            "{report}"
        );
        results[0]["episodes"].as_array().unwrap().len()
    };
    // AWS's band sits 30 below the metric for ten periods: outside it at k = 2 (±20), inside at
    // k = 4 (±40).
    assert_eq!(episodes(2.0), 1);
    assert_eq!(episodes(4.0), 0);
}

#[test]
fn a_metric_with_no_data_names_what_cloudwatch_has_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (url, seen) = serve();
    aws_cli(dir.path(), &url)
        .args(fetch_args("ConcurrentExecution", "lambda.csv"))
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("no datapoints for AWS/Lambda ConcurrentExecution [FunctionName=api-prod]")
                .and(predicate::str::contains("aws cloudwatch list-metrics --namespace AWS/Lambda --metric-name ConcurrentExecution"))
                .and(predicate::str::contains("CloudWatch has: ConcurrentExecutions"))
                .and(predicate::str::contains(SECRET).not()),
        );
    assert!(!dir.path().join("lambda.csv").exists());
    assert!(!dir.path().join("lambda.csv.meta.json").exists());
    let ops: Vec<String> = seen.lock().unwrap().iter().map(|s| s.0.clone()).collect();
    assert!(ops.contains(&"ListMetrics".to_string()), "{ops:?}");
}

#[test]
fn an_endpoint_that_is_down_fails_within_bounded_time_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    aws_cli(dir.path(), &format!("http://127.0.0.1:{port}"))
        .args(fetch_args("ConcurrentExecutions", "lambda.csv"))
        .args(["--timeout", "2s"])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("cloudwatch:GetMetricData")
                .and(predicate::str::contains("eu-west-1")),
        );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert!(!dir.path().join("lambda.csv").exists());
}

#[test]
fn bad_fetch_arguments_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (url, seen) = serve();
    let mut args = fetch_args("ConcurrentExecutions", "lambda.txt");
    aws_cli(dir.path(), &url)
        .args(&args)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(".parquet or .csv"));
    args = fetch_args("ConcurrentExecutions", "lambda.csv");
    let end = args.iter().position(|a| a == "--end").unwrap();
    args[end + 1] = rfc3339(T0 - 3600);
    aws_cli(dir.path(), &url)
        .args(&args)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`--end` is before `--start`"));
    let mut args = fetch_args("ConcurrentExecutions", "lambda.csv");
    let period = args.iter().position(|a| a == "--period").unwrap();
    args[period + 1] = "7".into();
    aws_cli(dir.path(), &url)
        .args(&args)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--period 7"));
    aws_cli(dir.path(), &url)
        .args(fetch_args("ConcurrentExecutions", "lambda.csv"))
        .args(["--dimension", "novalue"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("NAME=VALUE"));
    for (flag, bad, said) in [
        ("--band", "0", "--band 0"),
        ("--band", "NaN", "--band NaN"),
        (
            "--period",
            "9999999999960",
            "longer than CloudWatch accepts",
        ),
        ("--stat", "p101", "`--stat`"),
    ] {
        let mut args = fetch_args("ConcurrentExecutions", "lambda.csv");
        let at = args.iter().position(|a| a == flag).unwrap();
        args[at + 1] = bad.into();
        aws_cli(dir.path(), &url)
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(said));
    }
    aws_cli(dir.path(), &url)
        .env_remove("AWS_REGION")
        .args(fetch_args("ConcurrentExecutions", "lambda.csv"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no AWS region"));
    assert!(seen.lock().unwrap().is_empty(), "no call for bad input");
}

#[test]
fn import_live_reads_the_same_alarms_as_the_describe_alarms_file() {
    let dir = tempfile::tempdir().unwrap();
    let (url, seen) = serve();
    aws_cli(dir.path(), &url)
        .args([
            "import",
            "cloudwatch",
            "--live",
            "--env",
            "prod",
            "--out",
            "live.yaml",
        ])
        .assert()
        .success();
    aws_cli(dir.path(), &url)
        .args([
            "import",
            "cloudwatch",
            "--env",
            "prod",
            "--out",
            "file.yaml",
            "--name",
            "live",
        ])
        .arg("--from-file")
        .arg(root().join("tests/fixtures/import/describe-alarms.json"))
        .assert()
        .success();
    let body = |name: &str| -> String {
        std::fs::read_to_string(dir.path().join(name))
            .unwrap()
            .lines()
            .filter(|l| !l.contains("describe-alarms.json") && !l.contains("DescribeAlarms ("))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(body("live.yaml"), body("file.yaml"));
    let live = std::fs::read_to_string(dir.path().join("live.yaml")).unwrap();
    assert!(live.contains("DescribeAlarms (region eu-west-1"), "{live}");
    assert_eq!(seen.lock().unwrap()[0].0, "DescribeAlarms");
}

#[test]
fn fetch_cloudwatch_spec_writes_one_file_per_alert_and_env_batching_metrics_per_period() {
    let dir = tempfile::tempdir().unwrap();
    let (url, seen) = serve();
    let spec = root().join("alerts/lambda.yaml");
    aws_cli(dir.path(), &url)
        .args([
            "fetch",
            "cloudwatch",
            "--env",
            "prod",
            "--band",
            "2",
            "--out",
            "fetched",
        ])
        .arg("--spec")
        .arg(&spec)
        .args([
            "--start",
            &rfc3339(T0),
            "--end",
            &rfc3339(T0 + 86_400 - 300),
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("3 files in fetched"));
    let mut files: Vec<String> = std::fs::read_dir(dir.path().join("fetched"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "lambda-concurrency-anomaly-prod.parquet",
            "lambda-concurrency-anomaly-prod.parquet.meta.json",
            "lambda-concurrency-ceiling-prod.parquet",
            "lambda-concurrency-ceiling-prod.parquet.meta.json",
            "lambda-concurrency-noisy-prod.parquet",
            "lambda-concurrency-noisy-prod.parquet.meta.json",
        ]
    );
    // The two 5-minute anomaly alarms share calls, each with its band; the 1-minute ceiling (a
    // threshold, no band) has its own.
    let calls: Vec<Vec<String>> = seen.lock().unwrap().iter().map(|s| s.2.clone()).collect();
    assert!(
        calls.contains(&vec!["m0".into(), "b0".into(), "m1".into(), "b1".into()]),
        "{calls:?}"
    );
    assert!(calls.contains(&vec!["m2".to_string()]), "{calls:?}");
    let anomaly = alertlab::series::load(
        &dir.path()
            .join("fetched/lambda-concurrency-anomaly-prod.parquet"),
        None,
    )
    .unwrap();
    assert_eq!(anomaly.len(), 3);
    assert_eq!(anomaly[0].name, "ConcurrentExecutions");
    assert_eq!(anomaly[0].len(), 288);
    let ceiling = alertlab::series::load(
        &dir.path()
            .join("fetched/lambda-concurrency-ceiling-prod.parquet"),
        None,
    )
    .unwrap();
    assert_eq!(ceiling.len(), 1, "no band for a threshold alarm");
}

#[test]
fn a_profile_gives_credentials_region_and_endpoint_url() {
    let dir = tempfile::tempdir().unwrap();
    let (url, seen) = serve();
    std::fs::write(
        dir.path().join("config"),
        format!("[profile loopback]\nregion = eu-central-1\nendpoint_url = {url}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("credentials"),
        format!("[loopback]\naws_access_key_id = AKIDLOOPBACK\naws_secret_access_key = {SECRET}\n"),
    )
    .unwrap();
    aws_cli(dir.path(), &url)
        .env_remove("AWS_ENDPOINT_URL_CLOUDWATCH")
        .env_remove("AWS_REGION")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_CONFIG_FILE", dir.path().join("config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.path().join("credentials"),
        )
        .args(fetch_args("ConcurrentExecutions", "lambda.csv"))
        .args(["--profile", "loopback"])
        .assert()
        .success();
    let seen = seen.lock().unwrap();
    assert!(
        !seen.is_empty() && seen.iter().all(|s| s.1),
        "signed with the profile's key"
    );
    let meta = std::fs::read_to_string(dir.path().join("lambda.csv.meta.json")).unwrap();
    assert!(
        meta.contains(&format!("region eu-central-1, endpoint {url}")),
        "the profile's endpoint is named: {meta}"
    );
}

#[test]
fn an_answer_that_is_not_cloudwatch_protocol_fails_cleanly_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = serve_garbage();
    aws_cli(dir.path(), &url)
        .args(fetch_args("ConcurrentExecutions", "lambda.csv"))
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("cloudwatch:GetMetricData")
                .and(predicate::str::contains(
                    "could not be read as CloudWatch's protocol",
                ))
                .and(predicate::str::contains("panicked").not()),
        );
    assert!(!dir.path().join("lambda.csv").exists());
    assert!(!dir.path().join("lambda.csv.meta.json").exists());
}

#[test]
fn no_credentials_anywhere_says_where_they_come_from() {
    let dir = tempfile::tempdir().unwrap();
    let (url, seen) = serve();
    aws_cli(dir.path(), &url)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args(fetch_args("ConcurrentExecutions", "lambda.csv"))
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no usable AWS credentials"));
    assert!(seen.lock().unwrap().is_empty(), "nothing sent unsigned");
    assert!(!dir.path().join("lambda.csv").exists());
}
