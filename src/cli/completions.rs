//! `alertlab completions bash|zsh|fish|elvish|powershell` and `alertlab man`: shell completions and
//! the man page, from the same clap definition that parses the command line (never out of date).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::fsutil::write_bytes_atomic;

#[derive(clap::Args, Debug)]
pub struct CompletionArgs {
    /// The shell, e.g. `alertlab completions bash > /etc/bash_completion.d/alertlab`.
    pub shell: clap_complete::Shell,
}

#[derive(clap::Args, Debug)]
pub struct ManArgs {
    /// Write the pages (`alertlab.1` and one `alertlab-COMMAND.1` per subcommand) into this folder
    /// instead of printing `alertlab.1` to stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn completions(args: CompletionArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = super::command();
    clap_complete::generate(args.shell, &mut cmd, "alertlab", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

/// One roff page.
fn page(cmd: clap::Command) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut out)?;
    Ok(out)
}

pub fn man(args: ManArgs) -> anyhow::Result<ExitCode> {
    let cmd = super::command().name("alertlab");
    let Some(dir) = args.out else {
        use std::io::Write as _;
        std::io::stdout().write_all(&page(cmd)?)?;
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating `{}`", dir.display()))?;
    let top = dir.join("alertlab.1");
    write_bytes_atomic(&top, &page(cmd.clone())?)
        .with_context(|| format!("writing `{}`", top.display()))?;
    let mut written = 1;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        // A page's title is its file name.
        let name = format!("alertlab-{}", sub.get_name());
        let file = dir.join(format!("{name}.1"));
        write_bytes_atomic(&file, &page(sub.clone().name(name.clone()))?)
            .with_context(|| format!("writing `{}`", file.display()))?;
        written += 1;
    }
    eprintln!("{written} man pages in {}", dir.display());
    Ok(ExitCode::SUCCESS)
}
