//! The audit of cached tokens: a token answered from the cache is not a row of its own but a count
//! per engine key, application, resource and minute, kept in the organization's Durable Object and
//! written as one row when its minute is over (by the object's alarm, off the request path). Every
//! token that reached Microsoft, and every refusal, stays a row of its own.

use crate::time::Millis;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The length of one counted window.
pub const MINUTE_MS: i64 = 60_000;

/// What one count is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HitKey {
    /// The start of the minute, Unix milliseconds.
    pub minute_ms: Millis,
    /// The engine key that signed the requests.
    pub key_id: String,
    /// The application whose cached token was handed out.
    pub application_id: String,
    /// `graph`, `sharepoint` or `exchange`.
    pub resource: String,
}

/// Cache hits not yet written. The object keeps a copy in its storage (see [`HitCounter::changed`])
/// so that counts survive the object being evicted before its alarm.
#[derive(Debug, Default)]
pub struct HitCounter {
    counts: BTreeMap<HitKey, u64>,
    changed: bool,
    /// A write failed: the next one waits until then.
    deferred_until: Option<Millis>,
}

/// How long the next write waits after one failed.
pub const RETRY_AFTER_FAILURE_MS: i64 = MINUTE_MS;

impl HitCounter {
    /// Counts one cached token at `now`.
    pub fn count(&mut self, key_id: &str, application_id: &str, resource: &str, now: Millis) {
        let key = HitKey {
            minute_ms: now - now.ms().rem_euclid(MINUTE_MS),
            key_id: key_id.to_owned(),
            application_id: application_id.to_owned(),
            resource: resource.to_owned(),
        };
        *self.counts.entry(key).or_default() += 1;
        self.changed = true;
    }

    /// Whether counts changed since the last call (the object then stores [`HitCounter::entries`]).
    pub fn changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// Every count, for the object's storage.
    pub fn entries(&self) -> Vec<(HitKey, u64)> {
        self.counts.iter().map(|(k, n)| (k.clone(), *n)).collect()
    }

    /// When the earliest counted minute is over (the alarm's time), if anything is counted; after
    /// a failed write, not before [`RETRY_AFTER_FAILURE_MS`] has passed.
    pub fn next_flush_at(&self) -> Option<Millis> {
        let due = self.counts.keys().map(|k| k.minute_ms + MINUTE_MS).min()?;
        Some(self.deferred_until.map_or(due, |d| d.max(due)))
    }

    /// The write of `counts` at `now` failed: they are put back and written later.
    pub fn write_failed(&mut self, counts: Vec<(HitKey, u64)>, now: Millis) {
        self.restore(counts);
        self.deferred_until = Some(now + RETRY_AFTER_FAILURE_MS);
    }

    /// Takes the counts of the minutes that are over at `now`.
    pub fn take_due(&mut self, now: Millis) -> Vec<(HitKey, u64)> {
        let due: Vec<HitKey> = self.counts.keys().filter(|k| k.minute_ms + MINUTE_MS <= now).cloned().collect();
        self.changed |= !due.is_empty();
        due.into_iter().filter_map(|k| self.counts.remove(&k).map(|n| (k, n))).collect()
    }

    /// Puts counts back (their write failed): they are written with the next flush.
    pub fn restore(&mut self, counts: Vec<(HitKey, u64)>) {
        for (k, n) in counts {
            *self.counts.entry(k).or_default() += n;
            self.changed = true;
        }
    }

    /// Whether nothing is waiting to be written.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Millis = Millis(1_796_000_040_000 + 40_000); // 40 s into a minute

    #[test]
    fn hits_are_counted_per_key_application_resource_and_minute_and_taken_when_the_minute_is_over() {
        let mut c = HitCounter::default();
        assert_eq!(c.next_flush_at(), None);
        for i in 0..1000 {
            c.count("engine-1", "app-1", "graph", T0 + i);
        }
        c.count("engine-1", "app-1", "sharepoint", T0);
        c.count("engine-2", "app-1", "graph", T0);
        c.count("engine-1", "app-1", "graph", T0 + 30_000); // the next minute
        let minute = T0 - 40_000;
        assert_eq!(c.next_flush_at(), Some(minute + MINUTE_MS));
        assert!(c.take_due(minute + MINUTE_MS - 1).is_empty(), "not before the minute is over");
        let due = c.take_due(minute + MINUTE_MS);
        assert_eq!(due.len(), 3, "one row each: {due:?}");
        assert_eq!(due.iter().map(|(_, n)| n).sum::<u64>(), 1002);
        assert!(due.iter().any(|(k, n)| k.resource == "graph" && k.key_id == "engine-1" && *n == 1000));
        assert_eq!(c.next_flush_at(), Some(minute + 2 * MINUTE_MS));
        // A failed write puts them back, added to what came since, and the next try waits a minute.
        c.write_failed(due, minute + MINUTE_MS);
        assert_eq!(c.next_flush_at(), Some(minute + 2 * MINUTE_MS));
        c.count("engine-1", "app-1", "graph", T0 + 1);
        let again = c.take_due(minute + 2 * MINUTE_MS);
        assert_eq!(again.iter().map(|(_, n)| n).sum::<u64>(), 1004);
        assert!(c.is_empty());
        // What the object stores reads back as it was.
        c.count("engine-1", "app-1", "graph", T0);
        assert!(c.changed() && !c.changed());
        let mut back = HitCounter::default();
        back.restore(serde_json::from_str(&serde_json::to_string(&c.entries()).unwrap()).unwrap());
        assert_eq!(back.entries(), c.entries());
    }
}
