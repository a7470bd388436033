//! What an interrupted process must not leave behind. Ctrl-C ends the tool from the signal
//! handler's thread, where no destructor runs: a staged temp file beside the config, the bash
//! check's throwaway folder and bash's process groups would stay. Each is registered while it
//! exists, and `main`'s handler clears them before it exits.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

enum Item {
    File(PathBuf),
    Folder(PathBuf),
    /// A process group, killed.
    Group(i32),
}

/// What is registered, and the files put in place so far.
struct Registry {
    items: Vec<(u64, Item)>,
    /// Files put in place so far: an interrupt after one must not say "nothing written".
    written: Vec<PathBuf>,
}

type Shared = Mutex<Registry>;

/// The process's own.
static REGISTRY: Shared = Registry::shared();
static NEXT: AtomicU64 = AtomicU64::new(0);

impl Registry {
    const fn shared() -> Shared {
        Mutex::new(Registry {
            items: Vec::new(),
            written: Vec::new(),
        })
    }
}

fn lock(shared: &'static Shared) -> MutexGuard<'static, Registry> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// An item registered until this is dropped (or `release`d).
#[must_use]
pub struct Registered {
    id: u64,
    shared: &'static Shared,
}

impl Registered {
    /// Takes the item off the list while the registry is held (see `hold`).
    pub fn release(self, held: &mut Held) {
        held.0.items.retain(|(id, _)| *id != self.id);
        std::mem::forget(self);
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        lock(self.shared).items.retain(|(id, _)| *id != self.id);
    }
}

/// Makes something and registers it under one hold of the registry: an interrupt comes
/// before it exists (and it is never made) or after it is registered, never in between, when
/// it would be left behind. `make` must not register anything itself.
fn made<T, E>(
    shared: &'static Shared,
    make: impl FnOnce() -> Result<T, E>,
    item: impl FnOnce(&T) -> Item,
) -> Result<(T, Registered), E> {
    let mut held = lock(shared);
    let thing = make()?;
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    held.items.push((id, item(&thing)));
    Ok((thing, Registered { id, shared }))
}

/// A file made by `make`, at the path `path` gives, removed if the process is interrupted.
pub fn new_file<T, E>(
    make: impl FnOnce() -> Result<T, E>,
    path: impl FnOnce(&T) -> PathBuf,
) -> Result<(T, Registered), E> {
    made(&REGISTRY, make, |t| Item::File(path(t)))
}

/// A folder made by `make`, removed with what it holds if the process is interrupted.
pub fn new_folder<T, E>(
    make: impl FnOnce() -> Result<T, E>,
    path: impl FnOnce(&T) -> PathBuf,
) -> Result<(T, Registered), E> {
    made(&REGISTRY, make, |t| Item::Folder(path(t)))
}

/// A process started by `spawn` as the leader of its own group, which is killed if the
/// process is interrupted. Released before the leader is reaped, so that a reused id is never
/// killed.
pub fn new_group(
    spawn: impl FnOnce() -> std::io::Result<std::process::Child>,
) -> std::io::Result<(std::process::Child, Registered)> {
    made(&REGISTRY, spawn, |child| Item::Group(child.id() as i32))
}

/// The registry held: an interrupt waits until this is dropped, so that a file is either put
/// in place and recorded, or not put in place at all.
pub struct Held(MutexGuard<'static, Registry>);

pub fn hold() -> Held {
    Held(lock(&REGISTRY))
}

impl Held {
    /// Records a file put in place.
    pub fn wrote(&mut self, path: &Path) {
        self.0.written.push(path.to_path_buf());
    }
}

/// For the interrupt handler: kills every registered group, removes every registered file and
/// folder, and returns the files already put in place. The registry stays held (the guard
/// returned) so that nothing is put in place before the process exits.
pub fn clear_for_exit() -> (Vec<PathBuf>, Held) {
    clear(&REGISTRY)
}

fn clear(shared: &'static Shared) -> (Vec<PathBuf>, Held) {
    let mut held = Held(lock(shared));
    for (_, item) in held.0.items.drain(..) {
        match item {
            Item::Group(pgid) => {
                // SAFETY: kill has no memory preconditions; the group is one this process
                // started and has not reaped.
                unsafe {
                    libc::kill(-pgid, libc::SIGKILL);
                }
            }
            Item::File(path) => {
                let _ = std::fs::remove_file(path);
            }
            Item::Folder(path) => {
                let _ = std::fs::remove_dir_all(path);
            }
        }
    }
    (held.0.written.clone(), held)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A registry of the test's own: the process's is shared with every other test here.
    static OWN: Shared = Registry::shared();

    fn register(shared: &'static Shared, item: Item) -> Registered {
        made(shared, || Ok::<_, std::convert::Infallible>(()), |_| item)
            .unwrap_or_else(|never| match never {})
            .1
    }

    #[test]
    fn what_is_registered_goes_and_what_is_released_stays() {
        let dir = tempfile::tempdir().unwrap();
        let kept = dir.path().join("kept");
        let staged = dir.path().join("staged");
        let folder_path = dir.path().join("folder");
        std::fs::write(&kept, "x").unwrap();
        std::fs::write(&staged, "x").unwrap();
        std::fs::create_dir(&folder_path).unwrap();
        std::fs::write(folder_path.join("inside"), "x").unwrap();
        let released = register(&OWN, Item::File(kept.clone()));
        let _staged = register(&OWN, Item::File(staged.clone()));
        let _folder = register(&OWN, Item::Folder(folder_path.clone()));
        let dropped = register(&OWN, Item::File(dir.path().join("never")));
        drop(dropped);
        {
            let mut held = Held(lock(&OWN));
            released.release(&mut held);
            held.wrote(&kept);
        }
        let (written, held) = clear(&OWN);
        assert!(held.0.items.is_empty());
        assert!(kept.exists());
        assert!(!staged.exists());
        assert!(!folder_path.exists());
        assert!(written.contains(&kept));
    }

    /// An interrupt while a file is being made (the tool descheduled between making its temp
    /// file and registering it, seen under qemu-user) waits, and then removes it.
    #[test]
    fn an_interrupt_while_a_file_is_made_waits_and_removes_it() {
        static MAKING: Shared = Registry::shared();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("staged");
        let (made_tx, made_rx) = std::sync::mpsc::channel();
        let maker = {
            let path = path.clone();
            std::thread::spawn(move || {
                let made = made(
                    &MAKING,
                    || {
                        std::fs::write(&path, "x")?;
                        made_tx.send(()).unwrap();
                        // The interrupt arrives now, before the file is registered.
                        std::thread::sleep(std::time::Duration::from_millis(300));
                        Ok::<_, std::io::Error>(())
                    },
                    |_| Item::File(path.clone()),
                );
                // The process exits from the interrupt before this thread goes on.
                std::mem::forget(made);
            })
        };
        made_rx.recv().unwrap();
        let (_, held) = clear(&MAKING);
        assert!(
            !path.exists(),
            "the file made during the interrupt was left"
        );
        drop(held);
        maker.join().unwrap();
    }
}
