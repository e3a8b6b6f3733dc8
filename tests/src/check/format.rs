//! A run's results in the three shapes a class's tooling reads: text for people (one line per
//! check, then `points: X/Y` and `N passed, M failed`, the line CI parses), JSON for scripts,
//! and JUnit XML, which GitHub Classroom and GitLab CI show as a test report.

use std::fmt::Write as _;

use anyhow::bail;
use serde_json::json;

use super::{Report, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
    Junit,
}

impl Format {
    pub fn parse(s: &str) -> anyhow::Result<Self> {
        match s {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            "junit" | "xml" => Ok(Format::Junit),
            other => bail!("unknown format `{other}`: use text, json or junit"),
        }
    }
}

/// The lines after the checks' lines: `points: X/Y`, then `N passed, M failed[, K skipped]`.
pub fn text_footer(report: &Report) -> String {
    format!(
        "points: {}/{}\n{}",
        report.points(),
        report.max_points(),
        report.summary()
    )
}

/// `{"checks":[...],"passed","failed","skipped","points","max_points"}`.
pub fn json(report: &Report) -> String {
    let checks: Vec<serde_json::Value> = report
        .results
        .iter()
        .map(|r| {
            json!({
                "id": r.name,
                "step": r.step,
                "name": r.what,
                "status": r.status.word(),
                "evidence": r.evidence,
                "points": r.points,
                "max_points": r.max_points,
                "seconds": (r.seconds * 1000.0).round() / 1000.0,
            })
        })
        .collect();
    let v = json!({
        "checks": checks,
        "passed": report.count(Status::Pass),
        "failed": report.count(Status::Fail),
        "skipped": report.count(Status::Skip),
        "points": report.points(),
        "max_points": report.max_points(),
    });
    serde_json::to_string_pretty(&v).expect("JSON values serialize")
}

/// JUnit XML: one `<testcase>` per check (classname: its step), a FAIL as `<failure>` and a SKIP
/// as `<skipped>`, both with the evidence; the points in the suite's name and `<properties>`.
pub fn junit(report: &Report, suite: &str) -> String {
    let total: f64 = report.results.iter().map(|r| r.seconds).sum();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let name = format!(
        "{suite} ({}/{} points)",
        report.points(),
        report.max_points()
    );
    let counts = format!(
        "tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{total:.3}\"",
        report.results.len(),
        report.count(Status::Fail),
        report.count(Status::Skip)
    );
    let _ = writeln!(x, "<testsuites name=\"{}\" {counts}>", esc(&name));
    let _ = writeln!(x, "  <testsuite name=\"{}\" {counts}>", esc(&name));
    x.push_str("    <properties>\n");
    for (k, v) in [
        ("points", report.points().to_string()),
        ("max_points", report.max_points().to_string()),
        ("summary", report.summary()),
    ] {
        let _ = writeln!(x, "      <property name=\"{k}\" value=\"{}\"/>", esc(&v));
    }
    x.push_str("    </properties>\n");
    for r in &report.results {
        let _ = write!(
            x,
            "    <testcase classname=\"step {}\" name=\"{}\" time=\"{:.3}\"",
            r.step,
            esc(r.name),
            r.seconds
        );
        let points = format!("points: {}/{}", r.points, r.max_points);
        match r.status {
            Status::Pass => {
                let _ = writeln!(
                    x,
                    ">\n      <system-out>{}&#10;{points}</system-out>\n    </testcase>",
                    esc(&r.evidence)
                );
            }
            Status::Fail => {
                let _ = writeln!(
                    x,
                    ">\n      <failure message=\"{}\" type=\"FAIL\">{}</failure>\n      \
                     <system-out>{points}</system-out>\n    </testcase>",
                    esc(&first_line(&r.evidence)),
                    esc(&r.evidence)
                );
            }
            Status::Skip => {
                let _ = writeln!(
                    x,
                    ">\n      <skipped message=\"{}\"/>\n      <system-out>{points}</system-out>\n    \
                     </testcase>",
                    esc(&r.evidence)
                );
            }
        }
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("");
    if line.chars().count() > 300 {
        format!("{}…", line.chars().take(300).collect::<String>())
    } else {
        line.to_string()
    }
}

/// Escapes text for XML content and attribute values; drops the control characters XML 1.0
/// does not allow (a server's body can contain anything).
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::CheckResult;

    fn report() -> Report {
        let r = |name, status, evidence: &str, points, max| CheckResult {
            step: 7,
            name,
            what: "what it proves",
            status,
            evidence: evidence.into(),
            points,
            max_points: max,
            seconds: 0.25,
        };
        Report {
            results: vec![
                r("round-robin", Status::Pass, "a → b → a", 8, 8),
                r(
                    "sticky-sessions",
                    Status::Fail,
                    "got <b> & \"c\"\nsecond line",
                    0,
                    10,
                ),
                r("browser-sticky", Status::Skip, "no Chromium", 0, 5),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn text_ends_with_points_and_the_line_ci_parses() {
        let t = text_footer(&report());
        assert_eq!(t, "points: 8/23\n1 passed, 1 failed, 1 skipped");
    }

    #[test]
    fn json_has_the_documented_shape() {
        let v: serde_json::Value = serde_json::from_str(&json(&report())).unwrap();
        assert_eq!(v["passed"], 1);
        assert_eq!(v["failed"], 1);
        assert_eq!(v["skipped"], 1);
        assert_eq!(v["points"], 8);
        assert_eq!(v["max_points"], 23);
        let c = &v["checks"][1];
        assert_eq!(c["id"], "sticky-sessions");
        assert_eq!(c["step"], 7);
        assert_eq!(c["status"], "FAIL");
        assert_eq!(c["max_points"], 10);
        assert!(c["evidence"].as_str().unwrap().contains("<b>"));
    }

    #[test]
    fn junit_is_well_formed_and_escaped() {
        let x = junit(&report(), "lab check");
        assert!(x.contains("tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\""));
        assert!(x.contains("<property name=\"points\" value=\"8\"/>"));
        assert!(x.contains("name=\"lab check (8/23 points)\""));
        assert!(x.contains("classname=\"step 7\" name=\"round-robin\""));
        assert!(x.contains("a → b → a&#10;points: 8/8</system-out>"));
        assert!(x.contains("<failure message=\"got &lt;b&gt; &amp; &quot;c&quot;\" type=\"FAIL\">"));
        assert!(x.contains("<skipped message=\"no Chromium\"/>"));
        assert_eq!(x.matches("<testcase ").count(), 3);
        assert_eq!(x.matches("</testcase>").count(), 3);
        assert_eq!(esc("a\u{1}b\u{7f}"), "ab\u{7f}");
    }
}
