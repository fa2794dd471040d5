//! The `alertlab` binary: parse arguments, run the subcommand, map errors to exit codes
//! (0 ok, 1 runtime failure or `--check` drift, 2 bad input or usage).

use std::process::ExitCode;

fn main() -> ExitCode {
    keep_freed_memory();
    alertlab::cli::main()
}

/// glibc's malloc hands every block over 128 KB back to the kernel when it is freed (and, with its
/// default trim threshold, the top of the heap too), so a backtest that builds and drops a few
/// per-series buffers of a few hundred KB (a period grid, a band, an evaluation schedule) takes a
/// page fault and a zeroed page for every page of every one of them, every series. Keeping freed
/// memory for reuse took `bench backtest`'s both-engine run from 1.7–2.0 s to 0.6–0.7 s; the peak
/// RSS of streamed fleet runs grew 2–12 % (`bench scale --full`; `BENCHMARKS.md`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // SAFETY: mallopt only sets allocator parameters; it is called before any thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

/// Other allocators keep freed memory already.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}
