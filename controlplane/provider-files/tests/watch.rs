//! The provider against a real directory: every kind of change an operator
//! or an editor makes produces a reload with the new content.

use shardgate_gateway::Objects;
use shardgate_provider_files::FileProvider;
use std::fs;
use std::path::Path;
use std::time::Duration;

fn svc(name: &str, port: u16) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: ns}}\nspec: {{ports: [{{port: {port}}}]}}\n"
    )
}

fn names(o: &Objects) -> Vec<String> {
    o.services.keys().map(|k| k.name.clone()).collect()
}

fn port(o: &Objects, name: &str) -> Option<i32> {
    o.services
        .iter()
        .find(|(k, _)| k.name == name)
        .and_then(|(_, s)| s.spec.as_ref()?.ports.as_ref()?.first().map(|p| p.port))
}

/// Reload on every change until `done` holds; a generous guard keeps a
/// broken watcher from hanging the test suite.
async fn until(p: &mut FileProvider, what: &str, done: impl Fn(&Objects) -> bool) -> Objects {
    let wait = async {
        loop {
            match p.next().await {
                Some(o) if done(&o) => return o,
                Some(_) => continue,
                None => panic!("watcher stopped while waiting for: {what}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .unwrap_or_else(|_| panic!("no reload showed: {what}"))
}

fn write_via_rename(dir: &Path, name: &str, content: &str) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    fs::write(&tmp, content)?;
    fs::rename(&tmp, dir.join(name))
}

#[tokio::test]
async fn follows_every_kind_of_change() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let root = dir.path();
    fs::write(root.join("a.yaml"), svc("a", 80))?;
    let mut p = FileProvider::new(root, Duration::from_millis(50))?;
    assert_eq!(names(&p.load()), ["a"]);

    fs::write(root.join("b.yml"), svc("b", 80))?;
    until(&mut p, "new file b.yml", |o| names(o) == ["a", "b"]).await;

    write_via_rename(root, "a.yaml", &svc("a", 81))?;
    until(&mut p, "a.yaml replaced by rename", |o| {
        port(o, "a") == Some(81)
    })
    .await;

    fs::create_dir_all(root.join("later/deeper"))?;
    fs::write(root.join("later/deeper/c.yaml"), svc("c", 80))?;
    until(&mut p, "file in a directory created later", |o| {
        names(o) == ["a", "b", "c"]
    })
    .await;

    fs::write(root.join("later/deeper/c.yaml"), "kind: [broken\n")?;
    let o = until(&mut p, "broken c.yaml reported", |o| !o.errors.is_empty()).await;
    assert_eq!(names(&o), ["a", "b", "c"], "last good c.yaml still served");

    fs::remove_file(root.join("b.yml"))?;
    until(&mut p, "b.yml deleted", |o| names(o) == ["a", "c"]).await;

    fs::remove_dir_all(root.join("later"))?;
    let o = until(&mut p, "directory removed", |o| names(o) == ["a"]).await;
    assert!(o.errors.is_empty(), "{:?}", o.errors);
    Ok(())
}

#[tokio::test]
async fn missing_directory_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = FileProvider::new(&dir.path().join("nope"), Duration::from_millis(50))
        .err()
        .expect("a missing directory must be refused");
    assert!(err.to_string().contains("nope"), "{err}");
}
