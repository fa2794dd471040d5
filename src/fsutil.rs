//! Atomic file output: every file alertlab writes goes to a temporary file in the target's folder
//! and is renamed over the target only once complete, so a failed run never leaves half a file.

use std::io::{self, Write};
use std::path::Path;

/// Prefix and suffix of alertlab's temporary files; nothing else is ever cleaned up.
const TMP_PREFIX: &str = ".alertlab-";
const TMP_SUFFIX: &str = ".tmp";
/// A temporary file untouched this long belongs to a run that was killed.
const STALE_TMP: std::time::Duration = std::time::Duration::from_secs(300);

/// A complete file written next to its target, not yet in place: [`Staged::commit`] renames it over
/// the target; dropping it removes it.
pub struct Staged {
    tmp: tempfile::NamedTempFile,
    path: std::path::PathBuf,
}

impl Staged {
    pub fn commit(self) -> io::Result<()> {
        self.tmp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Write everything `fill` writes to a temporary file beside `path` (created with its folder).
pub fn stage<F>(path: &Path, fill: F) -> io::Result<Staged>
where
    F: FnOnce(&mut dyn Write) -> io::Result<()>,
{
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    remove_stale_temporaries(dir);
    let mut tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .suffix(TMP_SUFFIX)
        .tempfile_in(dir)?;
    {
        let mut buffered = io::BufWriter::new(tmp.as_file_mut());
        fill(&mut buffered)?;
        buffered.flush()?;
    }
    #[cfg(unix)]
    {
        // tempfile creates 0600 files; outputs are ordinary files others may read (umask applies
        // to nothing here, so use the conventional 0644).
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    tmp.as_file().sync_all()?;
    Ok(Staged {
        tmp,
        path: path.to_path_buf(),
    })
}

/// Write `path` atomically with whatever `fill` writes.
pub fn write_atomic<F>(path: &Path, fill: F) -> io::Result<()>
where
    F: FnOnce(&mut dyn Write) -> io::Result<()>,
{
    stage(path, fill)?.commit()
}

/// Write bytes atomically.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic(path, |w| w.write_all(bytes))
}

/// Remove temporary files of alertlab's own naming in `dir` that no run has touched for a while
/// (left by a killed run). Regular files only; errors are ignored (it is housekeeping).
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(TMP_PREFIX) && name.ends_with(TMP_SUFFIX)) {
            continue;
        }
        let Ok(meta) = e.metadata() else { continue };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age > STALE_TMP);
        if meta.is_file() && old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_stage_leaves_nothing_and_stale_temporaries_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.txt");
        let staged = stage(&target, |w| w.write_all(b"x")).unwrap();
        drop(staged);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let stale = dir.path().join(".alertlab-killed.tmp");
        std::fs::write(&stale, b"half").unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let fresh = dir.path().join(".alertlab-running.tmp");
        std::fs::write(&fresh, b"in progress").unwrap();
        write_bytes_atomic(&target, b"done").unwrap();
        assert!(!stale.exists(), "a killed run's temporary file is removed");
        assert!(
            fresh.exists(),
            "a recent one may belong to a running command"
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"done");
    }
}
