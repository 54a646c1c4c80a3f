//! `check`: does QUEUE.md say what the database says? Drift is listed row by row.

use super::{read_bytes, render, view_name};
use crate::error::{Error, Result};
use crate::ops::Orch;
use orch_core::queue_md::parse;
use std::collections::HashMap;

/// One difference between the file and the database.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Drift {
    pub line: Option<usize>,
    pub id: Option<String>,
    pub what: String,
}

/// The differences; empty when the file is exactly what an export would write.
pub fn check(orch: &Orch) -> Result<Vec<Drift>> {
    let Some(path) = orch.queue_file.clone() else {
        return Err(Error::Usage("no view file is configured (queue.file is empty)".into()));
    };
    let expected = render(orch, &view_name(orch)?, false)?.text;
    let Some(actual) = read_bytes(&path)? else {
        return Ok(vec![Drift { line: None, id: None, what: format!("{} does not exist", path.display()) }]);
    };
    if actual == expected.as_bytes() {
        return Ok(Vec::new());
    }
    let actual = super::file::into_text(&path, actual)?;
    let shown = path.display().to_string();
    let file = parse(&actual).map_err(|diags| Error::Input { file: shown, diags })?;
    let want = parse(&expected).expect("a rendered view parses");
    let mut drift = Vec::new();
    let want_id = want.column("id").expect("a rendered view has an id column");
    let want_rows: HashMap<&str, &orch_core::queue_md::RowLine> =
        want.rows.iter().map(|r| (r.cells[want_id].as_str(), r)).collect();
    let id_col = file.column("id").expect("parse guarantees an id column");
    let mut seen = std::collections::HashSet::new();
    for row in &file.rows {
        let id = row.cells[id_col].as_str();
        seen.insert(id);
        match want_rows.get(id) {
            None => drift.push(Drift {
                line: Some(row.line),
                id: Some(id.into()),
                what: "not in the database's view (new, or an old DONE task)".into(),
            }),
            Some(w) if w.raw != row.raw => drift.push(Drift {
                line: Some(row.line),
                id: Some(id.into()),
                what: format!("differs from the database: {}", w.raw),
            }),
            Some(_) => {}
        }
    }
    for w in &want.rows {
        if !seen.contains(w.cells[want_id].as_str()) {
            drift.push(Drift { line: None, id: Some(w.cells[want_id].clone()), what: "missing from the file".into() });
        }
    }
    if file.prefix != want.prefix || file.suffix != want.suffix || file.header_raw != want.header_raw {
        drift.push(Drift { line: None, id: None, what: "text around the table differs".into() });
    }
    if drift.is_empty() {
        drift.push(Drift { line: None, id: None, what: "line endings or row order differ".into() });
    }
    Ok(drift)
}
