//! Child processes that die with the test: each is started in its own process group and the
//! whole group is terminated on drop (SIGTERM, then SIGKILL after a grace period).

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running child process group, with its output captured to a log file for failure reports.
pub struct Guarded {
    name: String,
    child: Child,
    log: std::path::PathBuf,
}

impl Guarded {
    /// Spawns `cmd` in a new process group, stdout and stderr appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Self {
        let out = std::fs::File::create(log).expect("creating a log file");
        let err = out.try_clone().expect("cloning a file handle");
        cmd.stdin(Stdio::null()).stdout(Stdio::from(out)).stderr(Stdio::from(err)).process_group(0);
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!("could not start {name} ({:?}): {e}. Run `make setup` first.", cmd.get_program())
        });
        Self { name: name.to_owned(), child, log: log.to_path_buf() }
    }

    /// Spawns `cmd` in a new process group with stdout piped (read it with [`Self::take_stdout`])
    /// and stderr appended to `log`.
    pub fn spawn_piped(name: &str, mut cmd: Command, log: &Path) -> Self {
        let err = std::fs::File::create(log).expect("creating a log file");
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::from(err)).process_group(0);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("could not start {name} ({:?}): {e}", cmd.get_program()));
        Self { name: name.to_owned(), child, log: log.to_path_buf() }
    }

    /// The piped stdout, once.
    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.stdout.take()
    }

    /// Whether the process has exited.
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Whether the process has exited; panics with its log if it did.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited early ({status}). Its output:\n{}", self.name, self.log_text());
        }
    }

    /// Everything the process printed so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal_group(&self, signal: &str) {
        let _ =
            Command::new("kill").args([signal, "--", &format!("-{}", self.child.id())]).stderr(Stdio::null()).status();
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.signal_group("-TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                // The leader is gone; make sure no member of its group outlives it.
                self.signal_group("-KILL");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.signal_group("-KILL");
        let _ = self.child.wait();
    }
}

/// Polls `probe` until it returns `Some`, panicking with `what` after `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
