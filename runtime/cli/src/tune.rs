//! `shardgate tune check|plan|apply`.

use crate::args::{TuneArgs, TuneCommand};
use std::path::Path;

pub fn run(a: &TuneArgs) -> anyhow::Result<()> {
    let root = Path::new(&a.root);
    let findings = shardgate_tune::check(root);
    match a.command {
        TuneCommand::Check => {
            for f in &findings {
                println!("{f}");
            }
            let failed = findings.iter().filter(|f| !f.ok).count();
            println!("{} passed, {failed} failed", findings.len() - failed);
            if failed > 0 {
                anyhow::bail!("{failed} host settings need tuning (see `shardgate tune plan`)");
            }
        }
        TuneCommand::Plan => {
            let writes = shardgate_tune::plan(&findings);
            if writes.is_empty() {
                println!("# nothing to change");
            }
            for w in &writes {
                println!("echo '{}' > {}   # was {}", w.to, w.path.display(), w.from);
            }
        }
        TuneCommand::Apply => {
            let writes = shardgate_tune::plan(&findings);
            let mut failed = 0;
            for r in shardgate_tune::apply(&writes) {
                match r {
                    Ok(w) => println!("set {} = {} (was {})", w.path.display(), w.to, w.from),
                    Err(e) => {
                        failed += 1;
                        eprintln!("error: {e}");
                    }
                }
            }
            println!("{} passed, {failed} failed", writes.len() - failed);
            if failed > 0 {
                anyhow::bail!("{failed} settings could not be written (run as root)");
            }
        }
    }
    Ok(())
}
