//! SQLite's errors as the store's: a busy or locked database is `Busy`, a constraint a
//! `Conflict`, the rest `Db`.

use crate::StoreError;

pub(crate) fn db_err(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy(e.to_string()),
        Some(ErrorCode::ConstraintViolation) => StoreError::Conflict(e.to_string()),
        _ => StoreError::Db(e.to_string()),
    }
}
