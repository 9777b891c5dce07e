//! The policy crate's error type. Every compile problem names its place as
//! `file:line:col`, so editors and CI annotate the offending line.

use thiserror::Error;

/// A problem located in a bundle file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// Bundle-relative file name (`sensitive_exfiltration.rego`).
    pub file: String,
    /// 1-based line, 0 when unknown.
    pub line: u32,
    /// 1-based column, 0 when unknown.
    pub col: u32,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Located {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )
    }
}

/// Why a bundle could not be loaded or a decision could not be made.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum PolicyError {
    /// The bundle does not compile, or breaks a rule of the bundle format.
    /// Each entry prints as `file:line:col: message`.
    #[error("the policy bundle does not compile:\n{}", join_lines(.0))]
    Compile(Vec<Located>),
    /// The bundle compiles but its own tests fail (a reload is refused).
    #[error("{failed} of {total} policy tests failed: {}", .names.join(", "))]
    TestsFailed {
        /// How many tests failed.
        failed: usize,
        /// How many ran.
        total: usize,
        /// `package.test_name` of each failure.
        names: Vec<String>,
    },
    /// The policy input does not match the input contract (JSON pointer first).
    #[error("policy input {pointer}: {reason}")]
    Input {
        /// JSON pointer to the offending value.
        pointer: String,
        /// What was expected.
        reason: String,
    },
    /// Evaluation failed at run time (error in a rule, time budget spent).
    #[error("policy evaluation failed: {0}")]
    Eval(String),
    /// The organisation data (`data.json`) is not a JSON object.
    #[error("policy data {file}: {reason}")]
    Data {
        /// The data file's name.
        file: String,
        /// What is wrong.
        reason: String,
    },
}

fn join_lines(items: &[Located]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Result alias for this crate.
pub type Result<T, E = PolicyError> = std::result::Result<T, E>;

/// Turns a regorus error text (`--> file:line:col ... error: message`) into
/// located entries; text without a location is attributed to `fallback_file`.
pub(crate) fn locate(text: &str, fallback_file: &str) -> Located {
    let mut file = fallback_file.to_owned();
    let (mut line, mut col) = (0, 0);
    if let Some(rest) = text.split("--> ").nth(1) {
        let loc = rest.lines().next().unwrap_or("").trim();
        // `path:line:col`, where path itself may contain no colon (bundle names).
        let mut parts = loc.rsplitn(3, ':');
        let c = parts.next().and_then(|s| s.parse().ok());
        let l = parts.next().and_then(|s| s.parse().ok());
        if let (Some(l), Some(c), Some(f)) = (l, c, parts.next()) {
            file = f.to_owned();
            line = l;
            col = c;
        }
    }
    let message = text
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("error: "))
        .map(str::to_owned)
        .unwrap_or_else(|| text.trim().replace('\n', " "));
    Located {
        file,
        line,
        col,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_regorus_parse_errors_as_file_line_col() {
        let text = "\n--> bundle/b.rego:4:1\n  |\n4 | }\n  | ^\nerror: expecting expression";
        let loc = locate(text, "x.rego");
        assert_eq!(loc.to_string(), "bundle/b.rego:4:1: expecting expression");
    }

    #[test]
    fn unlocated_errors_fall_back_to_the_given_file() {
        let loc = locate("something broke", "a.rego");
        assert_eq!(loc.to_string(), "a.rego:0:0: something broke");
    }
}
