//! Finding the files to read: directories are walked with the `ignore` crate (respecting .gitignore and
//! friends), files named explicitly are always taken.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use ignore::WalkBuilder;
use ignore::overrides::OverrideBuilder;

use ananke::Language;

/// How to walk.
#[derive(Debug, Default)]
pub struct WalkOptions {
    /// Descend into hidden files and directories.
    pub hidden: bool,
    /// Gitignore-style globs; a file must match one of the positive ones (if any) and none of the `!` ones.
    pub globs: Vec<String>,
    /// Take only files of this language; otherwise every language Ananke knows.
    pub language: Option<Language>,
    /// Do not respect `.gitignore`, `.ignore` and git excludes.
    pub no_ignore: bool,
}

/// A file to read, with the path to show for it.
#[derive(Debug)]
pub struct Found {
    /// Where to read it.
    pub path: PathBuf,
    /// How to name it in output: relative as given, `/`-separated, without a leading `./`.
    pub display: String,
}

/// Problems met while walking (an unreadable directory, a broken symlink), to report without stopping.
#[derive(Debug)]
pub struct WalkProblem {
    /// The path involved, if known.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

/// Expands `paths` into the files to read, sorted by display path. Missing paths are an error (exit 2);
/// problems inside directories are returned to be reported.
pub fn files(paths: &[PathBuf], options: &WalkOptions) -> anyhow::Result<(Vec<Found>, Vec<WalkProblem>)> {
    for path in paths {
        if !path.exists() {
            bail!("{}: no such file or directory", path.display());
        }
    }
    let mut found = Vec::new();
    let mut problems = Vec::new();
    let wanted = |path: &Path| -> bool {
        let Some(ext) = path.extension().and_then(|e| e.to_str()) else { return false };
        match (options.language, Language::from_extension(ext)) {
            (Some(forced), Some(lang)) => forced == lang,
            (None, Some(lang)) => clew_supports(lang),
            (_, None) => false,
        }
    };

    let mut dirs = Vec::new();
    for path in paths {
        if path.is_file() {
            // Named files are always read (with --lang, whatever their extension).
            found.push(Found { path: path.clone(), display: display(path) });
        } else {
            dirs.push(path.clone());
        }
    }
    if let Some((first, rest)) = dirs.split_first() {
        let mut builder = WalkBuilder::new(first);
        for dir in rest {
            builder.add(dir);
        }
        builder
            .hidden(!options.hidden)
            .git_ignore(!options.no_ignore)
            .git_exclude(!options.no_ignore)
            .ignore(!options.no_ignore)
            .parents(!options.no_ignore)
            .require_git(false);
        if !options.globs.is_empty() {
            let mut overrides = OverrideBuilder::new(first);
            for glob in &options.globs {
                overrides.add(glob).with_context(|| format!("invalid --glob {glob:?}"))?;
            }
            builder.overrides(overrides.build().context("invalid --glob")?);
        }
        for entry in builder.build() {
            match entry {
                Ok(entry) => {
                    if entry.file_type().is_some_and(|t| t.is_file()) && wanted(entry.path()) {
                        found.push(Found { display: display(entry.path()), path: entry.into_path() });
                    }
                }
                Err(err) => {
                    problems.push(WalkProblem { path: error_path(&err).unwrap_or_default(), message: err.to_string() });
                }
            }
        }
    }
    found.sort_by(|a, b| a.display.cmp(&b.display));
    found.dedup_by(|a, b| a.display == b.display);
    Ok((found, problems))
}

fn clew_supports(language: Language) -> bool {
    ananke::clew::supports(language)
}

fn error_path(err: &ignore::Error) -> Option<String> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(display(path)),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => error_path(err),
        _ => None,
    }
}

/// The path as the user will recognize it: `/`-separated, without a leading `./`.
pub fn display(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    text.strip_prefix("./").map(str::to_owned).unwrap_or(text)
}
