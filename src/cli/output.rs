//! Output helpers shared by subcommands: aligned tables for people, JSON/CSV for tools, and where
//! it goes (stdout or an atomically written file).

use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// `table` for people, `json` and `csv` for tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
}

/// Render rows as a left-aligned table with a header; numeric-looking cells are right-aligned.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let numeric =
        |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || ".-%".contains(c));
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                // Padded by hand: `format!`'s width stops at 65,535 and panics beyond it, and
                // a cell (a series name read from a file) can be longer.
                let pad = " ".repeat(widths[i].saturating_sub(c.chars().count()));
                if numeric(c) {
                    format!("{pad}{c}")
                } else {
                    format!("{c}{pad}")
                }
            })
            .collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(header.to_vec(), &mut out);
    for row in rows {
        line(row.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

/// A 95 % interval of alerts per week as a table cell: `[7.3, 17.3]`.
pub fn interval(ci: [f64; 2]) -> String {
    format!("[{}, {}]", num(ci[0], 1), num(ci[1], 1))
}

/// A number as a CSV cell for tools: every digit Rust prints (`0.1`, `12.5`, `1e-7`), no rounding.
pub fn data_cell(v: f64) -> String {
    v.to_string()
}

/// CSV from a header and rows (fields quoted when needed).
pub fn csv(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = header.join(",");
    out.push('\n');
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| crate::series::csv_field(c)).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// Print to stdout, or write atomically to `out`.
pub fn emit(text: &str, out: Option<&Path>) -> anyhow::Result<()> {
    emit_with(out, |w| w.write_all(text.as_bytes()))
}

/// [`emit`] for output written piece by piece (a report too large to build as one string).
pub fn emit_with(
    out: Option<&Path>,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    match out {
        Some(path) => crate::fsutil::write_atomic(path, fill)
            .with_context(|| format!("writing `{}`", path.display())),
        None => {
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            // A closed pipe (`| head`) is not an error worth reporting.
            match fill(&mut stdout).and_then(|_| stdout.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
                _ => Ok(()),
            }
        }
    }
}

/// A number with at most `digits` decimals and no trailing zeros.
pub fn num(v: f64, digits: usize) -> String {
    if v.is_nan() {
        return String::new();
    }
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A metric's value as a table cell for people: `significant` significant digits, so a latency of
/// 0.00031 s is not shown as `0` and a byte count of 1e308 is not 309 digits; plain decimals from
/// 10⁻⁴ to 10¹⁵, scientific notation outside (`3.1e-5`, `1e+20` is `1e20`).
pub fn value_cell(v: f64, significant: usize) -> String {
    if v.is_nan() {
        return String::new();
    }
    if v == 0.0 || v.is_infinite() {
        return v.to_string();
    }
    let significant = significant.max(1);
    let magnitude = v.abs().log10().floor() as i32;
    if (-4..15).contains(&magnitude) {
        let decimals = (significant as i32 - 1 - magnitude).max(0) as usize;
        num(v, decimals)
    } else {
        let s = format!("{v:.prec$e}", prec = significant - 1);
        match s.split_once('e') {
            Some((mantissa, exponent)) if mantissa.contains('.') => {
                let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
                format!("{mantissa}e{exponent}")
            }
            _ => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_cells_keep_small_and_huge_values_readable() {
        assert_eq!(value_cell(0.00031, 4), "0.00031");
        assert_eq!(value_cell(0.000_012_346, 4), "1.235e-5");
        assert_eq!(value_cell(1e308, 4), "1e308");
        assert_eq!(value_cell(-2.5e20, 4), "-2.5e20");
        assert_eq!(value_cell(123_456.789, 4), "123457");
        assert_eq!(value_cell(12.3456, 4), "12.35");
        assert_eq!(value_cell(0.0, 4), "0");
        assert_eq!(value_cell(f64::INFINITY, 4), "inf");
        assert_eq!(value_cell(f64::NAN, 4), "");
    }

    #[test]
    fn table_pads_cells_wider_than_format_allows() {
        // A series name of 70,000 characters (read from a user's file) once panicked in `format!`.
        let long = "s".repeat(70_000);
        let out = table(&["series", "points"], &[vec![long.clone(), "12".into()]]);
        let mut lines = out.lines();
        let header = lines.next().unwrap();
        assert!(header.starts_with("series ") && header.ends_with("points"));
        assert_eq!(lines.next().unwrap(), format!("{long}      12"));
    }
}
