//! One agent-dispatch check at a time per room, within this process.
//!
//! Making sure a room has its agents is a ListDispatch, then a CreateDispatch for each agent
//! missing: two token requests for the same room at the same moment would both find the agent
//! missing and start two jobs. Replicas of the server can still race each other; within one,
//! the second request waits for the first and then finds its dispatch.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

/// A lock per room name, held only while that room's dispatches are checked.
#[derive(Debug, Default)]
pub(crate) struct RoomLocks {
    by_room: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl RoomLocks {
    /// Runs `work` while no other `work` for `room` runs.
    pub(crate) async fn one_at_a_time<T>(&self, room: &str, work: impl Future<Output = T>) -> T {
        let lock = Arc::clone(self.map().entry(room.to_owned()).or_default());
        let _forget = Forget {
            locks: self,
            room,
            lock: &lock,
        };
        let _held = lock.lock().await;
        work.await
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<tokio::sync::Mutex<()>>>> {
        self.by_room.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Removes a room's lock once no request holds or waits for it (also when the request is
/// dropped half-way), so that the map holds only the rooms being checked now.
struct Forget<'a> {
    locks: &'a RoomLocks,
    room: &'a str,
    lock: &'a Arc<tokio::sync::Mutex<()>>,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        let mut map = self.locks.map();
        // The map's reference and this request's: nobody else wants it.
        if Arc::strong_count(self.lock) == 2 {
            map.remove(self.room);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn work_for_one_room_runs_one_at_a_time_and_other_rooms_are_not_held() {
        let locks = Arc::new(RoomLocks::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let (locks, inside, most) = (locks.clone(), inside.clone(), most.clone());
                tokio::spawn(async move {
                    let room = if i % 2 == 0 { "a" } else { "b" };
                    locks
                        .one_at_a_time(room, async {
                            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            inside.fetch_sub(1, Ordering::SeqCst);
                        })
                        .await;
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        // Two rooms: at most two at once, and both did run side by side.
        assert_eq!(most.load(Ordering::SeqCst), 2);
        assert!(
            locks.map().is_empty(),
            "locks of finished rooms are forgotten"
        );
    }

    #[tokio::test]
    async fn a_dropped_request_leaves_no_lock_behind() {
        let locks = RoomLocks::default();
        let _ = tokio::time::timeout(
            Duration::from_millis(5),
            locks.one_at_a_time("a", tokio::time::sleep(Duration::from_secs(5))),
        )
        .await;
        assert!(locks.map().is_empty());
        locks.one_at_a_time("a", async {}).await;
    }
}
