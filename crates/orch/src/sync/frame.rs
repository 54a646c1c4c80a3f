//! The view's frame: the text around the queue table, its header and separator lines,
//! kept in the database (`meta` key `view.frame`) from the last import of QUEUE.md so an
//! export writes them back byte for byte.

use crate::store::{self, Tx};
use orch_core::queue_md::Document;
use orch_core::task_row::CANONICAL_COLUMNS;
use serde::{Deserialize, Serialize};

const META_FRAME: &str = "view.frame";

/// What a new queue's view starts with.
const DEFAULT_PREFIX: &str = "# Queue\n\n";

#[derive(Serialize, Deserialize)]
struct Frame {
    prefix: String,
    header_raw: String,
    header_eol: String,
    columns: Vec<String>,
    separator_raw: String,
    separator_eol: String,
    suffix: String,
    eol: String,
}

/// The stored frame, or the default one for a queue that never imported a file.
pub fn load(tx: &mut dyn Tx) -> store::Result<Document> {
    let Some(json) = tx.meta_get(META_FRAME)? else {
        let mut doc = Document::new(&CANONICAL_COLUMNS);
        doc.prefix = DEFAULT_PREFIX.to_string();
        return Ok(doc);
    };
    let f: Frame = serde_json::from_str(&json).map_err(|e| store::StoreError::Db(format!("stored view frame: {e}")))?;
    Ok(Document {
        prefix: f.prefix,
        header_line: 0,
        header_raw: f.header_raw,
        header_eol: f.header_eol,
        columns: f.columns,
        separator_raw: f.separator_raw,
        separator_eol: f.separator_eol,
        rows: Vec::new(),
        suffix: f.suffix,
        eol: f.eol,
    })
}

/// Stores the frame of `doc` (its rows aside).
pub fn save(tx: &mut dyn Tx, doc: &Document) -> store::Result<()> {
    let f = Frame {
        prefix: doc.prefix.clone(),
        header_raw: doc.header_raw.clone(),
        header_eol: doc.header_eol.clone(),
        columns: doc.columns.clone(),
        separator_raw: doc.separator_raw.clone(),
        separator_eol: doc.separator_eol.clone(),
        suffix: doc.suffix.clone(),
        eol: doc.eol.clone(),
    };
    let json = serde_json::to_string(&f).expect("a frame serialises");
    // An import of an unchanged file then writes nothing, and its commit costs no sync.
    if tx.meta_get(META_FRAME)?.as_deref() == Some(json.as_str()) {
        return Ok(());
    }
    tx.meta_set(META_FRAME, &json)
}

pub fn exists(tx: &mut dyn Tx) -> store::Result<bool> {
    Ok(tx.meta_get(META_FRAME)?.is_some())
}
