//! Text given to orch for a task's field that QUEUE.md shows (the task, its success
//! criteria, a note, an owner): what is stored is what the file writes and reads back
//! exactly, or the text is refused. Pure: no I/O.
//!
//! A cell is trimmed when read, `-` or nothing in it means "none", `<br>` (also `<br/>`,
//! `<br />`) is read as a line break, and a line break is written as `<br>`. So the text
//! is trimmed, `\r\n` becomes `\n`, and an empty text or `-` is none; a text holding a
//! lone `\r` or one of the three break spellings is refused: the file could not give it
//! back. Everything else (`|`, `\`, `<`, any Unicode) round-trips.

use crate::queue_md::{decode_cell, encode_cell};

/// The spellings a cell reads as a line break.
const BREAKS: [&str; 3] = ["<br>", "<br/>", "<br />"];

/// The text to store for field `name` (named in the error): `None` for an empty text or
/// `-`, or why the file cannot hold it.
pub fn field_text(name: &str, value: &str) -> Result<Option<String>, String> {
    let text = if value.contains("\r\n") { value.replace("\r\n", "\n") } else { value.to_owned() };
    let text = text.trim();
    if text.is_empty() || text == "-" {
        return Ok(None);
    }
    if text.contains('\r') {
        return Err(format!("{name} holds a carriage return (\\r), which QUEUE.md cannot write (use a line break)"));
    }
    if let Some(br) = BREAKS.iter().find(|br| text.contains(*br)) {
        return Err(format!(
            "{name} holds the text `{br}`, which QUEUE.md reads as a line break (write a line break, or `<br >`)"
        ));
    }
    Ok(Some(text.to_owned()))
}

/// The task text itself: as [`field_text`], and never none.
pub fn task_text(value: &str) -> Result<String, String> {
    match field_text("the task text", value)? {
        Some(t) => Ok(t),
        None if value.trim() == "-" => Err("the task text is `-`, which QUEUE.md reads as no task".into()),
        None => Err("the task text is empty".into()),
    }
}

/// What reading a cell written from `value` gives: trimmed, none for `-` and blank.
pub fn as_read(value: &str) -> Option<String> {
    let v = decode_cell(&encode_cell(value));
    let v = v.trim();
    (!v.is_empty() && v != "-").then(|| v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn text_the_file_cannot_hold_is_refused_and_the_rest_normalised() {
        assert_eq!(field_text("x", "  a | b \\ c  "), Ok(Some("a | b \\ c".into())));
        assert_eq!(field_text("x", "one\r\ntwo\n"), Ok(Some("one\ntwo".into())));
        assert_eq!(field_text("x", " - "), Ok(None));
        assert_eq!(field_text("x", "\n\t "), Ok(None));
        assert_eq!(field_text("x", "작업 <b>굵게</b> <br"), Ok(Some("작업 <b>굵게</b> <br".into())));
        for bad in ["<br>", "a<br/>b", "a <br /> b", "a\rb"] {
            let err = field_text("notes", bad).unwrap_err();
            assert!(err.starts_with("notes holds "), "{err}");
            assert!(!err.contains('\n') && !err.contains('\r'), "{err:?}");
        }
        assert_eq!(task_text(" fix it "), Ok("fix it".into()));
        assert_eq!(task_text("-"), Err("the task text is `-`, which QUEUE.md reads as no task".into()));
        assert_eq!(task_text("  "), Err("the task text is empty".into()));
        assert!(task_text("<br>").unwrap_err().contains("`<br>`"));
    }

    /// Text made of the pieces that matter to a cell, and any Unicode.
    fn tricky_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("|".to_owned()),
            Just("\\".to_owned()),
            Just("\\|".to_owned()),
            Just("<br>".to_owned()),
            Just("<br/>".to_owned()),
            Just("<br />".to_owned()),
            Just("<br".to_owned()),
            Just("<".to_owned()),
            Just("\n".to_owned()),
            Just("\r".to_owned()),
            Just("\r\n".to_owned()),
            Just(" ".to_owned()),
            Just("\t".to_owned()),
            Just("-".to_owned()),
            Just("\u{3000}".to_owned()),
            Just("작업".to_owned()),
            "\\PC{0,4}",
            any::<char>().prop_map(String::from),
        ];
        prop::collection::vec(piece, 0..8).prop_map(|p| p.concat())
    }

    /// A task whose every text field the file shows holds `text`, written as a file
    /// row under every column and read back with `read_file`.
    fn written_and_read(text: &str) -> crate::task_row::RowTask<'static> {
        use crate::task_row::{CANONICAL_COLUMNS, read_file, task_cells};
        let tz = jiff::tz::TimeZone::UTC;
        let mut t = crate::task::Task::new(
            "ORCH-001".into(),
            text.into(),
            crate::task::Priority::P1,
            3,
            jiff::Timestamp::UNIX_EPOCH,
        );
        (t.success_criteria, t.owner, t.notes) = (Some(text.into()), Some(text.into()), Some(text.into()));
        t.extra = vec![("extra".into(), text.into())];
        let cols: Vec<String> = CANONICAL_COLUMNS.iter().map(|c| c.to_string()).chain(["extra".into()]).collect();
        let names: Vec<&str> = cols.iter().map(String::as_str).collect();
        let doc = crate::queue_md::Document::new(&names);
        let cells = task_cells(&t, &cols, &tz);
        let file = doc.render(&[crate::queue_md::RowOut::Cells(&cells)]);
        let (_, mut rows) = read_file(&file, &tz).unwrap_or_else(|e| panic!("{file:?}: {e:?}"));
        rows.pop().expect("one row").into_owned()
    }

    proptest! {
        /// Any text a task may be given: once accepted, every field holding it is read
        /// back from the file exactly (add, then export, then import, is the identity).
        #[test]
        fn accepted_text_is_read_back_from_a_written_row(value in tricky_text()) {
            if let Ok(text) = task_text(&value) {
                let row = written_and_read(&text);
                prop_assert_eq!(&*row.task, text.as_str());
                prop_assert_eq!(row.success_criteria.as_deref(), Some(text.as_str()));
                prop_assert_eq!(row.owner.as_deref(), Some(text.as_str()));
                prop_assert_eq!(row.notes.as_deref(), Some(text.as_str()));
                prop_assert_eq!(&row.extra, &vec![("extra".to_string(), text.clone())]);
            }
        }

        /// Whatever is accepted reads back exactly; whatever reads back exactly (once
        /// normalised) is accepted.
        #[test]
        fn accepted_text_round_trips_and_only_unwritable_text_is_refused(value in tricky_text()) {
            let normalised = value.replace("\r\n", "\n").trim().to_owned();
            match field_text("x", &value) {
                Ok(Some(text)) => {
                    prop_assert_eq!(&text, &normalised);
                    prop_assert_eq!(as_read(&text), Some(text.clone()));
                }
                Ok(None) => prop_assert!(normalised.is_empty() || normalised == "-"),
                Err(_) => prop_assert_ne!(as_read(&normalised), Some(normalised.clone())),
            }
        }
    }
}
