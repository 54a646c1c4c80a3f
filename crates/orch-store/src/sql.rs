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

/// The dialect a statement is written for, where the two differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// The query of [`Tx::tasks_each`]: the columns `cols` of the tasks that match, in pick
/// order (the claim's ORDER BY on each store), `LIMIT` bound first and `OFFSET` second
/// (SQLite: -1 for no limit; PostgreSQL: NULL).
///
/// Each store walks the index `tasks_pick` (status, then the pick order), so no result is
/// sorted whole. On SQLite a filter of several statuses (or none: every status) is one
/// ordered branch per status joined by `UNION ALL`, which SQLite merges in order as it
/// reads them; the sort keys ride along after `cols` (`k1` to `k5`). PostgreSQL merges
/// the index's ranges itself.
pub(crate) fn tasks_each_sql(cols: &str, filter: &ListFilter, dialect: Dialect) -> String {
    let mut statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
    statuses.sort_unstable();
    statuses.dedup();
    let mut ranks: Vec<i64> = filter.priorities.iter().map(|p| p.rank()).collect();
    ranks.sort_unstable();
    ranks.dedup();
    let prio = if ranks.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = ranks.iter().map(i64::to_string).collect();
        format!(" AND priority IN ({})", list.join(","))
    };
    if dialect == Dialect::Postgres {
        let cond = if statuses.is_empty() {
            "TRUE".to_string()
        } else {
            let list: Vec<String> = statuses.iter().map(|s| format!("'{s}'")).collect();
            format!("status IN ({})", list.join(","))
        };
        return format!(
            "SELECT {cols} FROM tasks WHERE {cond}{prio} ORDER BY priority, due_at NULLS LAST, num, seq \
             LIMIT $1 OFFSET $2"
        );
    }
    if statuses.is_empty() {
        statuses = Status::ALL.iter().map(|s| s.as_str()).collect();
        statuses.sort_unstable();
    }
    if let [one] = statuses[..] {
        return format!(
            "SELECT {cols} FROM tasks INDEXED BY tasks_pick WHERE status = '{one}'{prio} \
             ORDER BY priority, due_at IS NULL, due_at, num, seq LIMIT ?1 OFFSET ?2"
        );
    }
    let branches: Vec<String> = statuses
        .iter()
        .map(|s| {
            format!(
                "SELECT {cols}, priority AS k1, due_at IS NULL AS k2, due_at AS k3, num AS k4, seq AS k5 \
                 FROM tasks INDEXED BY tasks_pick WHERE status = '{s}'{prio}"
            )
        })
        .collect();
    format!("{} ORDER BY k1, k2, k3, k4, k5 LIMIT ?1 OFFSET ?2", branches.join(" UNION ALL "))
}

/// The query of [`Tx::task_counts`] (both dialects take it): status, priority rank, count,
/// read from the counts the triggers keep (on PostgreSQL in several slots per pair, so
/// concurrent writers seldom wait for each other; summed here).
/// `Tx::tasks_waiting`: `$1` is now; a range of the partial index `tasks_not_before`.
pub(crate) const TASKS_WAITING_SQL: &str =
    "SELECT count(*) FROM tasks WHERE status = 'PENDING' AND not_before IS NOT NULL AND not_before > $1";

pub(crate) const TASK_COUNTS_SQL: &str = "SELECT status, priority, CAST(SUM(n) AS BIGINT) FROM task_counts \
     GROUP BY status, priority HAVING SUM(n) <> 0";

/// A row of [`TASK_COUNTS_SQL`] read back.
pub(crate) fn task_count(status: &str, rank: i64, n: i64) -> Result<(Status, Priority, u64)> {
    let bad = |what: &str, v: &str| StoreError::Db(format!("stored {what} `{v}` is not valid"));
    let status = status.parse::<Status>().map_err(|_| bad("status", status))?;
    let priority = Priority::from_rank(rank).ok_or_else(|| bad("priority", &rank.to_string()))?;
    Ok((status, priority, u64::try_from(n).unwrap_or(0)))
}
