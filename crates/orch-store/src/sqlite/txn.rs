//! The SQLite transaction as the primitives take it: `tx.rs` implements `Tx` on it and
//! `claim.rs` writes the one-step claim through it, each without the other's file.

use rusqlite::Transaction;

pub struct SqliteTx<'a> {
    pub tx: &'a Transaction<'a>,
}
