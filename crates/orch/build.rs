//! The build script: gives the binary the commit it was built from (`ORCH_COMMIT`, shown
//! by `orch --version`), found by `build/commit.rs`. It reruns when HEAD or the branch
//! moves, not on every change of a source file.

#[path = "build/commit.rs"]
mod commit;

fn main() {
    let dir = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let given = std::env::var("ORCH_BUILD_COMMIT").ok();
    let found = commit::find(&dir, given.as_deref());
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=build/commit.rs");
    println!("cargo::rerun-if-env-changed=ORCH_BUILD_COMMIT");
    for path in &found.watch {
        println!("cargo::rerun-if-changed={}", path.display());
    }
    println!("cargo::rustc-env=ORCH_COMMIT={}", found.id);
}
