//! A view's frame: the text around the queue table, its header and separator lines,
//! kept in the database from the last import of the view's file so an export writes
//! them back byte for byte. Each view has its own; the one imported last is also the
//! queue's default (`meta` key `view.frame`), which a view that never imported a file
//! starts from and then keeps (its marks are lines under those columns).

use orch_core::queue_md::Document;
use orch_core::task_row::CANONICAL_COLUMNS;
use orch_store::Tx;
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

/// The frame of `view`, else the queue's default, else the built-in one.
pub fn load(tx: &mut dyn Tx, view: &str) -> orch_store::Result<Document> {
    let own = tx.view_get(view)?.and_then(|v| v.frame);
    let stored = match own {
        Some(json) => Some(json),
        None => tx.meta_get(META_FRAME)?,
    };
    let Some(json) = stored else {
        let mut doc = Document::new(&CANONICAL_COLUMNS);
        doc.prefix = DEFAULT_PREFIX.to_string();
        return Ok(doc);
    };
    let f: Frame =
        serde_json::from_str(&json).map_err(|e| orch_store::StoreError::Db(format!("stored view frame: {e}")))?;
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

/// Stores the frame of `doc` (its rows aside) as `view`'s and the queue's default.
pub fn save(tx: &mut dyn Tx, view: &str, doc: &Document) -> orch_store::Result<()> {
    let json = to_json(doc);
    // An import of an unchanged file then writes nothing, and its commit costs no sync.
    if tx.view_get(view)?.and_then(|v| v.frame).as_deref() != Some(json.as_str()) {
        tx.view_set_frame(view, &json)?;
    }
    if tx.meta_get(META_FRAME)?.as_deref() != Some(json.as_str()) {
        tx.meta_set(META_FRAME, &json)?;
    }
    Ok(())
}

/// Stores `doc`'s frame as `view`'s own when it has none: a view written from the
/// queue's default frame keeps it, since its marks are lines under its columns.
pub fn keep(tx: &mut dyn Tx, view: &str, doc: &Document) -> orch_store::Result<()> {
    if !exists(tx, view)? {
        tx.view_set_frame(view, &to_json(doc))?;
    }
    Ok(())
}

fn to_json(doc: &Document) -> String {
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
    serde_json::to_string(&f).expect("a frame serialises")
}

/// Whether `view` has a frame of its own.
pub fn exists(tx: &mut dyn Tx, view: &str) -> orch_store::Result<bool> {
    Ok(tx.view_get(view)?.is_some_and(|v| v.frame.is_some()))
}
