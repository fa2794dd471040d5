//! `GetMetricData` through the SDK's own replay HTTP client (`StaticReplayClient`): recorded
//! answers in the wire protocol the SDK speaks (Smithy RPC v2 CBOR), and assertions on the
//! requests it made (queries, time ranges, tokens, batching).

use std::collections::BTreeMap;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_cloudwatch::config::Credentials;
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;
use ciborium::Value;

use super::*;

const DAY: i64 = 86_400_000;
/// 2026-11-01T00:00:00Z.
const T0: i64 = 1_793_491_200_000;

fn lambda(band: Option<f64>) -> MetricRequest {
    MetricRequest {
        namespace: "AWS/Lambda".into(),
        metric_name: "ConcurrentExecutions".into(),
        dimensions: BTreeMap::from([("FunctionName".into(), "api-prod".into())]),
        stat: Statistic::Average,
        period_s: 300,
        band_k0: band,
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

fn map(pairs: Vec<(&str, Value)>) -> Value {
    Value::Map(pairs.into_iter().map(|(k, v)| (text(k), v)).collect())
}

/// One `MetricDataResult`.
fn result(id: &str, label: &str, points: &[(i64, f64)], status: &str) -> Value {
    map(vec![
        ("Id", text(id)),
        ("Label", text(label)),
        (
            "Timestamps",
            Value::Array(
                points
                    .iter()
                    .map(|(t, _)| Value::Tag(1, Box::new(Value::Float(*t as f64 / 1000.0))))
                    .collect(),
            ),
        ),
        (
            "Values",
            Value::Array(points.iter().map(|(_, v)| Value::Float(*v)).collect()),
        ),
        ("StatusCode", text(status)),
    ])
}

fn cbor(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).expect("encodes");
    out
}

/// A 200 answer of GetMetricData.
fn page(results: Vec<Value>, next_token: Option<&str>) -> http::Response<SdkBody> {
    let mut body = vec![("MetricDataResults", Value::Array(results))];
    if let Some(t) = next_token {
        body.push(("NextToken", text(t)));
    }
    body.push(("Messages", Value::Array(vec![])));
    http::Response::builder()
        .status(200)
        .header("content-type", "application/cbor")
        .header("smithy-protocol", "rpc-v2-cbor")
        .body(SdkBody::from(cbor(&map(body))))
        .expect("response")
}

/// An error answer as CloudWatch sends it: the awsQuery-compatible code in a header and the
/// error shape in the body.
fn error(status: u16, code: &str, message: &str) -> http::Response<SdkBody> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/cbor")
        .header("smithy-protocol", "rpc-v2-cbor")
        .header("x-amzn-query-error", format!("{code};Sender"))
        .body(SdkBody::from(cbor(&map(vec![
            ("__type", text(&format!("com.amazonaws.cloudwatch#{code}"))),
            ("message", text(message)),
        ]))))
        .expect("response")
}

fn expected_request() -> http::Request<SdkBody> {
    http::Request::builder()
        .method("POST")
        .uri("https://monitoring.eu-west-1.amazonaws.com/service/GraniteServiceVersion20100801/operation/GetMetricData")
        .body(SdkBody::empty())
        .expect("request")
}

fn replay(responses: Vec<http::Response<SdkBody>>) -> StaticReplayClient {
    StaticReplayClient::new(
        responses
            .into_iter()
            .map(|r| ReplayEvent::new(expected_request(), r))
            .collect(),
    )
}

fn client(http: StaticReplayClient) -> Client {
    let config = aws_sdk_cloudwatch::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new(
            "AKIDTEST",
            "not-a-secret",
            None,
            None,
            "test",
        ))
        .retry_config(aws::retry_config())
        .http_client(http)
        .build();
    Client::from_conf(config)
}

/// A decoded request: its URI and CBOR body.
struct Sent {
    uri: String,
    body: Value,
}

fn sent(http: &StaticReplayClient) -> Vec<Sent> {
    http.actual_requests()
        .map(|r| Sent {
            uri: r.uri().to_string(),
            body: ciborium::from_reader(r.body().bytes().expect("in-memory body"))
                .expect("the SDK sends CBOR"),
        })
        .collect()
}

fn field<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_map()?
        .iter()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
}

/// Epoch ms of a CBOR timestamp (tag 1, seconds).
fn millis(v: &Value) -> i64 {
    match v {
        Value::Tag(1, inner) => match inner.as_ref() {
            Value::Float(s) => (s * 1000.0).round() as i64,
            Value::Integer(i) => i128::from(*i) as i64 * 1000,
            other => panic!("timestamp content {other:?}"),
        },
        other => panic!("not a timestamp: {other:?}"),
    }
}

fn range_of(s: &Sent) -> (i64, i64) {
    (
        millis(field(&s.body, "StartTime").expect("StartTime")),
        millis(field(&s.body, "EndTime").expect("EndTime")),
    )
}

fn token_of(s: &Sent) -> Option<String> {
    field(&s.body, "NextToken").and_then(|t| t.as_text().map(str::to_string))
}

fn query_ids(s: &Sent) -> Vec<String> {
    field(&s.body, "MetricDataQueries")
        .and_then(Value::as_array)
        .expect("queries")
        .iter()
        .map(|q| field(q, "Id").and_then(Value::as_text).unwrap().to_string())
        .collect()
}

fn run(
    http: &StaticReplayClient,
    metrics: &[MetricRequest],
    start: i64,
    end: i64,
) -> Result<Fetched, AwsError> {
    let c = aws::CloudWatch::from_client(client(http.clone()));
    let calls = plan(metrics, start, end);
    aws::block_on(fetch(&c, metrics, &calls, || {})).expect("runtime")
}

fn points(from: i64, n: usize, value: impl Fn(usize) -> f64) -> Vec<(i64, f64)> {
    (0..n)
        .map(|i| (from + i as i64 * 300_000, value(i)))
        .collect()
}

#[test]
fn three_pages_become_one_series_in_time_order_with_each_point_once() {
    let all = points(T0, 30, |i| i as f64);
    let label = "ConcurrentExecutions";
    // The second page repeats the first page's last point; the middle page is partial.
    let http = replay(vec![
        page(
            vec![result("m0", label, &all[0..10], "PartialData")],
            Some("tok-1"),
        ),
        page(
            vec![result("m0", label, &all[9..20], "PartialData")],
            Some("tok-2"),
        ),
        page(vec![result("m0", label, &all[20..30], "Complete")], None),
    ]);
    // Through the last period before T0 + 3 h.
    let fetched = run(&http, &[lambda(None)], T0, T0 + DAY / 8 - 300_000).expect("fetched");
    let s = &fetched.series[0][0];
    assert_eq!(s.name, "ConcurrentExecutions{FunctionName=\"api-prod\"}");
    assert_eq!(s.timestamps, all.iter().map(|p| p.0).collect::<Vec<_>>());
    assert_eq!(s.values, all.iter().map(|p| p.1).collect::<Vec<_>>());
    assert_eq!((fetched.calls, fetched.pages), (1, 3));
    assert!(fetched.notes.is_empty(), "{:?}", fetched.notes);

    let requests = sent(&http);
    assert_eq!(requests.len(), 3);
    assert!(requests[0]
        .uri
        .ends_with("/service/GraniteServiceVersion20100801/operation/GetMetricData"));
    let tokens: Vec<Option<String>> = requests.iter().map(token_of).collect();
    assert_eq!(
        tokens,
        [None, Some("tok-1".to_string()), Some("tok-2".to_string())]
    );
    for r in &requests {
        assert_eq!(range_of(r), (T0, T0 + DAY / 8));
        assert_eq!(
            field(&r.body, "ScanBy").and_then(Value::as_text),
            Some("TimestampAscending")
        );
        assert_eq!(query_ids(r), ["m0"]);
        let q = &field(&r.body, "MetricDataQueries")
            .unwrap()
            .as_array()
            .unwrap()[0];
        let stat = field(q, "MetricStat").expect("MetricStat");
        assert_eq!(
            field(stat, "Stat").and_then(Value::as_text),
            Some("Average")
        );
        assert_eq!(
            field(stat, "Period").and_then(Value::as_integer),
            Some(300.into())
        );
        let metric = field(stat, "Metric").unwrap();
        assert_eq!(
            field(metric, "Namespace").and_then(Value::as_text),
            Some("AWS/Lambda")
        );
        let dims = field(metric, "Dimensions")
            .and_then(Value::as_array)
            .unwrap();
        assert_eq!(
            field(&dims[0], "Value").and_then(Value::as_text),
            Some("api-prod")
        );
    }
}

#[test]
fn throttling_is_retried_and_then_succeeds() {
    let all = points(T0, 4, |_| 7.0);
    let http = replay(vec![
        error(400, "Throttling", "Rate exceeded"),
        error(400, "Throttling", "Rate exceeded"),
        page(vec![result("m0", "c", &all, "Complete")], None),
    ]);
    let fetched = run(&http, &[lambda(None)], T0, T0 + 4 * 300_000).expect("fetched");
    assert_eq!(fetched.series[0][0].values, [7.0; 4]);
    let requests = sent(&http);
    assert_eq!(requests.len(), 3, "two throttled attempts, then the answer");
    assert!(requests.iter().all(|r| token_of(r).is_none()));
}

#[test]
fn throttling_that_never_stops_fails_after_the_bounded_attempts() {
    let http = replay(
        (0..aws::ATTEMPTS)
            .map(|_| error(400, "Throttling", "Rate exceeded"))
            .collect(),
    );
    let err = run(&http, &[lambda(None)], T0, T0 + DAY).unwrap_err();
    assert!(matches!(err, AwsError::Runtime(_)));
    let text = err.to_string();
    assert!(
        text.contains("throttled") && text.contains("Rate exceeded"),
        "{text}"
    );
    assert_eq!(sent(&http).len(), aws::ATTEMPTS as usize);
}

#[test]
fn partial_data_on_the_last_page_is_kept_and_reported() {
    let all = points(T0, 3, |i| i as f64);
    let http = replay(vec![page(
        vec![result("m0", "c", &all, "PartialData")],
        None,
    )]);
    let fetched = run(&http, &[lambda(None)], T0, T0 + 3 * 300_000).expect("fetched");
    assert_eq!(fetched.series[0][0].len(), 3);
    assert_eq!(fetched.notes.len(), 1);
    assert!(fetched.notes[0].contains("partial"), "{:?}", fetched.notes);
}

#[test]
fn access_denied_names_the_action_and_is_not_retried() {
    let http = replay(vec![error(
        400,
        "AccessDenied",
        "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: cloudwatch:GetMetricData",
    )]);
    let err = run(&http, &[lambda(None)], T0, T0 + DAY).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("access denied"), "{text}");
    assert!(text.contains("cloudwatch:GetMetricData"), "{text}");
    assert!(text.contains("eu-west-1"), "{text}");
    assert!(!text.contains("not-a-secret"), "{text}");
    assert_eq!(sent(&http).len(), 1);
}

#[test]
fn expired_credentials_say_how_to_refresh_them() {
    let http = replay(vec![error(
        403,
        "ExpiredToken",
        "The security token included in the request is expired",
    )]);
    let text = run(&http, &[lambda(None)], T0, T0 + DAY)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("expired") && text.contains("sso login"),
        "{text}"
    );
}

#[test]
fn the_band_query_returns_lower_and_upper_beside_the_metric() {
    let metric = points(T0, 3, |i| 10.0 + i as f64);
    let upper = points(T0, 3, |_| 14.0);
    let lower = points(T0, 3, |_| 6.0);
    let http = replay(vec![page(
        vec![
            result("m0", "ConcurrentExecutions", &metric, "Complete"),
            result("b0", "ConcurrentExecutions Upper", &upper, "Complete"),
            result("b0", "ConcurrentExecutions Lower", &lower, "Complete"),
        ],
        None,
    )]);
    let fetched = run(&http, &[lambda(Some(2.0))], T0, T0 + 3 * 300_000).expect("fetched");
    let [m, lo, up] = &fetched.series[0][..] else {
        panic!("three series: {:?}", fetched.series[0].len())
    };
    assert_eq!(m.values, [10.0, 11.0, 12.0]);
    assert_eq!(lo.values, [6.0; 3]);
    assert_eq!(up.values, [14.0; 3]);
    assert!(lo.name.starts_with("ANOMALY_DETECTION_BAND(") && lo.name.ends_with("lower"));
    // The replay band model finds them in the same file.
    let all = fetched.series[0].clone();
    let (found_lower, found_upper) = crate::band::replay::find_bounds(&all).expect("bounds");
    assert_eq!((&found_lower.name, &found_upper.name), (&lo.name, &up.name));

    let requests = sent(&http);
    let queries = field(&requests[0].body, "MetricDataQueries")
        .and_then(Value::as_array)
        .unwrap();
    assert_eq!(query_ids(&requests[0]), ["m0", "b0"]);
    assert_eq!(
        field(&queries[1], "Expression").and_then(Value::as_text),
        Some("ANOMALY_DETECTION_BAND(m0, 2)")
    );
    assert_eq!(
        field(&queries[1], "ReturnData").and_then(Value::as_bool),
        Some(true)
    );
}

#[test]
fn a_long_range_is_split_into_windows_each_within_the_datapoint_limit() {
    // 60 s over 100 days: 144,000 points, more than one call may return.
    let mut m = lambda(None);
    m.period_s = 60;
    // Through the last minute of the 100th day (the end is inclusive).
    let (start, end) = (T0, T0 + 100 * DAY);
    let last = end - 60_000;
    let calls = plan(std::slice::from_ref(&m), start, last);
    assert_eq!(calls.len(), 2);
    let http = replay(
        calls
            .iter()
            .map(|c| {
                page(
                    vec![result(
                        "m0",
                        "c",
                        &[(c.start_ms, 1.0), (c.end_ms - 60_000, 2.0)],
                        "Complete",
                    )],
                    None,
                )
            })
            .collect(),
    );
    let fetched = run(&http, &[m], start, last).expect("fetched");
    assert_eq!(fetched.series[0][0].len(), 4);
    let ranges: Vec<(i64, i64)> = sent(&http).iter().map(range_of).collect();
    assert_eq!(
        ranges,
        [
            (start, start + MAX_DATAPOINTS * 60_000),
            (start + MAX_DATAPOINTS * 60_000, end)
        ]
    );
}

#[test]
fn many_metrics_are_batched_under_both_limits_and_each_slot_fetched_once() {
    // 1,200 metrics, some with a band, 2 days at 5 min (576 points each).
    let metrics: Vec<MetricRequest> = (0..1200)
        .map(|i| {
            let mut m = lambda((i % 7 == 0).then_some(3.0));
            m.dimensions
                .insert("FunctionName".into(), format!("fn-{i}"));
            m
        })
        .collect();
    let (start, end) = (T0, T0 + 2 * DAY);
    let calls = plan(&metrics, start, end - 300_000);
    let mut covered = vec![0i64; metrics.len()];
    for c in &calls {
        let queries: usize = c.metrics.iter().map(|&i| metrics[i].queries()).sum();
        let series: i64 = c.metrics.iter().map(|&i| metrics[i].result_series()).sum();
        assert!(queries <= MAX_QUERIES);
        assert!(series * (c.end_ms - c.start_ms) / 300_000 <= MAX_DATAPOINTS);
        for &i in &c.metrics {
            covered[i] += c.end_ms - c.start_ms;
        }
    }
    assert!(covered.iter().all(|&span| span == end - start));
    // As few calls as the datapoint limit allows: ⌈Σ series × 576 / 100,800⌉ give or take packing.
    let total: i64 = metrics.iter().map(|m| m.result_series() * 576).sum();
    assert!(
        calls.len() as i64 <= total / MAX_DATAPOINTS + 2,
        "{}",
        calls.len()
    );
}

#[test]
fn ranges_are_aligned_to_the_period() {
    assert_eq!(aligned(T0 + 1_000, T0 + 299_000, 300), (T0, T0 + 300_000));
    // The end is inclusive: the period starting at it is fetched.
    assert_eq!(aligned(T0, T0 + 600_000, 300), (T0, T0 + 900_000));
}

#[test]
fn retention_names_the_period_to_use() {
    let now = T0 + 100 * DAY;
    // 1-minute data 40 days back: CloudWatch has only 5-minute data there.
    let notes = retention_notes(60, now - 40 * DAY, now);
    assert_eq!(notes.len(), 1);
    assert!(notes[0].contains("--period 300"), "{notes:?}");
    // 5-minute data 100 days back: 1-hour.
    assert!(retention_notes(300, now - 100 * DAY, now)[0].contains("--period 3600"));
    // Within what the period keeps: nothing to say.
    assert!(retention_notes(60, now - 10 * DAY, now).is_empty());
    assert!(retention_notes(3600, now - 400 * DAY, now).is_empty());
    // Past 455 days nothing is kept at any period.
    assert!(retention_notes(3600, now - 500 * DAY, now)[0].contains("455 days"));
}
