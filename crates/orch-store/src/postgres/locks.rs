//! Advisory lock keys (two-int form): a namespace for orch, then the object.

/// `orch` in ASCII.
pub const NS: i32 = 0x6f72_6368;
pub const MIGRATE: i32 = 1;
/// The event lock of schema 1 to 5 (its functions were replaced by schema 6's).
pub const EVENTS: i32 = 2;
/// Claims that count the running tasks of a worker profile first (`lock_counted_claims`).
pub const COUNTED_CLAIMS: i32 = 3;
/// Event writers' marks (one-key form): this base plus the highest event number
/// drawn when the transaction wrote its first event (see `events`).
pub const EVENT_MARKS: i64 = 0x6f72_6300 << 32;
/// Id allocation: the second key is `hashtext(prefix)`.
pub const NS_IDS: i32 = 0x6f72_6369;
/// Resources of running tasks: the second key is `hashtext(resource)`.
pub const NS_RESOURCES: i32 = 0x6f72_636a;
