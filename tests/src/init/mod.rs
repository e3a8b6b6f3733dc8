//! `lab init DIR`: writes the starter repository a teacher hands out for the lab: the tasks
//! (README), the report's template, Dockerfile and compose skeletons with TODOs, `lab.toml` for
//! `lab check`, and a GitHub Classroom workflow that grades every push.
//!
//! The files are in `templates/`, beside this file, as the students will get them: a teacher
//! reads (or edits) them there. The 2021 edition is the reference report's lab (sticky static
//! site, round-robin API); 2023 is the course's 2023-24 statement (sticky API, round-robin site,
//! HTTPS). Two things are filled in: the workflow's graded steps, from the rubric
//! ([`graded_checks`]), and the kit's repository URL, when given ([`KIT_REPO_PLACEHOLDER`]).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::check::{self, Edition};

mod workflow;

pub use workflow::Graded;

/// The kit's repository in `grade.yml` until the teacher sets it (or passes `--kit-repo`).
pub const KIT_REPO_PLACEHOLDER: &str = "https://github.com/YOUR-ORG/http-infra-lab";

/// One file of the starter repository: where it goes, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub path: &'static str,
    pub text: String,
}

/// What `lab init` writes.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub edition: Edition,
    /// The kit's repository, for the workflow's `cargo install --git` (default: the placeholder).
    pub kit_repo: Option<String>,
    /// Write into a directory that is not empty (files of the template are replaced).
    pub force: bool,
    /// The checks the workflow grades, with their points ([`graded_checks`]).
    pub graded: Vec<Graded>,
}

/// The starter repository's files for an edition, in the order they are listed.
pub fn files(opts: &Options) -> Vec<File> {
    let by_edition = |e2021: &'static str, e2023: &'static str| match opts.edition {
        Edition::E2021 => e2021,
        Edition::E2023 => e2023,
    };
    let grade = workflow::render(&opts.graded);
    let grade = match &opts.kit_repo {
        Some(repo) => grade.replace(KIT_REPO_PLACEHOLDER, repo),
        None => grade,
    };
    let file = |path, text: &str| File {
        path,
        text: text.to_owned(),
    };
    vec![
        file(
            "README.md",
            by_edition(
                include_str!("templates/README-2021.md"),
                include_str!("templates/README-2023.md"),
            ),
        ),
        file(
            "REPORT.md",
            by_edition(
                include_str!("templates/REPORT-2021.md"),
                include_str!("templates/REPORT-2023.md"),
            ),
        ),
        file(
            "compose.yaml",
            by_edition(
                include_str!("templates/compose-2021.yaml"),
                include_str!("templates/compose-2023.yaml"),
            ),
        ),
        file(
            "lab.toml",
            by_edition(
                include_str!("templates/lab-2021.toml"),
                include_str!("templates/lab-2023.toml"),
            ),
        ),
        file(
            "static/Dockerfile",
            by_edition(
                include_str!("templates/static-2021.Dockerfile"),
                include_str!("templates/static-2023.Dockerfile"),
            ),
        ),
        file(
            "api/Dockerfile",
            by_edition(
                include_str!("templates/api-2021.Dockerfile"),
                include_str!("templates/api-2023.Dockerfile"),
            ),
        ),
        File {
            path: ".github/workflows/grade.yml",
            text: grade,
        },
        file(".gitignore", include_str!("templates/gitignore")),
    ]
}

/// The checks the workflow grades and their points: those of `rubric` (a rubric file's text,
/// `[points] check-id = N`), else the kit's rubric (`docs/src/rubric.toml`), in step order;
/// only the checks that run in `edition`'s runs.
pub fn graded_checks(rubric: Option<&str>, edition: Edition) -> Result<Vec<Graded>> {
    let runs = check::ids_in(edition);
    let ids = check::ids();
    let rubric = match rubric {
        Some(text) => check::Rubric::parse(text, &ids)?,
        None => check::Rubric::default_for(&ids),
    };
    Ok(check::list()
        .into_iter()
        .filter(|(_, id, _)| runs.contains(id))
        .map(|(step, id, _)| Graded {
            id: id.to_owned(),
            step,
            points: rubric.max(id),
        })
        .filter(|g| g.points > 0)
        .collect())
}

/// Writes the starter repository into `dir` (created when missing) and returns the paths
/// written. A directory that holds anything is refused unless `force`: a teacher's or a
/// student's work is never overwritten by mistake.
pub fn write(dir: &Path, opts: &Options) -> Result<Vec<PathBuf>> {
    if dir.exists() {
        if !dir.is_dir() {
            bail!("{} exists and is not a directory", dir.display());
        }
        let not_empty = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .next()
            .is_some();
        if not_empty && !opts.force {
            bail!(
                "{} is not empty: choose a new directory, or pass --force to write the starter \
                 files over what is there (files of the same name are replaced, others are kept)",
                dir.display()
            );
        }
    }
    let mut written = Vec::new();
    for f in files(opts) {
        let path = dir.join(f.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, &f.text)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(edition: Edition) -> Options {
        Options {
            edition,
            graded: graded_checks(None, edition).unwrap(),
            ..Default::default()
        }
    }

    fn text(files: &[File], path: &str) -> String {
        files
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("no {path}"))
            .text
            .clone()
    }

    #[test]
    fn the_workflows_points_are_the_rubrics() {
        let kit = graded_checks(None, Edition::E2021).unwrap();
        assert_eq!(kit.iter().map(|g| g.points).sum::<u32>(), 100, "{kit:?}");
        let with_2023 = graded_checks(None, Edition::E2023).unwrap();
        assert!(with_2023.iter().any(|g| g.id == "crud-api"));
        assert!(!kit.iter().any(|g| g.id == "crud-api"));
        let mine = graded_checks(
            Some("[points]\nsticky-sessions = 40\nround-robin = 2\n"),
            Edition::E2021,
        )
        .unwrap();
        let ids: Vec<(&str, u32)> = mine.iter().map(|g| (g.id.as_str(), g.points)).collect();
        assert_eq!(ids, [("round-robin", 2), ("sticky-sessions", 40)]);
        let err =
            graded_checks(Some("[points]\nstiky-sessions = 1\n"), Edition::E2021).unwrap_err();
        assert!(format!("{err:#}").contains("stiky-sessions"), "{err:#}");
    }

    #[test]
    fn writes_every_file_into_a_new_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("lab");
        let written = write(&dir, &opts(Edition::E2021)).unwrap();
        for path in [
            "README.md",
            "REPORT.md",
            "compose.yaml",
            "lab.toml",
            "static/Dockerfile",
            "api/Dockerfile",
            ".github/workflows/grade.yml",
            ".gitignore",
        ] {
            assert!(dir.join(path).is_file(), "{path} missing");
            assert!(written.contains(&dir.join(path)), "{path} not reported");
        }
    }

    #[test]
    fn refuses_a_non_empty_directory_unless_forced() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
        std::fs::write(tmp.path().join("README.md"), "mine").unwrap();
        let err = write(tmp.path(), &opts(Edition::E2021))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not empty") && err.contains("--force"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("README.md")).unwrap(),
            "mine",
            "nothing may be written when refused"
        );
        let forced = Options {
            force: true,
            ..opts(Edition::E2021)
        };
        write(tmp.path(), &forced).unwrap();
        assert!(std::fs::read_to_string(tmp.path().join("README.md"))
            .unwrap()
            .contains("lab check"));
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("notes.txt")).unwrap(),
            "mine",
            "other files are kept"
        );
    }

    #[test]
    fn an_empty_existing_directory_is_fine_and_a_file_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), &opts(Edition::E2023)).unwrap();
        let file = tmp.path().join("README.md");
        let err = write(&file, &opts(Edition::E2023)).unwrap_err().to_string();
        assert!(err.contains("not a directory"), "{err}");
    }

    #[test]
    fn the_readme_lists_every_step_of_its_edition_and_the_self_check() {
        let f = files(&opts(Edition::E2021));
        let readme = text(&f, "README.md");
        for step in 1..=9 {
            assert!(readme.contains(&format!("**Step {step}")), "step {step}");
        }
        assert!(readme.contains("lab check --docker"));
        assert!(readme.contains("static_cookie"));
        let f = files(&opts(Edition::E2023));
        let readme = text(&f, "README.md");
        for step in 0..=7 {
            assert!(
                readme.contains(&format!("**Step {step}")),
                "2023 step {step}"
            );
        }
        assert!(readme.contains("lab check --docker"));
        assert!(readme.contains("api_cookie"));
    }

    #[test]
    fn the_report_has_a_section_per_step_and_per_test_asking_for_evidence() {
        for (edition, steps) in [(Edition::E2021, 1..=9), (Edition::E2023, 1..=7)] {
            let report = text(&files(&opts(edition)), "REPORT.md");
            for step in steps {
                assert!(
                    report.contains(&format!("## Step {step}")),
                    "{edition:?} {step}"
                );
            }
            for test in [
                "### Sticky sessions in real conditions",
                "down",
                "### Round robin, one client",
                "### Dynamic scaling",
                "### Remarks",
            ] {
                assert!(report.contains(test), "{edition:?}: {test}");
            }
            for part in ["Commands", "Screenshots", "Observations"] {
                assert!(report.matches(part).count() >= 10, "{edition:?}: {part}");
            }
        }
    }

    /// lab.toml is one `lab check` reads (unknown keys would be errors), with the edition's
    /// sticky service, and the service names it gives are the compose skeleton's: a student who
    /// only fills in the TODOs has a consistent set-up.
    #[test]
    fn lab_toml_is_read_by_lab_check_and_names_the_compose_skeletons_services() {
        use crate::check::setup::{Flags, LabFile};
        use crate::local::Kind;
        for (edition, sticky, cookie, api) in [
            (Edition::E2021, Kind::Static, "static_cookie", "dynamic"),
            (Edition::E2023, Kind::Dynamic, "api_cookie", "api"),
        ] {
            let f = files(&opts(edition));
            let lab = LabFile::parse(&text(&f, "lab.toml")).unwrap();
            let setup = check::Setup::resolve(&lab, &Flags::default()).unwrap();
            assert_eq!(setup.edition, edition);
            assert_eq!(setup.sticky, sticky, "{edition:?}");
            assert_eq!(setup.cookie.as_deref(), Some(cookie));
            assert_eq!(setup.api_service, api);
            let compose: serde_json::Value =
                serde_norway::from_str(&text(&f, "compose.yaml")).unwrap();
            assert_eq!(compose["name"].as_str(), setup.project.as_deref());
            for service in [
                &setup.static_service,
                &setup.api_service,
                &setup.proxy_service,
            ] {
                assert!(
                    compose["services"][service.as_str()].is_object(),
                    "{edition:?}: {service} is not in compose.yaml"
                );
            }
        }
    }

    /// GitHub Classroom's convention: command-grader steps with a max score, then the reporter,
    /// which reads each step's result from `<ID>_RESULTS` and lists the ids in `runners`.
    #[test]
    fn the_workflow_follows_classrooms_autograding_convention() {
        let f = files(&opts(Edition::E2021));
        let yml = text(&f, ".github/workflows/grade.yml");
        let wf: serde_json::Value = serde_norway::from_str(&yml).unwrap();
        assert!(yml.contains(KIT_REPO_PLACEHOLDER));
        let on = wf["on"].as_array().expect("on: [push, ...]");
        assert!(on.iter().any(|e| e == "push"));
        let steps = wf["jobs"]["grade"]["steps"].as_array().unwrap();
        let graders: Vec<&serde_json::Value> = steps
            .iter()
            .filter(|s| {
                s["uses"].as_str().is_some_and(|u| {
                    u.starts_with("classroom-resources/autograding-command-grader")
                })
            })
            .collect();
        assert!(graders.len() >= 5, "{} graded parts", graders.len());
        let reporter = steps
            .iter()
            .find(|s| {
                s["uses"].as_str().is_some_and(|u| {
                    u.starts_with("classroom-resources/autograding-grading-reporter")
                })
            })
            .expect("the reporter step");
        let runners: Vec<&str> = reporter["with"]["runners"]
            .as_str()
            .unwrap()
            .split(',')
            .map(str::trim)
            .collect();
        for g in &graders {
            let id = g["id"].as_str().unwrap();
            assert!(runners.contains(&id), "{id} not in the reporter's runners");
            let var = format!("{}_RESULTS", id.to_uppercase());
            assert_eq!(
                reporter["env"][var.as_str()].as_str(),
                Some(format!("${{{{steps.{id}.outputs.result}}}}").as_str()),
                "{var}"
            );
            assert!(
                g["with"]["max-score"].as_u64().is_some_and(|p| p > 0),
                "{id}"
            );
        }
        let with_repo = files(&Options {
            kit_repo: Some("https://example.org/kit".into()),
            ..opts(Edition::E2021)
        });
        let yml = text(&with_repo, ".github/workflows/grade.yml");
        assert!(!yml.contains(KIT_REPO_PLACEHOLDER) && yml.contains("https://example.org/kit"));
    }
}
