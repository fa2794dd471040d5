//! `alertlab import prometheus|cloudwatch`: a spec from the rules and alarms users already run
//! (`import::prometheus`, `import::cloudwatch`), checked to load before it is written, with what
//! could not be imported listed at its top and on stderr.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use super::UsageError;
use crate::fsutil::write_bytes_atomic;
use crate::import::{self, Imported};

#[derive(clap::Subcommand, Debug)]
pub enum Source {
    /// Prometheus alerting rules (a rule file, or a PrometheusRule object).
    Prometheus(PrometheusArgs),
    /// CloudWatch alarms (the JSON of `aws cloudwatch describe-alarms`).
    Cloudwatch(CloudWatchArgs),
}

#[derive(clap::Args, Debug)]
pub struct Target {
    /// The environment the rules or alarms belong to: its name in matchers, dimensions and alarm
    /// name suffixes becomes `{{env}}`, so the spec serves every env.
    #[arg(long)]
    pub env: Option<String>,
    /// `metadata.name` of the spec (default: from `--out`).
    #[arg(long)]
    pub name: Option<String>,
    /// The spec to write, e.g. `alerts/api.yaml`.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace `--out` if it exists (a spec is edited by hand after import; not replaced by default).
    #[arg(long)]
    pub force: bool,
}

#[derive(clap::Args, Debug)]
pub struct PrometheusArgs {
    /// The rule file.
    pub file: PathBuf,
    #[command(flatten)]
    pub target: Target,
}

#[derive(clap::Args, Debug)]
pub struct CloudWatchArgs {
    /// The output of `aws cloudwatch describe-alarms` (JSON).
    #[arg(long, required_unless_present = "live")]
    pub from_file: Option<PathBuf>,
    /// Read the alarms from the account (DescribeAlarms) instead of a file.
    #[arg(long, conflicts_with = "from_file")]
    pub live: bool,
    /// With `--live`: only alarms whose name starts with this.
    #[arg(long)]
    pub prefix: Option<String>,
    /// With `--live`: how to reach AWS.
    #[command(flatten)]
    pub aws: super::fetch_cloudwatch::AwsArgs,
    #[command(flatten)]
    pub target: Target,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub source: Source,
}

fn read(path: &Path) -> Result<String, UsageError> {
    std::fs::read_to_string(path).map_err(|e| UsageError(format!("`{}`: {e}", path.display())))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (imported, target) = match &args.source {
        Source::Prometheus(a) => {
            let text = read(&a.file)?;
            let name = a
                .target
                .name
                .clone()
                .unwrap_or_else(|| import::name_from(&a.target.out));
            let out = import::prometheus::import(
                &text,
                &a.file.display().to_string(),
                a.target.env.as_deref(),
                name,
            )
            .map_err(UsageError)?;
            (out, &a.target)
        }
        Source::Cloudwatch(a) => {
            let (text, source) = match &a.from_file {
                Some(file) => (read(file)?, file.display().to_string()),
                None => live_alarms(a)?,
            };
            let name = a
                .target
                .name
                .clone()
                .unwrap_or_else(|| import::name_from(&a.target.out));
            let out = import::cloudwatch::import(&text, &source, a.target.env.as_deref(), name)
                .map_err(UsageError)?;
            (out, &a.target)
        }
    };
    write(&imported, target)
}

/// The account's alarms (DescribeAlarms) as describe-alarms JSON, and where they came from.
fn live_alarms(a: &CloudWatchArgs) -> anyhow::Result<(String, String)> {
    let connection = a.aws.connection(std::time::Duration::from_secs(30));
    let answer = crate::aws::block_on(async {
        let cloudwatch = crate::aws::client(&connection).await?;
        let text =
            import::cloudwatch_live::describe_alarms(&cloudwatch, a.prefix.as_deref()).await?;
        Ok::<_, crate::aws::AwsError>((text, cloudwatch.target))
    })
    .and_then(|r| r)
    .map_err(super::fetch_cloudwatch::aws_error)?;
    Ok((answer.0, format!("DescribeAlarms ({})", answer.1)))
}

fn write(imported: &Imported, target: &Target) -> anyhow::Result<ExitCode> {
    if imported.alerts.is_empty() {
        for (what, why) in &imported.notes {
            eprintln!("not imported: {what}: {why}");
        }
        return Err(UsageError(format!("`{}`: nothing could be imported", imported.source)).into());
    }
    if target.out.exists() && !target.force {
        return Err(UsageError(format!(
            "`{}` exists; pass `--force` to replace it",
            target.out.display()
        ))
        .into());
    }
    let yaml = imported.to_yaml().map_err(anyhow::Error::msg)?;
    // The spec alertlab writes must be one alertlab reads.
    import::check_loads(&yaml, &target.out).map_err(|e| {
        anyhow::anyhow!(
            "the imported spec does not load (a bug in the import; please report it): {e}"
        )
    })?;
    write_bytes_atomic(&target.out, yaml.as_bytes())
        .with_context(|| format!("writing `{}`", target.out.display()))?;
    for (what, why) in &imported.notes {
        eprintln!("note: {what}: {why}");
    }
    eprintln!(
        "{} alerts imported into {} ({} notes at its top)",
        imported.alerts.len(),
        target.out.display(),
        imported.notes.len()
    );
    Ok(ExitCode::SUCCESS)
}
