//! The CloudWatch client, configured the way every AWS tool is (aws-config: environment,
//! profiles, SSO, IMDS, `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_CLOUDWATCH` or a profile's
//! `endpoint_url`), with bounded retries, timeouts, and SDK errors turned into messages that say
//! what to do. Shared by `fetch cloudwatch` (GetMetricData) and `import cloudwatch --live`
//! (DescribeAlarms).
//!
//! The SDK is async; alertlab is not, so each command runs its calls on a current-thread tokio
//! runtime ([`block_on`]). Credentials are never printed: messages name the profile, region and
//! endpoint only.

use std::path::PathBuf;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
// The codes the SDK's retry classifier retries as throttling: once they still fail, say so.
use aws_runtime::retries::classifiers::THROTTLING_ERRORS;
use aws_sdk_cloudwatch::config::http::HttpResponse;
use aws_sdk_cloudwatch::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls;
use aws_types::service_config::ServiceConfigKey;

/// Attempts per call (the first and retries), with exponential backoff between them: throttling
/// and 5xx answers are retried by the SDK's standard retry strategy, never more than this.
pub const ATTEMPTS: u32 = 4;

/// How to reach CloudWatch.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    /// A profile of `~/.aws/config` (else `AWS_PROFILE`, else `default`).
    pub profile: Option<String>,
    /// Else from the environment or the profile.
    pub region: Option<String>,
    /// PEM CA certificates to trust in addition to the system's (a TLS-inspecting proxy).
    pub ca_file: Option<PathBuf>,
    /// Per attempt; the whole call is bounded by `ATTEMPTS` times this plus backoff.
    pub timeout: Duration,
}

/// Why a call failed: bad input (exit 2) or a runtime failure (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Runtime(String),
}

/// The retry strategy every client here uses: standard mode, bounded attempts and backoff.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(5))
}

/// Run `future` to completion on a current-thread runtime.
pub fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, AwsError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| AwsError::Runtime(format!("could not start the AWS SDK's runtime: {e}")))?;
    Ok(runtime.block_on(future))
}

/// A CloudWatch client and where it sends its calls ("region eu-central-1, endpoint …"), for
/// messages and the `.meta.json` sidecar: the endpoint is the one the SDK resolved, from
/// `AWS_ENDPOINT_URL_CLOUDWATCH`, `AWS_ENDPOINT_URL` or the profile's `endpoint_url`.
#[derive(Debug, Clone)]
pub struct CloudWatch {
    pub client: aws_sdk_cloudwatch::Client,
    pub target: String,
}

impl CloudWatch {
    /// A client configured elsewhere (the SDK's replay client in tests): the target names its
    /// region.
    pub fn from_client(client: aws_sdk_cloudwatch::Client) -> CloudWatch {
        let region = client.config().region().map(|r| r.to_string());
        CloudWatch {
            target: describe_target(region.as_deref(), None),
            client,
        }
    }
}

/// A CloudWatch client from the standard AWS configuration, with `conn`'s overrides.
pub async fn client(conn: &Connection) -> Result<CloudWatch, AwsError> {
    let mut trust = tls::TrustStore::default();
    if let Some(path) = &conn.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| AwsError::Usage(format!("`--ca-file {}`: {e}", path.display())))?;
        trust = trust.with_pem_certificate(pem);
    }
    let tls_context = tls::TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| AwsError::Usage(format!("TLS set-up: {e}")))?;
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .tls_context(tls_context)
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(retry_config())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(conn.timeout.min(Duration::from_secs(10)))
                .operation_attempt_timeout(conn.timeout)
                .operation_timeout(conn.timeout * ATTEMPTS + Duration::from_secs(10))
                .build(),
        );
    if let Some(profile) = &conn.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &conn.region {
        loader = loader.region(Region::new(region.clone()));
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return Err(AwsError::Usage(
            "no AWS region: pass `--region`, set AWS_REGION, or give the profile a `region`".into(),
        ));
    }
    let region = config.region().map(|r| r.to_string());
    Ok(CloudWatch {
        target: describe_target(region.as_deref(), endpoint_override(&config).as_deref()),
        client: aws_sdk_cloudwatch::Client::new(&config),
    })
}

/// The endpoint the CloudWatch client will call instead of AWS's, resolved as the SDK resolves it
/// (its `From<&SdkConfig>`): CloudWatch's own setting (`AWS_ENDPOINT_URL_CLOUDWATCH`, a profile's
/// `services` section), else the general one (`AWS_ENDPOINT_URL`, a profile's `endpoint_url`).
fn endpoint_override(config: &aws_config::SdkConfig) -> Option<String> {
    let key = ServiceConfigKey::builder()
        .service_id("CloudWatch")
        .env("AWS_ENDPOINT_URL")
        .profile("endpoint_url")
        .build()
        .ok()?;
    config
        .service_config()
        .and_then(|c| c.load_config(key))
        .or_else(|| config.endpoint_url().map(str::to_string))
}

/// Where calls go, for messages: the region and any endpoint override.
fn describe_target(region: Option<&str>, endpoint: Option<&str>) -> String {
    let region = region.unwrap_or("no region");
    match endpoint {
        Some(url) => format!("region {region}, endpoint {url}"),
        None => format!("region {region}"),
    }
}

/// An SDK error as a message that says what happened and what to do. `action` is the IAM action
/// of the call (`cloudwatch:GetMetricData`), `target` a [`CloudWatch`]'s.
pub fn explain<E>(err: &SdkError<E, HttpResponse>, action: &str, target: &str) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let Some(code) = e.code() else {
                // Not an error CloudWatch sent: an answer the SDK could not read.
                return AwsError::Runtime(format!(
                    "{action} ({target}): the answer (HTTP {}) could not be read as CloudWatch's protocol: {}\nhint: check that the endpoint is CloudWatch (AWS_ENDPOINT_URL_CLOUDWATCH, a proxy in between)",
                    service.raw().status().as_u16(),
                    causes(e)
                ));
            };
            let message = e.message().unwrap_or("");
            match code {
                "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" | "TokenRefreshRequired" => {
                    AwsError::Runtime(format!(
                        "{action} ({target}): the AWS credentials have expired ({code}: {message})\nhint: refresh them, e.g. `aws sso login --profile <profile>`, or renew the session token"
                    ))
                }
                "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" | "UnauthorizedAccess" => {
                    AwsError::Runtime(format!(
                        "{action} ({target}): access denied ({code}: {message})\nhint: the identity needs `{action}` in this account and region"
                    ))
                }
                "InvalidClientTokenId" | "UnrecognizedClientException" | "SignatureDoesNotMatch" | "IncompleteSignature" | "InvalidSignatureException" => {
                    AwsError::Runtime(format!(
                        "{action} ({target}): the AWS credentials were rejected ({code}: {message})\nhint: check the profile's keys, and that the account is enabled in this region"
                    ))
                }
                c if THROTTLING_ERRORS.contains(&c) => AwsError::Runtime(format!(
                    "{action} ({target}): still throttled after {ATTEMPTS} attempts ({code}: {message})\nhint: retry later, or fetch fewer metrics at once"
                )),
                "InvalidParameterValue" | "InvalidParameterCombination" | "MissingParameter" | "ValidationError" | "InvalidNextToken" => {
                    AwsError::Usage(format!("{action} ({target}): CloudWatch refused the request ({code}: {message})"))
                }
                _ => AwsError::Runtime(format!(
                    "{action} ({target}): CloudWatch answered HTTP {} {code}: {message}",
                    service.raw().status().as_u16()
                )),
            }
        }
        SdkError::TimeoutError(_) => AwsError::Runtime(format!(
            "{action} ({target}): no answer in time after {ATTEMPTS} attempts\nhint: check the region and network path (VPC endpoint, proxy), or raise `--timeout`"
        )),
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) => {
            let detail = causes(err);
            let hint = if detail.contains("credential") {
                "hint: no usable AWS credentials: set AWS_PROFILE (or `--profile`), run `aws sso login`, or export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
            } else {
                "hint: check `--region` (a region that does not exist has no endpoint) and AWS_ENDPOINT_URL(_CLOUDWATCH)"
            };
            AwsError::Runtime(format!("{action} ({target}): {detail}\n{hint}"))
        }
        SdkError::ResponseError(_) => AwsError::Runtime(format!(
            "{action} ({target}): the answer could not be read as CloudWatch's protocol: {}",
            causes(err)
        )),
        _ => AwsError::Runtime(format!("{action} ({target}): {}", causes(err))),
    }
}

/// An error and its sources, each by its Display, joined by ": " (no Debug dumps).
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text += &format!(": {next}");
        }
        source = s.source();
    }
    text
}
