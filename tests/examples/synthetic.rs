//! Writes a synthetic run of N machines (see `scalemodel_tests::synthetic`)
//! into DIR, for `scalemodel analyze` and a look at its report:
//! `cargo run -p scalemodel-tests --example synthetic -- 16 runs/sixteen`.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(n), Some(dir)) = (
        args.first().and_then(|n| n.parse::<usize>().ok()),
        args.get(1),
    ) else {
        eprintln!("usage: synthetic N DIR (N machines, 3 to 16)");
        return ExitCode::FAILURE;
    };
    if !(3..=16).contains(&n) {
        eprintln!("Error: N is {n}; a run has from 3 to 16 machines");
        return ExitCode::FAILURE;
    }
    let dir = PathBuf::from(dir);
    match scalemodel_tests::synthetic::run(n, 7, 60).write(&dir) {
        Ok(()) => {
            println!("wrote {}", dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("Error: cannot write {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}
