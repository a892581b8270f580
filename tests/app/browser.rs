//! Headless Chromium for tests that walk through the console as a person does.
//!
//! `Browser::start()` gives each test its own chromedriver (on a free port), its own Chromium and a
//! fresh profile directory; dropping the `Browser` shuts them down, reaps them and removes the
//! profile, so browser tests run in parallel like the rest of the suite.
//!
//! Without Chromium or chromedriver a test prints `skipped: …` and returns early; with `CI` set
//! it fails instead, because CI must never skip silently.

use std::future::Future;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use latchkey::db::new_id;
use thirtyfour::prelude::*;
use thirtyfour::LoggingPrefsLogLevel;

/// How long a wait for an element or a text may take before the test fails. Generous, because
/// a 2-core machine running many browsers and servers at once is slow to render.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How long chromedriver may take to answer after it was started (it is quick on an idle machine).
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a wait looks again.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// The flags Chromium runs with, besides a fresh `--user-data-dir` and the window size.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
];
const WINDOW_SIZE: &str = "--window-size=1280,900";

/// Where Chromium is looked for before `PATH`. Debian's `/usr/bin/chromium` is a shell script
/// that adds its own flags (`/etc/chromium.d/*`: extensions, GPU rasterization, …) before it runs
/// `/usr/lib/chromium/chromium`; starting that binary directly keeps the flags exactly ours.
const CHROMIUM_CANDIDATES: &[&str] = &["/usr/lib/chromium/chromium", "/usr/bin/chromium"];
const CHROMIUM_NAMES: &[&str] = &["chromium", "chromium-browser"];
const CHROMEDRIVER_CANDIDATES: &[&str] = &["/usr/bin/chromedriver"];
const CHROMEDRIVER_NAMES: &[&str] = &["chromedriver"];

/// One headless Chromium, driven through its own chromedriver.
pub struct Browser {
    /// `None` only while dropping.
    driver: Option<WebDriver>,
    chromedriver: Child,
    port: u16,
    /// Holds the profile (`profile/`) and chromedriver's log; removed on drop.
    dir: PathBuf,
}

// Some helpers wait for the flow tests that will use them.
#[allow(dead_code)]
impl Browser {
    /// Starts chromedriver and a headless Chromium. `None` (after printing `skipped: <reason>`)
    /// when either is not installed; panics instead when the `CI` variable is set.
    pub async fn start() -> Option<Browser> {
        let (chromium, chromedriver) = match find_executables() {
            Ok(found) => found,
            Err(reason) => {
                if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
                    panic!(
                        "browser tests cannot run on CI: {reason}; install Debian's \
                         chromium and chromium-driver packages"
                    );
                }
                eprintln!("skipped: {reason}");
                return None;
            }
        };

        let dir = std::env::temp_dir().join(format!("latchkey-browser-{}", new_id()));
        let profile = dir.join("profile");
        std::fs::create_dir_all(&profile).expect("create the browser's temp directory");
        let log = dir.join("chromedriver.log");

        let (chromedriver, port) = spawn_chromedriver(&chromedriver, &log).await;
        // From here on, Drop cleans up whatever happens next.
        let mut browser = Browser {
            driver: None,
            chromedriver,
            port,
            dir,
        };

        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(&chromium.to_string_lossy())
            .expect("the Chromium path");
        for flag in CHROMIUM_FLAGS.iter().copied().chain([WINDOW_SIZE]) {
            caps.add_arg(flag).expect("a Chromium flag");
        }
        caps.add_arg(&format!("--user-data-dir={}", profile.display()))
            .expect("the profile flag");
        caps.set_browser_log_level(LoggingPrefsLogLevel::All)
            .expect("the browser log capability");
        match WebDriver::new(format!("http://127.0.0.1:{port}"), caps).await {
            Ok(driver) => browser.driver = Some(driver),
            Err(e) => panic!(
                "Chromium did not start through chromedriver: {e}\nchromedriver log (tail):\n{}",
                tail(&log, 30)
            ),
        }
        Some(browser)
    }

    /// The underlying thirtyfour session, for anything the helpers below do not cover.
    pub fn driver(&self) -> &WebDriver {
        self.driver.as_ref().expect("the browser is running")
    }

    /// Opens `url` and waits until the page has loaded.
    pub async fn goto(&self, url: &str) {
        self.driver()
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The address of the current page.
    pub async fn current_url(&self) -> String {
        self.driver()
            .current_url()
            .await
            .expect("the current URL")
            .to_string()
    }

    /// The visible text of the whole page (waiting for a page that is still loading).
    pub async fn text(&self) -> String {
        self.poll("the page's text", || self.try_text()).await
    }

    /// The visible text, or `None` while there is no page to read (in the middle of a navigation).
    async fn try_text(&self) -> Option<String> {
        let body = self.driver().find(By::Tag("body")).await.ok()?;
        body.text().await.ok()
    }

    /// The first element matching a CSS selector, waiting for it to appear.
    pub async fn find(&self, css: &str) -> WebElement {
        self.wait_for(css).await
    }

    /// All elements matching a CSS selector now (no waiting; possibly none).
    pub async fn find_all(&self, css: &str) -> Vec<WebElement> {
        self.driver()
            .find_all(By::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find {css}: {e}"))
    }

    /// Waits until an element matching a CSS selector is on the page and returns it.
    pub async fn wait_for(&self, css: &str) -> WebElement {
        self.poll(&format!("an element matching `{css}`"), || async {
            let found = self.driver().find_all(By::Css(css)).await.ok()?;
            found.into_iter().next()
        })
        .await
    }

    /// Waits until the page's visible text contains `text`.
    pub async fn wait_for_text(&self, text: &str) {
        self.poll(&format!("the text {text:?}"), || async {
            self.try_text().await?.contains(text).then_some(())
        })
        .await
    }

    /// Waits until the form control labelled `label` is on the page: a `<label>` whose text is
    /// `label` (its `for` target, or the control inside it), else a control with that `aria-label`.
    pub async fn find_by_label(&self, label: &str) -> WebElement {
        self.poll(&format!("a field labelled {label:?}"), || async {
            self.labelled_control(label).await
        })
        .await
    }

    /// Types `value` into the field whose id or label is `label_or_id`, replacing what was there.
    pub async fn fill(&self, label_or_id: &str, value: &str) {
        let field = self
            .poll(
                &format!("a field with id or label {label_or_id:?}"),
                || async {
                    match self.driver().find_all(By::Id(label_or_id)).await {
                        Ok(found) if !found.is_empty() => found.into_iter().next(),
                        _ => self.labelled_control(label_or_id).await,
                    }
                },
            )
            .await;
        field.clear().await.expect("clear the field");
        field
            .send_keys(value)
            .await
            .unwrap_or_else(|e| panic!("type into {label_or_id:?}: {e}"));
    }

    /// Clicks the visible, enabled button (a submit input, or the `<summary>` that opens a
    /// `<details>`) whose text is `text`.
    pub async fn click_button(&self, text: &str) {
        let literal = xpath_literal(text);
        let xpath = format!(
            "//button[normalize-space(.)={literal}] \
             | //input[(@type='submit' or @type='button') and normalize-space(@value)={literal}] \
             | //summary[normalize-space(.)={literal}] \
             | //*[@role='button' and normalize-space(.)={literal}]"
        );
        self.click_first_usable(&format!("a button {text:?}"), &xpath)
            .await;
    }

    /// Clicks the visible link whose text or `aria-label` is `text` (a row's "Edit" link may be
    /// labelled "Edit Billing service" for screen readers; that is the name to ask for).
    pub async fn click_link(&self, text: &str) {
        let literal = xpath_literal(text);
        let xpath = format!("//a[normalize-space(.)={literal} or @aria-label={literal}]");
        self.click_first_usable(&format!("a link {text:?}"), &xpath)
            .await;
    }

    /// The errors the browser's console reported since the last call (script errors, refused
    /// loads, Content-Security-Policy violations, failed requests): its `SEVERE` entries.
    pub async fn console_errors(&self) -> Vec<String> {
        self.driver()
            .browser_log()
            .await
            .expect("the browser's console log")
            .into_iter()
            .filter(|entry| entry.level == "SEVERE")
            .map(|entry| entry.message)
            .collect()
    }

    /// Saves a PNG of the window to `path` (parent folders are created).
    pub async fn screenshot(&self, path: impl AsRef<Path>) {
        let path = path.as_ref();
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create the screenshot folder");
        }
        self.driver()
            .screenshot(path)
            .await
            .unwrap_or_else(|e| panic!("screenshot to {}: {e}", path.display()));
    }

    async fn click_first_usable(&self, what: &str, xpath: &str) {
        let element = self
            .poll(what, || async {
                for element in self.driver().find_all(By::XPath(xpath)).await.ok()? {
                    if element.is_displayed().await.unwrap_or(false)
                        && element.is_enabled().await.unwrap_or(false)
                    {
                        return Some(element);
                    }
                }
                None
            })
            .await;
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {what}: {e}"));
    }

    async fn labelled_control(&self, label: &str) -> Option<WebElement> {
        let literal = xpath_literal(label);
        let driver = self.driver();
        let labels = driver
            .find_all(By::XPath(format!("//label[normalize-space(.)={literal}]")))
            .await
            .ok()?;
        for label in labels {
            if let Ok(Some(target)) = label.attr("for").await {
                if let Some(control) = driver.find_all(By::Id(target)).await.ok()?.pop() {
                    return Some(control);
                }
            } else if let Some(control) = label
                .find_all(By::Css("input, select, textarea"))
                .await
                .ok()?
                .pop()
            {
                return Some(control);
            }
        }
        driver
            .find_all(By::XPath(format!("//*[@aria-label={literal}]")))
            .await
            .ok()?
            .into_iter()
            .next()
    }

    /// Calls `attempt` until it yields something or `TIMEOUT` passes; then fails the test with
    /// what it waited for, where the browser was and what the page said.
    async fn poll<T, F, Fut>(&self, what: &str, mut attempt: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(found) = attempt().await {
                return found;
            }
            if Instant::now() >= deadline {
                let url = match self.driver().current_url().await {
                    Ok(url) => url.to_string(),
                    Err(e) => format!("(unknown: {e})"),
                };
                let text = self.try_text().await.unwrap_or_default();
                panic!(
                    "waited {}s for {what}, in vain.\nPage: {url}\nIt says:\n{text}",
                    TIMEOUT.as_secs()
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver's /shutdown closes every browser it started and then exits, so the
        // WebDriver session is not ended separately (that would need an async drop).
        if let Some(driver) = self.driver.take() {
            let _ = driver.leak();
        }
        request_shutdown(self.port);
        if !wait_for_exit(&mut self.chromedriver, Duration::from_secs(10)) {
            // chromedriver hangs: end it and the browser it started (its process group).
            kill_process_group(&self.chromedriver);
            let _ = self.chromedriver.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Chromium and chromedriver, or why they cannot be used.
fn find_executables() -> Result<(PathBuf, PathBuf), String> {
    let chromium = find_executable(CHROMIUM_CANDIDATES, CHROMIUM_NAMES);
    let chromedriver = find_executable(CHROMEDRIVER_CANDIDATES, CHROMEDRIVER_NAMES);
    match (chromium, chromedriver) {
        (Some(chromium), Some(chromedriver)) => Ok((chromium, chromedriver)),
        (None, Some(_)) => {
            Err("Chromium is not installed (no /usr/bin/chromium, none on PATH)".into())
        }
        (Some(_), None) => {
            Err("chromedriver is not installed (no /usr/bin/chromedriver, none on PATH)".into())
        }
        (None, None) => Err("neither Chromium nor chromedriver is installed".into()),
    }
}

fn find_executable(candidates: &[&str], names: &[&str]) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    candidates
        .iter()
        .map(PathBuf::from)
        .chain(
            names
                .iter()
                .flat_map(|name| on_path.iter().map(move |dir| dir.join(name))),
        )
        .find(|path| is_executable(path))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Starts chromedriver on a free port and waits until it is ready for sessions. Retries on a new
/// port if another process took the chosen one in the meantime.
async fn spawn_chromedriver(path: &Path, log: &Path) -> (Child, u16) {
    let mut last_error = String::new();
    for _ in 0..3 {
        let port = free_port();
        let mut child = Command::new(path)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that a hung chromedriver can be ended with its browser.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", path.display()));
        match wait_until_ready(&mut child, port).await {
            Ok(()) => return (child, port),
            Err(e) => {
                last_error = e;
                kill_process_group(&child);
                let _ = child.wait();
            }
        }
    }
    panic!(
        "chromedriver did not start: {last_error}\nchromedriver log (tail):\n{}",
        tail(log, 30)
    );
}

async fn wait_until_ready(child: &mut Child, port: u16) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("a reqwest client");
    let url = format!("http://127.0.0.1:{port}/status");
    let deadline = Instant::now() + DRIVER_START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("it exited with {status}"));
        }
        if let Ok(response) = client.get(&url).send().await {
            if let Ok(status) = response.json::<serde_json::Value>().await {
                if status["value"]["ready"] == true {
                    return Ok(());
                }
            }
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "no answer on port {port} within {}s",
                DRIVER_START_TIMEOUT.as_secs()
            ));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// `GET /shutdown`, synchronously (it runs in Drop); the answer does not matter.
fn request_shutdown(port: u16) {
    use std::io::{Read, Write};
    let Ok(mut stream) =
        TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_secs(2))
    else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let request =
        format!("GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_ok() {
        let _ = stream.read_to_end(&mut Vec::new());
    }
}

fn wait_for_exit(child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return true,
            Err(_) => return false,
            Ok(None) if Instant::now() >= deadline => return false,
            Ok(None) => std::thread::sleep(POLL_INTERVAL),
        }
    }
}

/// SIGKILL to the process group that `child` leads (it was started with `process_group(0)`).
fn kill_process_group(child: &Child) {
    let Ok(pgid) = i32::try_from(child.id()) else {
        return;
    };
    // SAFETY: kill(2) with a negative pid signals exactly the group this test started.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

/// The last `lines` lines of a file, for error messages.
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `text` as an XPath 1.0 string literal (which has no escapes: mixed quotes need concat()).
fn xpath_literal(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else if !text.contains('"') {
        format!("\"{text}\"")
    } else {
        let parts: Vec<String> = text.split('\'').map(|part| format!("'{part}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

#[tokio::test]
async fn admin_signs_in_through_the_login_form() {
    use crate::helpers::{spawn_app, ADMIN_EMAIL, PASSWORD};

    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app().await;
    app.create_admin().await;

    browser.goto(&app.url("/login")).await;
    browser.fill("Email", ADMIN_EMAIL).await;
    browser.fill("Password", PASSWORD).await;
    browser.click_button("Sign in").await;

    browser.wait_for_text("Welcome").await;
    let heading = browser.find("h1").await.text().await.expect("the heading");
    assert!(heading.starts_with("Welcome"), "heading: {heading}");
    let tabs = browser
        .find("nav.tabs")
        .await
        .text()
        .await
        .expect("the tabs");
    for tab in ["Overview", "Development", "Roles", "Team", "Audit log"] {
        assert!(tabs.contains(tab), "tab {tab} is shown: {tabs}");
    }
    assert_eq!(browser.current_url().await, app.url("/"));

    let picture = browser.dir.join("overview.png");
    browser.screenshot(&picture).await;
    let png = std::fs::read(&picture).expect("the screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
}
