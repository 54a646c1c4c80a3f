//! The store conformance suite, continued (`conformance_contract::sqlite::*` and the
//! other stores): the contract of `Backend` itself — what a store says it can do, and
//! what a write closure may count on. The frame (`Env`, the `conformance!` macro) is in
//! `conformance.rs`.

use crate::conformance::{Env, Kind};
use orch_store::{Capabilities, LockScope};

conformance! {
    capabilities_say_what_the_store_can_do,
}

fn capabilities_say_what_the_store_can_do(env: &Env) {
    let want = match env.kind {
        Kind::Sqlite => Capabilities {
            shared_across_hosts: false,
            lock_scope: LockScope::DatabaseFile(env.dir.path().join("orch.db")),
            notify: false,
        },
        Kind::Postgres => Capabilities { shared_across_hosts: true, lock_scope: LockScope::Home, notify: true },
    };
    // The queue's own handle (behind the mask in the masked runs) and a second one.
    assert_eq!(env.db().capabilities(), want);
    assert_eq!(env.backend().capabilities(), want);
}
