//! `alertlab generate`: specs → Terraform and Prometheus files, written atomically, or compared with
//! what is on disk (`--check`, for CI).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;

use anyhow::Context;

use super::UsageError;
use crate::emit::{self, prometheus::PrometheusOutputs, GeneratedFile};
use crate::fsutil::stage;
use crate::series::{self, Series};
use crate::spec;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A spec file or a folder of specs.
    #[arg(long, default_value = "alerts")]
    pub spec: PathBuf,
    /// Output folder.
    #[arg(long, default_value = "generated")]
    pub out: PathBuf,
    /// Only these environments (repeat or comma-separate).
    #[arg(long, value_delimiter = ',')]
    pub env: Vec<String>,
    /// Targets: terraform, prometheus (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "terraform,prometheus")]
    pub target: Vec<String>,
    /// Prometheus wrappers besides plain rule files: configmap, prometheusrule, none.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "configmap,prometheusrule"
    )]
    pub wrappers: Vec<String>,
    /// Skip promtool unit tests derived from backtests.
    #[arg(long)]
    pub no_tests: bool,
    /// Compare with the files on disk instead of writing: exit 1 with a diff when they differ (or a
    /// tuned overlay is stale: its spec or data changed since `alertlab tune --write`).
    #[arg(long)]
    pub check: bool,
    /// Ignore tuned overlays (`<spec>.tuned.yaml`) and generate from the specs as written.
    #[arg(long)]
    pub no_tuned: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    for t in &args.target {
        if !matches!(t.as_str(), "terraform" | "prometheus") {
            return Err(
                UsageError(format!("`--target {t}`: expected terraform or prometheus")).into(),
            );
        }
    }
    for w in &args.wrappers {
        if !matches!(w.as_str(), "configmap" | "prometheusrule" | "none") {
            return Err(UsageError(format!(
                "`--wrappers {w}`: expected configmap, prometheusrule or none"
            ))
            .into());
        }
    }
    if args.wrappers.len() > 1 && args.wrappers.iter().any(|w| w == "none") {
        return Err(UsageError(format!(
            "`--wrappers {}`: `none` cannot be combined with a wrapper",
            args.wrappers.join(",")
        ))
        .into());
    }
    let sets = spec::load_path_with(
        &args.spec,
        spec::LoadOptions {
            tuned: !args.no_tuned,
        },
    )?;
    if !args.check {
        super::selection::warn_of_overlays_on_other_specs(&sets);
    }
    for e in &args.env {
        if !sets.iter().any(|s| s.environments.contains_key(e)) {
            return Err(
                UsageError(format!("`--env {e}`: no spec defines this environment")).into(),
            );
        }
    }
    let files = build(&sets, &args)?;
    let specs: Vec<String> = sets.iter().map(|s| emit::spec_label(&s.source)).collect();
    if args.check {
        let stale_overlays = stale_overlays(&sets);
        let code = check(&args.out, &files, &specs, &args.env)?;
        if !stale_overlays.is_empty() {
            for line in &stale_overlays {
                println!("stale tuned overlay: {line}");
            }
            eprintln!("error: {} tuned overlays are stale\nhint: run `alertlab tune --write` again on the current data, or delete the overlay", stale_overlays.len());
            return Ok(ExitCode::from(1));
        }
        return Ok(code);
    }
    write(&args.out, &files, &specs, &args.env)?;
    Ok(ExitCode::SUCCESS)
}

/// Why each merged tuned overlay no longer matches its spec or data.
fn stale_overlays(sets: &[spec::AlertSet]) -> Vec<String> {
    let mut out = Vec::new();
    for set in sets {
        let Some(path) = &set.tuned else { continue };
        if let Ok(Some((path, overlay))) = spec::overlay::read(&set.source) {
            for why in spec::overlay::staleness(&path, &overlay) {
                out.push(format!("{}: {why}", path.display()));
            }
        } else {
            out.push(format!("{}: cannot be read", path.display()));
        }
    }
    out
}

/// Every file, in memory, sorted by path; nothing touches the disk until all are built.
fn build(sets: &[spec::AlertSet], args: &Args) -> anyhow::Result<Vec<GeneratedFile>> {
    let outputs = PrometheusOutputs {
        configmap: args.wrappers.iter().any(|w| w == "configmap"),
        prometheus_rule: args.wrappers.iter().any(|w| w == "prometheusrule"),
    };
    let mut cache: BTreeMap<PathBuf, Option<Rc<Vec<Series>>>> = BTreeMap::new();
    let mut files = Vec::new();
    for set in sets {
        let has_alarms = set
            .alerts
            .iter()
            .any(|a| a.per_env.values().any(|r| r.cloudwatch.is_some()));
        if args.target.iter().any(|t| t == "terraform") && set.environments.is_empty() && has_alarms
        {
            // Its one env, `default`, has no account or region to put the alarms in.
            eprintln!(
                "note: `{}` has no `environments` (each with `account` and `region`): its CloudWatch alarms are replayed and tuned, but no Terraform is generated for them",
                set.source.display()
            );
        }
        if args.target.iter().any(|t| t == "terraform") && !set.environments.is_empty() {
            files.extend(
                emit::terraform::generate(
                    set,
                    &args.env,
                    outputs.configmap && args.target.iter().any(|t| t == "prometheus"),
                )
                .map_err(|e| UsageError(e.to_string()))?,
            );
        }
        if args.target.iter().any(|t| t == "prometheus") {
            files.extend(
                emit::prometheus::generate(set, &args.env, outputs)
                    .map_err(|e| UsageError(e.to_string()))?,
            );
            if !args.no_tests {
                let mut load = |alert: &spec::ResolvedAlert| -> Option<Rc<Vec<Series>>> {
                    let source = alert.backtest.as_ref()?;
                    cache
                        .entry(source.data.clone())
                        .or_insert_with(|| {
                            series::load(&source.data, source.format).ok().map(Rc::new)
                        })
                        .clone()
                };
                files.extend(
                    emit::promtool::generate(set, &args.env, &mut load)
                        .map_err(|e| UsageError(e.to_string()))?,
                );
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Regular files under `dir` whose first line says alertlab generated them from one of `specs`.
/// Symbolic links are never followed (a link inside the folder must not lead the sweep elsewhere),
/// and only the first line of each file is read.
fn generated_on_disk(dir: &Path, specs: &[String]) -> Vec<PathBuf> {
    use std::io::{BufRead, Read};
    let headers: Vec<String> = specs
        .iter()
        .map(|s| crate::conventions::header(s))
        .collect();
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(kind) = e.file_type() else { continue };
            let p = e.path();
            if kind.is_dir() {
                stack.push(p);
            } else if kind.is_file() {
                let mut first = String::new();
                let read = std::fs::File::open(&p)
                    .and_then(|f| std::io::BufReader::new(f.take(4096)).read_line(&mut first));
                if read.is_ok() && headers.iter().any(|h| first.contains(h.as_str())) {
                    out.push(p.strip_prefix(dir).unwrap_or(&p).to_path_buf());
                }
            }
        }
    }
    out.sort();
    out
}

/// Generated files of these specs on disk that this run no longer produces. With `--env`, files of
/// other envs are not this run's business: nothing is stale.
fn stale(out: &Path, files: &[GeneratedFile], specs: &[String], envs: &[String]) -> Vec<PathBuf> {
    if !envs.is_empty() {
        return Vec::new();
    }
    generated_on_disk(out, specs)
        .into_iter()
        .filter(|p| !files.iter().any(|f| &f.path == p))
        .collect()
}

fn write(
    out: &Path,
    files: &[GeneratedFile],
    specs: &[String],
    envs: &[String],
) -> anyhow::Result<()> {
    let (mut written, mut unchanged) = (0, 0);
    for f in files {
        // Generated paths are relative and made of checked names; refuse anything else outright.
        if !f
            .path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
        {
            anyhow::bail!(
                "internal error: generated path `{}` leaves the output folder",
                f.path.display()
            );
        }
    }
    // Every changed file is staged complete before any is renamed into place, so one unwritable
    // target leaves the folder as it was (the staged files are removed when dropped).
    let mut staged = Vec::new();
    for f in files {
        let path = out.join(&f.path);
        if std::fs::read_to_string(&path).is_ok_and(|old| old == f.contents) {
            unchanged += 1;
            continue;
        }
        staged.push(
            stage(&path, |w| w.write_all(f.contents.as_bytes()))
                .with_context(|| format!("writing `{}`", path.display()))?,
        );
    }
    for s in staged {
        s.commit().context("moving a generated file into place")?;
        written += 1;
    }
    // Only files alertlab generated earlier (first-line marker) are ever removed.
    let removed = stale(out, files, specs, envs);
    for p in &removed {
        std::fs::remove_file(out.join(p))
            .with_context(|| format!("removing stale `{}`", out.join(p).display()))?;
    }
    eprintln!(
        "{} files: {written} written, {unchanged} unchanged, {} stale removed, in {}",
        files.len(),
        removed.len(),
        out.display()
    );
    Ok(())
}

fn check(
    out: &Path,
    files: &[GeneratedFile],
    specs: &[String],
    envs: &[String],
) -> anyhow::Result<ExitCode> {
    let mut drift = 0;
    for f in files {
        let path = out.join(&f.path);
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        if old != f.contents {
            drift += 1;
            let diff = similar::TextDiff::from_lines(&old, &f.contents);
            print!(
                "{}",
                diff.unified_diff().context_radius(3).header(
                    &format!("a/{}", f.path.display()),
                    &format!("b/{}", f.path.display())
                )
            );
        }
    }
    for p in stale(out, files, specs, envs) {
        drift += 1;
        println!("stale generated file: {}", out.join(p).display());
    }
    if drift > 0 {
        eprintln!("error: {drift} generated files differ from the specs\nhint: run `alertlab generate` (without --check) and commit the result");
        Ok(ExitCode::from(1))
    } else {
        eprintln!("{} generated files are up to date", files.len());
        Ok(ExitCode::SUCCESS)
    }
}
