//! The one rule of HashiCorp's `hclwrite.Format` (what `terraform fmt` runs) that hcl-rs's writer
//! does not apply: in a run of consecutive lines that each assign a single-line value
//! (`name = value`), the `=` signs line up one space after the longest name. A line whose value
//! opens a bracket it does not close (a multi-line value), a line without an assignment (a block
//! header, a closing bracket, a comment) and a blank line all end a run.
//!
//! The scan follows hclwrite's tokens where it matters: the first bare `=` of a line that is not its
//! first token (so `==`, `!=`, `<=`, `>=`, `=>` and `=` inside quoted strings and `${...}`
//! interpolations do not count), and the net bracket count of the right-hand side. The generated
//! files are checked against HashiCorp's own formatter in the tests.

/// Where a line assigns a single-line value: the byte offset of its `=`.
fn single_line_assignment(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut i = 0;
    let mut depth = 0i32; // brackets outside strings
    let mut equals: Option<usize> = None;
    let mut seen_token = false;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'"' => {
                i = skip_string(bytes, i + 1);
                seen_token = true;
                continue;
            }
            b'#' => break,
            b'/' if bytes.get(i + 1) == Some(&b'/') => break,
            b'{' | b'[' | b'(' => {
                if equals.is_some() {
                    depth += 1;
                }
            }
            b'}' | b']' | b')' => {
                if equals.is_some() {
                    depth -= 1;
                }
            }
            b'=' if equals.is_none() => {
                let prev = i.checked_sub(1).map(|p| bytes[p]);
                let next = bytes.get(i + 1).copied();
                let operator = matches!(prev, Some(b'=' | b'!' | b'<' | b'>'))
                    || matches!(next, Some(b'=' | b'>'));
                if !operator && seen_token {
                    equals = Some(i);
                }
            }
            b' ' | b'\t' => {}
            _ => seen_token = true,
        }
        i += 1;
    }
    equals.filter(|_| depth == 0)
}

/// The index just past the closing quote of a string starting at `i` (after the opening quote),
/// stepping over escapes and `${...}` interpolations (which may hold strings of their own).
fn skip_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'$' | b'%' if bytes.get(i + 1) == Some(&b'{') => {
                if i > 0 && bytes[i - 1] == bytes[i] {
                    // `$${` / `%%{`: an escaped template sequence, literal text.
                    i += 2;
                    continue;
                }
                i += 2;
                let mut depth = 1;
                while i < bytes.len() && depth > 0 {
                    match bytes[i] {
                        b'"' => {
                            i = skip_string(bytes, i + 1);
                            continue;
                        }
                        b'{' => depth += 1,
                        b'}' => depth -= 1,
                        _ => {}
                    }
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    i
}

/// `text` with the `=` of every run of single-line assignments aligned, as `terraform fmt` does.
pub fn align_assignments(text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let cells: Vec<Option<(usize, usize)>> = lines
        .iter()
        .map(|line| {
            let eq = single_line_assignment(line)?;
            // The name's end: the `=` minus the spaces before it.
            let name_end = line[..eq].trim_end().len();
            Some((name_end, eq))
        })
        .collect();
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut i = 0;
    while i < lines.len() {
        let Some(_) = cells[i] else {
            out.push_str(lines[i]);
            out.push('\n');
            i += 1;
            continue;
        };
        let run_end = (i..lines.len())
            .find(|&j| cells[j].is_none())
            .unwrap_or(lines.len());
        let width = (i..run_end)
            .map(|j| lines[j][..cells[j].expect("in a run").0].chars().count())
            .max()
            .unwrap_or(0);
        for j in i..run_end {
            let (name_end, eq) = cells[j].expect("in a run");
            let name = &lines[j][..name_end];
            let pad = width - name.chars().count() + 1;
            out.push_str(name);
            out.extend(std::iter::repeat_n(' ', pad));
            out.push_str(&lines[j][eq..]);
            out.push('\n');
        }
        i = run_end;
    }
    out.pop(); // the split added one line past the last newline
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_align_and_multi_line_values_break_them() {
        let text = "a {\n  x = 1\n  long_name = \"=\"\n  list = [\n    1,\n  ]\n  y = a == b\n\n  zz = {a = 1}\n}\n";
        assert_eq!(
            align_assignments(text),
            "a {\n  x         = 1\n  long_name = \"=\"\n  list = [\n    1,\n  ]\n  y = a == b\n\n  zz = {a = 1}\n}\n"
        );
    }

    #[test]
    fn equals_in_strings_and_interpolations_do_not_count() {
        assert_eq!(single_line_assignment(r#"  a = "x = ${f("=")}""#), Some(4));
        assert_eq!(single_line_assignment(r#"  "k=v" = 1"#), Some(8));
        assert_eq!(single_line_assignment("  a == b"), None);
        assert_eq!(single_line_assignment("resource \"x\" \"y\" {"), None);
    }
}
