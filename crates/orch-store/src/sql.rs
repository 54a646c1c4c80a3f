//! SQL that both dialects take as it is, with what reads its rows back.

use super::{ListFilter, Result, StoreError};
use orch_core::task::{Priority, Status};

/// The query of [`Tx::task_list`] with the filter written in (both dialects take it):
/// the columns `cols` of the tasks that match, in queue order.
pub(crate) fn task_list_sql(cols: &str, filter: &ListFilter) -> String {
    let mut sql = format!("SELECT {cols} FROM tasks");
    let mut conds = Vec::new();
    if !filter.statuses.is_empty() {
        let list: Vec<String> = filter.statuses.iter().map(|s| format!("'{}'", s.as_str())).collect();
        conds.push(format!("status IN ({})", list.join(",")));
    }
    if !filter.priorities.is_empty() {
        let list: Vec<String> = filter.priorities.iter().map(|p| p.rank().to_string()).collect();
        conds.push(format!("priority IN ({})", list.join(",")));
    }
    if !conds.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conds.join(" AND "));
    }
    sql.push_str(" ORDER BY seq");
    sql
}

/// The query of [`Tx::task_counts`] (both dialects take it): status, priority rank, count.
pub(crate) const TASK_COUNTS_SQL: &str = "SELECT status, priority, COUNT(*) FROM tasks GROUP BY status, priority";

/// A row of [`TASK_COUNTS_SQL`] read back.
pub(crate) fn task_count(status: &str, rank: i64, n: i64) -> Result<(Status, Priority, u64)> {
    let bad = |what: &str, v: &str| StoreError::Db(format!("stored {what} `{v}` is not valid"));
    let status = status.parse::<Status>().map_err(|_| bad("status", status))?;
    let priority = Priority::from_rank(rank).ok_or_else(|| bad("priority", &rank.to_string()))?;
    Ok((status, priority, u64::try_from(n).unwrap_or(0)))
}
