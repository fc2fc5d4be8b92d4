//! The hand-over's locks and atomics: loom's in the unit-test build (see the module doc of
//! `group_commit.rs`), std's otherwise.

#[cfg(test)]
pub(super) use loom::sync::atomic::AtomicUsize;
#[cfg(not(test))]
pub(super) use std::sync::{
    Mutex, MutexGuard,
    atomic::{AtomicBool, AtomicUsize},
};
#[cfg(test)]
pub(super) use under_loom::{AtomicBool, Mutex, MutexGuard};

/// loom's primitives, with two changes that make loom see the hand-over as it is.
#[cfg(test)]
mod under_loom {
    use std::{
        ops::{Deref, DerefMut},
        sync::{LockResult, TryLockError, TryLockResult, atomic::Ordering},
    };

    /// loom's `Mutex`; the leader's lets other threads run before it is released
    /// ([`Mutex::release_visibly`]). Loom switches threads only before an operation it
    /// sees, and a release is not one: without this, nothing could happen between a
    /// leader's last look at the queue and the moment it lets the writer go, the very
    /// window the hand-over is about. (The queue's lock does not: the windows around it
    /// hold operations already, and each yield multiplies the interleavings to explore.)
    #[derive(Debug)]
    pub(in crate::group_commit) struct Mutex<T> {
        inner: loom::sync::Mutex<T>,
        release_visibly: bool,
    }

    #[derive(Debug)]
    pub(in crate::group_commit) struct MutexGuard<'a, T> {
        inner: Option<loom::sync::MutexGuard<'a, T>>,
        release_visibly: bool,
    }

    impl<T> Mutex<T> {
        pub(in crate::group_commit) fn new(value: T) -> Self {
            Mutex { inner: loom::sync::Mutex::new(value), release_visibly: false }
        }

        pub(in crate::group_commit) fn release_visibly(self) -> Self {
            Mutex { release_visibly: true, ..self }
        }

        fn guard<'a>(&self, inner: loom::sync::MutexGuard<'a, T>) -> MutexGuard<'a, T> {
            MutexGuard { inner: Some(inner), release_visibly: self.release_visibly }
        }

        pub(in crate::group_commit) fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
            Ok(self.guard(self.inner.lock().expect("loom never poisons")))
        }

        pub(in crate::group_commit) fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
            match self.inner.try_lock() {
                Ok(guard) => Ok(self.guard(guard)),
                Err(TryLockError::WouldBlock) => Err(TryLockError::WouldBlock),
                Err(TryLockError::Poisoned(_)) => unreachable!("loom never poisons"),
            }
        }
    }

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;

        fn deref(&self) -> &T {
            self.inner.as_ref().expect("held until dropped")
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            self.inner.as_mut().expect("held until dropped")
        }
    }

    impl<T> Drop for MutexGuard<'_, T> {
        fn drop(&mut self) {
            if self.release_visibly && !std::thread::panicking() {
                loom::thread::yield_now();
            }
            self.inner.take();
        }
    }

    /// loom's `AtomicBool`, except that a store is made as a swap. Loom 0.7 may order a
    /// plain store between the read and the write of another thread's swap, which the
    /// memory model rules out (tokio-rs/loom#254): it reported the background role left
    /// claimed after a release that had freed it. Whether `false` is stored or swapped in
    /// changes nothing the hand-over relies on (the flag guards no data: the queue has its
    /// own lock), and loom models the swap correctly.

    #[derive(Debug)]
    pub(in crate::group_commit) struct AtomicBool(loom::sync::atomic::AtomicBool);

    impl AtomicBool {
        pub(in crate::group_commit) fn new(value: bool) -> Self {
            AtomicBool(loom::sync::atomic::AtomicBool::new(value))
        }

        pub(in crate::group_commit) fn load(&self, order: Ordering) -> bool {
            self.0.load(order)
        }

        pub(in crate::group_commit) fn store(&self, value: bool, order: Ordering) {
            self.0.swap(value, order);
        }

        pub(in crate::group_commit) fn swap(&self, value: bool, order: Ordering) -> bool {
            self.0.swap(value, order)
        }
    }
}
