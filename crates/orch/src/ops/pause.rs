//! Pausing claims: the whole queue or one worker profile, until resumed or until a
//! time. A pause is kept in the store's `meta` table (key `pause` for the queue,
//! `pause:PROFILE` for a profile; an empty value is no pause), so it holds across
//! restarts and for every dispatcher of the queue, and needs no migration. Running tasks
//! are never stopped by a pause.

use super::Orch;
use crate::error::Result;
use jiff::Timestamp;
use orch_core::event::{Event, kind};
use orch_store::Tx;
use serde::{Deserialize, Serialize};

/// The meta key of the queue's pause; a profile's is `pause:PROFILE`.
const KEY: &str = "pause";

/// One pause in force.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pause {
    /// The profile paused; `None` for the whole queue.
    pub profile: Option<String>,
    /// When it ends by itself; `None` until `resume`.
    pub until: Option<Timestamp>,
    pub reason: Option<String>,
    /// When it was paused.
    pub since: Timestamp,
}

fn key(profile: Option<&str>) -> String {
    match profile {
        None => KEY.to_string(),
        Some(p) => format!("{KEY}:{p}"),
    }
}

/// Writes `p` and its `queue.paused` event in `tx`.
fn pause_in(tx: &mut dyn Tx, p: &Pause) -> orch_store::Result<()> {
    let value = serde_json::to_string(p).expect("a pause serialises");
    tx.meta_set(&key(p.profile.as_deref()), &value)?;
    let mut e = Event::new(p.since, kind::QUEUE_PAUSED);
    e.msg = Some(value);
    tx.event_insert(&e).map(|_| ())
}

/// A worker's deferral with `scope: profile`: `profile` pauses until `until`, unless a
/// pause in force already holds it as long (a person's pause with no end, or a later
/// deferral's), which is kept as it is. The reason says it was a deferral, and of which
/// task. Written in the caller's transaction (the one that settles the run).
pub(super) fn defer_profile(
    tx: &mut dyn Tx,
    profile: &str,
    until: Timestamp,
    why: &str,
    now: Timestamp,
) -> orch_store::Result<()> {
    let held = tx
        .meta_get(&key(Some(profile)))?
        .and_then(|v| serde_json::from_str::<Pause>(&v).ok())
        .is_some_and(|p| p.until.is_none_or(|u| u >= until));
    if held {
        return Ok(());
    }
    let p = Pause { profile: Some(profile.to_string()), until: Some(until), reason: Some(why.to_string()), since: now };
    pause_in(tx, &p)
}

impl Orch {
    /// Pauses claims of the queue (`profile` none) or of one profile; an `until` in
    /// the past records the pause and its end at once (nothing is paused).
    pub fn pause(&self, profile: Option<&str>, until: Option<Timestamp>, reason: Option<&str>) -> Result<Pause> {
        let now = self.now();
        let p = Pause { profile: profile.map(str::to_string), until, reason: reason.map(str::to_string), since: now };
        self.change(|tx| pause_in(tx, &p))?;
        Ok(p)
    }

    /// Ends the pause of the queue (`profile` none) or of one profile; false when it
    /// was not paused.
    pub fn resume(&self, profile: Option<&str>) -> Result<bool> {
        let now = self.now();
        let (was, _) = self.change(|tx| {
            let was = tx.meta_get(&key(profile))?.is_some_and(|v| !v.is_empty());
            if was {
                tx.meta_set(&key(profile), "")?;
                let mut e = Event::new(now, kind::QUEUE_RESUMED);
                e.msg = Some(serde_json::json!({ "profile": profile }).to_string());
                tx.event_insert(&e)?;
            }
            Ok(was)
        })?;
        Ok(was)
    }

    /// The pauses in force now (one whose `until` passed is over), the queue's first.
    pub fn pauses(&self) -> Result<Vec<Pause>> {
        let now = self.now();
        let all = orch_store::read(self.db.as_ref(), |tx| tx.meta_all())?;
        let mut out: Vec<Pause> = all
            .iter()
            .filter(|(k, _)| k == KEY || k.starts_with("pause:"))
            .filter_map(|(_, v)| serde_json::from_str::<Pause>(v).ok())
            .filter(|p| p.until.is_none_or(|u| u > now))
            .collect();
        out.sort_by(|a, b| a.profile.cmp(&b.profile));
        Ok(out)
    }
}
