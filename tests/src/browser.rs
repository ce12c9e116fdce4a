//! Headless Chromium for the report pages' tests: find it, load a page,
//! read the DOM after its scripts ran, take a screenshot.
//!
//! Every browser process is bounded by [`BROWSER_LIMIT`] and killed by its
//! pid when it overstays; each gets a fresh profile directory.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The longest a browser may take to load, run and dump one page.
pub const BROWSER_LIMIT: Duration = Duration::from_secs(90);

/// Model milliseconds of page time the browser lets pass before dumping:
/// the pages draw synchronously, so this only bounds a page gone wrong.
const VIRTUAL_TIME_BUDGET_MS: u32 = 10_000;

/// The flags known to work on a closed network, in a container, as root.
const FLAGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
];

/// The browser: `$SCALEMODEL_CHROMIUM`, else `chromium` or
/// `chromium-headless-shell` on the `PATH`.
pub fn find() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SCALEMODEL_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-headless-shell"]
        .iter()
        .find_map(|name| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        })
}

/// What the browser did with a page.
#[derive(Debug)]
pub struct Loaded {
    /// The DOM after the scripts ran (`--dump-dom`).
    pub dom: String,
    /// Every console line the page wrote (`CONSOLE` lines of the log).
    pub console: Vec<String>,
    /// How long the browser ran, start to exit.
    pub elapsed: Duration,
}

impl Loaded {
    /// The value of `attribute` on the first `<tag …>` of the DOM.
    pub fn attribute(&self, tag: &str, attribute: &str) -> Option<String> {
        let open = format!("<{tag}");
        let start = self
            .dom
            .find(&format!("{open} "))
            .or_else(|| self.dom.find(&format!("{open}>")))?;
        let end = start + self.dom[start..].find('>')?;
        let element = &self.dom[start..end];
        let key = format!(" {attribute}=\"");
        let at = element.find(&key)? + key.len();
        let len = element[at..].find('"')?;
        Some(element[at..at + len].to_owned())
    }

    /// `attribute` of `<body>` as a number.
    pub fn body_number(&self, attribute: &str) -> Option<u64> {
        self.attribute("body", attribute)?.parse().ok()
    }
}

/// Runs `browser` on `page` with `args`, bounded by [`BROWSER_LIMIT`]:
/// its stdout, its stderr and how long it ran. Panics naming the page if it
/// fails to start, overstays (then it is killed) or exits unsuccessfully.
fn run(browser: &Path, page: &Path, fragment: &str, args: &[String]) -> (String, String, Duration) {
    let profile = Profile::new();
    let url = format!("file://{}{fragment}", page.display());
    let started = Instant::now();
    let mut child = Command::new(browser)
        .args(FLAGS)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("{} does not start: {e}", browser.display()));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout is piped")));
    let err = drain(Box::new(child.stderr.take().expect("stderr is piped")));
    // The browser starts helper processes: it leads a process group of its
    // own, and a watchdog kills that group by its id if it overstays.
    let group = child.id();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let overstayed = finished.recv_timeout(BROWSER_LIMIT).is_err();
        if overstayed {
            kill_group(group);
        }
        overstayed
    });
    let status = child.wait().expect("the browser is waited for");
    let _ = done.send(());
    let overstayed = watchdog.join().expect("the watchdog ends");
    let elapsed = started.elapsed();
    let (out, err) = (
        out.join().expect("the stdout reader ends"),
        err.join().expect("the stderr reader ends"),
    );
    assert!(
        !overstayed,
        "the browser (process group {group}) did not finish {url} within {BROWSER_LIMIT:?} and was killed; its log:\n{err}"
    );
    assert!(
        status.success(),
        "the browser failed on {url} ({status}); its log:\n{err}"
    );
    (out, err, elapsed)
}

/// A fresh, empty browser profile directory, removed when dropped.
struct Profile(PathBuf);

impl Profile {
    fn new() -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("scalemodel-browser-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a fresh profile directory");
        Self(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Sends SIGKILL to the process group `group` with kill(1).
fn kill_group(group: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{group}")])
        .status();
}

/// Loads `page` in `browser` and dumps its DOM after its scripts ran.
pub fn load(browser: &Path, page: &Path) -> Loaded {
    load_at(browser, page, "")
}

/// As [`load`], with `fragment` (`#…` or empty) added to the address.
pub fn load_at(browser: &Path, page: &Path, fragment: &str) -> Loaded {
    let args = [
        "--enable-logging=stderr".to_owned(),
        "--v=0".to_owned(),
        format!("--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}"),
        "--dump-dom".to_owned(),
    ];
    let (dom, log, elapsed) = run(browser, page, fragment, &args);
    let console = log
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    Loaded {
        dom,
        console,
        elapsed,
    }
}

/// Saves a `width` x `height` screenshot of `page` as the PNG `to`;
/// `fragment` (`#…` or empty) is added to its address.
pub fn screenshot(
    browser: &Path,
    page: &Path,
    fragment: &str,
    to: &Path,
    (width, height): (u32, u32),
) {
    let args = [
        format!("--window-size={width},{height}"),
        format!("--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}"),
        format!("--screenshot={}", to.display()),
    ];
    run(browser, page, fragment, &args);
    let png = std::fs::read(to).unwrap_or_default();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "no screenshot of {} in {}",
        page.display(),
        to.display()
    );
}
