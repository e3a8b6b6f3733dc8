//! The starter repository's grading workflow (`.github/workflows/grade.yml`): the template in
//! `templates/grade.yml`, with one GitHub Classroom command-grader step per check the rubric
//! gives points to, so that Classroom's points are the rubric's.
//!
//! Each graded step reads the check's result from `lab-check.json` (written once by
//! `lab check --format json`): it prints the check's status and evidence, and passes when the
//! status is `PASS`. GitHub Classroom's reporter then adds the steps' scores up; it finds each
//! step's result in the variable `<STEP ID IN CAPITALS>_RESULTS` and the ids in `runners`.

/// The template, with `#@graded-checks`, `#@reporter-env` and `#@runners` to fill in.
pub const TEMPLATE: &str = include_str!("templates/grade.yml");

/// One graded check: its id (`lab check --list`), its step, and its points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graded {
    pub id: String,
    pub step: u8,
    pub points: u32,
}

/// The workflow for these checks (those worth 0 points are left out).
pub fn render(checks: &[Graded]) -> String {
    let graded: Vec<&Graded> = checks.iter().filter(|c| c.points > 0).collect();
    let mut steps = String::new();
    for (i, c) in graded.iter().enumerate() {
        if i > 0 {
            steps.push('\n');
        }
        let plural = if c.points == 1 { "" } else { "s" };
        steps.push_str(&format!(
            "      - name: \"step {step}: {id} ({points} point{plural})\"
        id: {id}
        uses: classroom-resources/autograding-command-grader@v1
        with:
          test-name: \"step {step}: {id}\"
          command: >-
            jq -e -r --arg id {id}
            '.checks[] | select(.id == $id) | \"\\(.status): \\(.evidence)\", .status == \"PASS\"'
            lab-check.json
          timeout: 1
          max-score: {points}
",
            step = c.step,
            id = c.id,
            points = c.points,
        ));
    }
    let env: Vec<String> = graded
        .iter()
        .map(|c| {
            format!(
                "{}_RESULTS: \"${{{{steps.{}.outputs.result}}}}\"",
                c.id.to_uppercase(),
                c.id
            )
        })
        .collect();
    let runners: Vec<&str> = graded.iter().map(|c| c.id.as_str()).collect();
    TEMPLATE
        .replace("      #@graded-checks\n", &steps)
        .replace("#@reporter-env", &env.join("\n          "))
        .replace("#@runners", &runners.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graded(id: &str, step: u8, points: u32) -> Graded {
        Graded {
            id: id.into(),
            step,
            points,
        }
    }

    #[test]
    fn every_worthy_check_is_a_step_the_reporter_counts() {
        let yml = render(&[
            graded("static-site", 1, 6),
            graded("browser-ajax", 4, 0),
            graded("sticky-sessions", 7, 10),
        ]);
        assert!(!yml.contains("#@"), "a marker was left: {yml}");
        let wf: serde_json::Value = serde_norway::from_str(&yml).unwrap();
        let steps = wf["jobs"]["grade"]["steps"].as_array().unwrap();
        let ids: Vec<&str> = steps.iter().filter_map(|s| s["id"].as_str()).collect();
        assert_eq!(ids, ["kit", "static-site", "sticky-sessions"]);
        let sticky = steps.iter().find(|s| s["id"] == "sticky-sessions").unwrap();
        assert_eq!(sticky["with"]["max-score"], 10);
        assert_eq!(sticky["name"], "step 7: sticky-sessions (10 points)");
        let command = sticky["with"]["command"].as_str().unwrap();
        assert!(
            command.starts_with("jq -e -r --arg id sticky-sessions '"),
            "{command}"
        );
        assert!(!command.contains('\n'), "one shell line: {command}");
        let reporter = steps.last().unwrap();
        assert_eq!(reporter["with"]["runners"], "static-site,sticky-sessions");
        assert_eq!(
            reporter["env"]["STICKY-SESSIONS_RESULTS"],
            "${{steps.sticky-sessions.outputs.result}}"
        );
        assert!(reporter["env"]["BROWSER-AJAX_RESULTS"].is_null());
    }

    /// The command the graded steps run, on a result file as `lab check --format json` writes
    /// it: it passes on PASS only, and fails when the check is missing.
    #[test]
    fn the_graded_command_passes_on_pass_only() {
        if std::process::Command::new("jq")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("jq is not installed here: the graded command is not run (GitHub's runners have it)");
            return;
        }
        let yml = render(&[graded("round-robin", 7, 8)]);
        let wf: serde_json::Value = serde_norway::from_str(&yml).unwrap();
        let command = wf["jobs"]["grade"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == "round-robin")
            .unwrap()["with"]["command"]
            .as_str()
            .unwrap()
            .to_owned();
        let run = |json: &str| {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("lab-check.json"), json).unwrap();
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(&command)
                .current_dir(dir.path())
                .output()
                .unwrap();
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )
        };
        let result = |status: &str| {
            format!(
                r#"{{"checks":[{{"id":"round-robin","step":7,"name":"round-robin",
                "status":"{status}","evidence":"d1 d2 d3 d1","points":0,"max_points":8}}]}}"#
            )
        };
        let (ok, out) = run(&result("PASS"));
        assert!(ok && out.starts_with("PASS: d1 d2 d3 d1"), "{out}");
        let (ok, out) = run(&result("FAIL"));
        assert!(!ok && out.starts_with("FAIL: d1"), "{out}");
        assert!(!run(&result("SKIP")).0);
        assert!(!run(r#"{"checks":[]}"#).0, "a missing check must not pass");
    }
}
