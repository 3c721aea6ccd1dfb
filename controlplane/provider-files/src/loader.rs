//! Reading a directory of YAML, keeping the last good version of each file.

use shardgate_gateway::{LoadError, Objects, ParsedFile, parse_documents};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Loads a directory; remembers, per file, the last content that parsed.
#[derive(Debug)]
pub struct Loader {
    root: PathBuf,
    last_good: BTreeMap<PathBuf, ParsedFile>,
}

impl Loader {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Loader {
            root: root.into(),
            last_good: BTreeMap::new(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Read every YAML file under the root, in path order. Never fails:
    /// problems become [`LoadError`]s in the result. Files named in errors
    /// are relative to the root.
    pub fn load(&mut self) -> Objects {
        let mut objects = Objects::new();
        let mut files = Vec::new();
        let mut errors = Vec::new();
        collect(&self.root, &mut files, &mut errors, &self.root);
        let mut seen = BTreeMap::new();
        for path in files {
            let shown = display(&self.root, &path);
            let text = match std::fs::read(&path).map(String::from_utf8) {
                Ok(Ok(t)) => Ok(t),
                Ok(Err(_)) => Err("file is not UTF-8".to_owned()),
                Err(e) => Err(format!("cannot read: {e}")),
            };
            let parsed = text
                .map_err(|message| LoadError {
                    file: shown.clone(),
                    document: 0,
                    object: None,
                    path: None,
                    message,
                })
                .and_then(|t| parse_documents(&shown, &t));
            match parsed {
                Ok(p) => {
                    self.last_good.insert(path.clone(), p.clone());
                    seen.insert(path, ());
                    objects.extend(p);
                }
                Err(mut e) => {
                    if let Some(p) = self.last_good.get(&path) {
                        e.message
                            .push_str("; serving the last version of this file that parsed");
                        objects.extend(p.clone());
                    }
                    seen.insert(path, ());
                    objects.errors.push(e);
                }
            }
        }
        // Forget files that are gone.
        self.last_good.retain(|p, _| seen.contains_key(p));
        objects.errors.extend(errors);
        for e in &objects.errors {
            tracing::warn!(error = %e, "config load error");
        }
        objects
    }
}

fn display(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Is this a file name we load? `.yaml` / `.yml`, not hidden (editor
/// backups, Kubernetes ConfigMap `..data` links and the like are skipped).
fn wanted(name: &str) -> bool {
    !name.starts_with('.') && (name.ends_with(".yaml") || name.ends_with(".yml"))
}

/// Walk `dir`, following symlinks to files but not to directories (no
/// loops), skipping hidden entries; sorted by path.
fn collect(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<LoadError>, root: &Path) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(LoadError {
                file: display(root, dir),
                document: 0,
                object: None,
                path: None,
                message: format!("cannot list directory: {e}"),
            });
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            collect(&path, files, errors, root);
        } else if wanted(name) && std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            files.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const SVC: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: ns}\nspec: {ports: [{port: 80}]}\n";

    fn svc(name: &str) -> String {
        SVC.replace("name: a", &format!("name: {name}"))
    }

    #[test]
    fn recursive_sorted_and_filtered() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        fs::create_dir_all(dir.path().join("sub/deeper"))?;
        fs::create_dir_all(dir.path().join(".hidden"))?;
        fs::write(dir.path().join("a.yaml"), svc("a"))?;
        fs::write(dir.path().join("sub/deeper/b.yml"), svc("b"))?;
        fs::write(dir.path().join(".hidden/c.yaml"), svc("c"))?;
        fs::write(dir.path().join("d.yaml.bak"), svc("d"))?;
        fs::write(dir.path().join("notes.txt"), "not yaml")?;
        let objects = Loader::new(dir.path()).load();
        assert!(objects.errors.is_empty(), "{:?}", objects.errors);
        let names: Vec<String> = objects.services.keys().map(|k| k.name.clone()).collect();
        assert_eq!(names, ["a", "b"]);
        Ok(())
    }

    #[test]
    fn broken_file_keeps_last_good_version_and_reports() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("svc.yaml");
        fs::write(&file, svc("a"))?;
        fs::write(dir.path().join("other.yaml"), svc("other"))?;
        let mut loader = Loader::new(dir.path());
        assert_eq!(loader.load().services.len(), 2);

        fs::write(&file, "apiVersion: v1\nkind: [unclosed\n")?;
        let objects = loader.load();
        assert_eq!(objects.services.len(), 2, "last good version still served");
        assert_eq!(objects.errors.len(), 1);
        let shown = objects.errors[0].to_string();
        assert!(
            shown.starts_with("svc.yaml: document 1: not valid YAML"),
            "{shown}"
        );
        assert!(
            shown.ends_with("serving the last version of this file that parsed"),
            "{shown}"
        );

        fs::remove_file(&file)?;
        let objects = loader.load();
        assert!(objects.errors.is_empty());
        assert_eq!(
            objects.services.len(),
            1,
            "a deleted file contributes nothing"
        );

        fs::write(&file, "kind: [unclosed\n")?;
        let objects = loader.load();
        assert_eq!(
            objects.services.len(),
            1,
            "no earlier good version of the new file"
        );
        assert!(!objects.errors[0].to_string().contains("last version"));
        Ok(())
    }

    #[test]
    fn invalid_objects_are_skipped_the_rest_kept() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let bad = SVC.replace("port: 80", "port: http");
        fs::write(
            dir.path().join("mixed.yaml"),
            format!("{}---\n{bad}", svc("good")),
        )?;
        let objects = Loader::new(dir.path()).load();
        assert_eq!(objects.services.len(), 1);
        let e = &objects.errors[0];
        assert_eq!((e.file.as_str(), e.document), ("mixed.yaml", 2));
        assert_eq!(e.object.as_deref(), Some("Service ns/a"));
        assert_eq!(e.path.as_deref(), Some("spec.ports[0].port"));
        Ok(())
    }
}
