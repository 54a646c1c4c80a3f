//! QUEUE.md round trips through the real binary.

use crate::common::{Project, SEED};

#[test]
fn the_seed_imports_and_exports_byte_for_byte() {
    let p = Project::init(Some(SEED));
    assert_eq!(p.queue_md(), SEED);
    p.ok(&["export"]);
    assert_eq!(p.queue_md(), SEED);
    let tasks = p.json(&["list"]);
    assert_eq!(tasks.as_array().unwrap().len(), 26);
}
