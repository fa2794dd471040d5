//! Command-line interface: clap definitions and one module per subcommand, each with
//! `run(args) -> anyhow::Result<ExitCode>`. No domain logic lives here.

mod backtest;
mod band;
mod bench;
mod bench_plot;
mod bench_scale;
mod bench_tune;
mod completions;
mod fetch;
mod fetch_cloudwatch;
mod generate;
mod import;
mod inject;
mod inspect;
mod limits;
mod merge;
mod output;
mod plot;
mod report;
mod selection;
mod spec_reference;
mod synth;
mod tune;
mod tune_render;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "alertlab",
    version,
    about = "Replay, tune and generate CloudWatch alarms and Prometheus alerting rules from metric history"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// What a metric file holds, per series: points, span, step, gaps, duplicates, min/median/max.
    Inspect(inspect::Args),
    /// Write seeded synthetic series (daily/weekly cycles, trend, noise, sporadic bursts).
    Synth(synth::Args),
    /// Replay the specs' alerts over their history: episodes, notifications, alerts per week.
    Backtest(backtest::Args),
    /// The band a model draws over a series (`timestamp,value,lower,upper`), for inspection.
    Band(band::Args),
    /// Generate Terraform (CloudWatch alarms) and Prometheus rules, ConfigMaps, PrometheusRules and
    /// promtool tests from the specs; `--check` for CI.
    Generate(generate::Args),
    /// Write a series with seeded synthetic anomalies (spike, shift, drift, drop, variance) and
    /// where they are, to look at or to measure recall against.
    Inject(inject::Args),
    /// Band charts (PNG or SVG): one series with its band, or every alarm and rule of a spec.
    Plot(plot::Args),
    /// One self-contained HTML report: backtest table, charts, current vs recommended settings.
    Report(report::Args),
    /// Find the quietest setting that still catches incidents, per alert and env; `--write` puts
    /// it beside the spec for backtest and generate.
    Tune(tune::Args),
    /// Time loading, bands, backtests, tuning, charts and fleet runs on generated data, each against a
    /// baseline measured in the same run.
    Bench(bench::Args),
    /// Metric history from a Prometheus server or from CloudWatch, in the format the loaders read.
    Fetch(fetch::Args),
    /// A spec from what you already run: Prometheus alerting rules or CloudWatch alarms.
    Import(import::Args),
    /// Combine the JSON outputs of sharded runs (`backtest --shard i/n`, `tune --shard i/n`) into
    /// the report one run over all series gives.
    Merge(merge::Args),
    /// The spec reference (every key, type, default and engine) as Markdown; `--check` for CI.
    SpecReference(spec_reference::Args),
    /// Shell completions (bash, zsh, fish, elvish, powershell) on stdout.
    Completions(completions::CompletionArgs),
    /// The man page (roff) on stdout, or one page per command into `--out DIR`.
    Man(completions::ManArgs),
}

/// A usage error found after parsing (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The command line definition. Negative numbers parse as values (`--step -60`), so that the
/// subcommand can reject them naming the flag instead of clap calling them unknown flags.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    Cli::command().mut_subcommands(|c| c.allow_negative_numbers(true))
}

pub fn main() -> ExitCode {
    use clap::FromArgMatches;
    let parsed = command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Inspect(args) => inspect::run(args),
        Command::Synth(args) => synth::run(args),
        Command::Backtest(args) => backtest::run(args),
        Command::Band(args) => band::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Tune(args) => tune::run(args),
        Command::Inject(args) => inject::run(args),
        Command::Plot(args) => plot::run(args),
        Command::Report(args) => report::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Import(args) => import::run(args),
        Command::Fetch(args) => fetch::run(args),
        Command::SpecReference(args) => spec_reference::run(args),
        Command::Completions(args) => completions::completions(args),
        Command::Man(args) => completions::man(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", describe(&err));
            ExitCode::from(exit_code(&err))
        }
    }
}

/// The error and its causes joined by ": ", each cause only when the text before does not already
/// hold it: most of alertlab's errors put their cause's message in their own (anyhow's `{:#}` would
/// print every data error twice).
fn describe(err: &anyhow::Error) -> String {
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

/// 2 for bad input or usage (anything the user can fix in their files or flags), 1 otherwise.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    let input = err.chain().any(|e| {
        e.is::<crate::series::LoadError>()
            || e.is::<crate::spec::SpecError>()
            || e.downcast_ref::<crate::backtest::BacktestError>()
                .is_some_and(|b| !matches!(b, crate::backtest::BacktestError::Spill(_)))
            || e.is::<UsageError>()
    });
    if input {
        2
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// A cause already in its error's message is not printed again; a context's cause is.
    #[test]
    fn each_cause_is_said_once() {
        let load = crate::series::LoadError::Empty {
            path: "s.csv".into(),
        };
        let data = crate::backtest::BacktestError::Data {
            alert: "a".into(),
            env: "dev".into(),
            path: "s.csv".into(),
            source: Box::new(load),
        };
        let text = describe(&anyhow::Error::new(data));
        assert_eq!(text.matches("is empty").count(), 1, "{text}");
        let with_context =
            anyhow::Error::new(std::io::Error::other("disk full")).context("writing `out.json`");
        assert_eq!(describe(&with_context), "writing `out.json`: disk full");
    }

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
        command().debug_assert();
    }
}
