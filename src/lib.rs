//! alertlab: replay CloudWatch alarms and Prometheus alerting rules over metric history, tune them,
//! and generate the Terraform and rule files that deploy them.
//!
//! Data flow (see `DESIGN.md`): [`series`] loads and resamples history → [`band`] turns a series into
//! thresholds → [`engine`] replays the exact alarm state machines → [`notify`] counts what people
//! would have received → [`score`] measures noise and incident recall → [`backtest`] ties it
//! together per (alert, env, engine, series) for the CLI.

pub mod aws;
pub mod backtest;
pub mod band;
pub mod cli;
pub mod conventions;
pub mod emit;
pub mod engine;
pub mod fetch;
pub mod fleet;
pub mod fsutil;
pub mod import;
pub mod inject;
pub mod notify;
pub mod plot;
pub mod progress;
pub mod report;
pub mod rng;
pub mod score;
pub mod series;
pub mod shard;
pub mod spec;
pub mod synth;
pub mod tune;

thread_local! {
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run `f`, turning a panic inside it into `Err` without printing it. Third-party readers (polars)
/// panic on some malformed files; the loader reports those as bad input, and the panic's message and
/// backtrace must not reach the user's terminal. Panics of polars' worker threads are silenced too.
pub fn quiet_panics<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let worker = std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with("polars"));
            if !(worker || QUIET.with(|q| q.get())) {
                default(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    out
}
