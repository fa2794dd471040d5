//! `alertlab spec-reference [--out F] [--check]`: the spec reference page (every key, type,
//! default, engine) from the decoder's own types (`spec::reference`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::fsutil::write_bytes_atomic;
use crate::spec::reference;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Write the page here (atomically) instead of stdout, e.g. `docs/spec-reference.md`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Fail (exit 1) when `--out` is not what this build would write (for CI).
    #[arg(long, requires = "out")]
    pub check: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let page = reference::markdown();
    match (args.out, args.check) {
        (None, _) => print!("{page}"),
        (Some(out), true) => {
            let current = std::fs::read_to_string(&out).unwrap_or_default();
            if current != page {
                eprintln!(
                    "error: `{}` is not the spec reference of this build\nhint: run `alertlab spec-reference --out {}` and commit the result",
                    out.display(),
                    out.display()
                );
                return Ok(ExitCode::from(1));
            }
            eprintln!("`{}` is up to date", out.display());
        }
        (Some(out), false) => write_bytes_atomic(&out, page.as_bytes())
            .with_context(|| format!("writing `{}`", out.display()))?,
    }
    Ok(ExitCode::SUCCESS)
}
