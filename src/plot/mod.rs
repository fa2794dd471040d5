//! Band charts: what a person looks at to decide whether an alarm is right — the series, its band
//! (or threshold), the breaching datapoints, the alarm's episodes, the incidents, the warm-up — drawn
//! from a replay the backtest already made (`chart` holds no simulation of its own) as PNG or SVG
//! (`render`), with a bundled font so a machine without fonts draws the same picture; and the
//! trade-off `tune` measured, settings by false alerts and recall (`tradeoff`).

pub mod chart;
pub mod render;
pub mod tradeoff;

pub use chart::Chart;
pub use render::{render, render_stack, render_svg, RenderError};
