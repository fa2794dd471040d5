//! alertlab: replay CloudWatch alarms and Prometheus alerting rules over metric history, tune them,
//! and generate the Terraform and rule files that deploy them.
//!
//! Data flow (see `DESIGN.md`): [`series`] loads and resamples history → [`band`] turns a series into
//! thresholds → [`engine`] replays the exact alarm state machines → [`notify`] counts what people
//! would have received → [`score`] measures noise and incident recall → [`backtest`] ties it
//! together per (alert, env, engine, series) for the CLI.

pub mod backtest;
pub mod band;
pub mod cli;
pub mod conventions;
pub mod emit;
pub mod engine;
pub mod fsutil;
pub mod notify;
pub mod rng;
pub mod score;
pub mod series;
pub mod spec;
pub mod synth;
