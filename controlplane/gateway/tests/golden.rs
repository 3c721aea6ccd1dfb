//! Golden tests: every `testdata/<name>.in.yaml` is loaded and translated;
//! the load errors, the IR snapshot and the statuses, as YAML, must equal
//! `testdata/<name>.out.yaml`. `UPDATE_GOLDEN=1` rewrites the outputs.
//! Status inputs: not yet programmed, times at the epoch, and the data
//! plane reachable at [`ADDRESS`]. Every GatewayClass of ours must publish
//! exactly [`SUPPORTED_FEATURES`]; the list is checked here and left out
//! of the outputs, so that claiming a feature does not rewrite every case.

use serde::Serialize;
use shardgate_gateway::{
    ObjectStatus, Objects, SUPPORTED_FEATURES, Status, StatusInputs, translate_with,
};
use shardgate_ir::Snapshot;
use std::fs;
use std::path::Path;

/// The data plane's address in every golden case (TEST-NET-1).
const ADDRESS: &str = "192.0.2.10";

#[derive(Serialize)]
struct Golden<'a> {
    errors: Vec<String>,
    snapshot: &'a Snapshot,
    status: &'a [ObjectStatus],
}

fn render(name: &str, input: &str) -> Result<String, String> {
    let mut objects = Objects::new();
    objects.load_str(&format!("{name}.in.yaml"), input);
    let inputs = StatusInputs::default().with_gateway_address(ADDRESS);
    let t = translate_with(&objects, &inputs);
    shardgate_ir::validate(&t.snapshot)
        .map_err(|e| format!("{name}: IR does not validate: {e}"))?;
    let decoded = shardgate_ir::decode(&shardgate_ir::encode(&t.snapshot))
        .map_err(|e| format!("{name}: IR does not round-trip: {e}"))?;
    if decoded != t.snapshot {
        return Err(format!("{name}: IR changed through encode/decode"));
    }
    if translate_with(&objects, &inputs) != t {
        return Err(format!("{name}: translation is not deterministic"));
    }
    let mut status = t.status.clone();
    for s in &mut status {
        if let Status::GatewayClass(class) = &mut s.status {
            let published: Vec<String> = class
                .supported_features
                .take()
                .unwrap_or_default()
                .into_iter()
                .map(|f| f.name)
                .collect();
            if published != SUPPORTED_FEATURES {
                return Err(format!(
                    "{name}: GatewayClass {} publishes supportedFeatures {published:?}",
                    s.name
                ));
            }
        }
    }
    let golden = Golden {
        errors: objects.errors.iter().map(ToString::to_string).collect(),
        snapshot: &t.snapshot,
        status: &status,
    };
    serde_saphyr::to_string(&golden).map_err(|e| format!("{name}: cannot render YAML: {e}"))
}

#[test]
fn golden() -> Result<(), String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".in.yaml"))
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    if names.len() < 25 {
        return Err(format!("only {} golden cases found", names.len()));
    }
    let mut failures = Vec::new();
    for name in &names {
        let input = fs::read_to_string(dir.join(format!("{name}.in.yaml")))
            .map_err(|e| format!("{name}.in.yaml: {e}"))?;
        let got = match render(name, &input) {
            Ok(g) => g,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        let out = dir.join(format!("{name}.out.yaml"));
        if update {
            fs::write(&out, &got).map_err(|e| format!("{}: {e}", out.display()))?;
            continue;
        }
        match fs::read_to_string(&out) {
            Ok(want) if want == got => {}
            Ok(_) => failures.push(format!(
                "{name}: output differs from {name}.out.yaml; got:\n{got}"
            )),
            Err(e) => failures.push(format!(
                "{name}: missing {name}.out.yaml ({e}); run with UPDATE_GOLDEN=1 and review it"
            )),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n\n"))
    }
}
