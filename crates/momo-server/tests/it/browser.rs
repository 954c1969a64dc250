//! Tests in a real browser: headless Chromium driven through WebDriver (fantoccini).
//!
//! `Browser::start()` launches its own `chromedriver` on a port the system picks and opens one
//! Chromium session with a fresh profile; the browser derefs to `fantoccini::Client`. At most
//! `MAX_BROWSERS` run at once across the suite, so a many-core CI and a two-core laptop both stay
//! responsive. `close().await` ends the session; if a test panics first, `Drop` ends it anyway, so
//! no Chromium outlives the test run. The tools are Debian's `chromium` and `chromium-driver`
//! packages: a missing one fails the test (`.ci/run` installs them).

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::helpers::spawn_app;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const INSTALL_HINT: &str = "the browser tests need Debian's `chromium` and `chromium-driver` packages: \
     `apt-get install -y chromium chromium-driver` (.ci/run installs them)";

/// Browsers open at once in this test binary; more would only make each one slower.
const MAX_BROWSERS: usize = 2;
static BROWSERS: Semaphore = Semaphore::const_new(MAX_BROWSERS);

/// How long chromedriver may take to start and Chromium to open a session.
const STARTUP: Duration = Duration::from_secs(20);

/// The size of the page area (not the window) a test looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewport {
    pub width: u32,
    pub height: u32,
}

impl Viewport {
    /// A 1280-px laptop screen.
    pub const LAPTOP: Viewport = Viewport { width: 1280, height: 800 };
    /// A 390-px phone (the handset page's target).
    pub const PHONE: Viewport = Viewport { width: 390, height: 844 };
}

/// One headless Chromium session with its own chromedriver.
pub struct Browser {
    client: Client,
    session: String,
    closed: bool,
    // Dropped after `Drop::drop` ended the session: the driver process, then its profile.
    driver: Driver,
    _permit: SemaphorePermit<'static>,
}

impl std::ops::Deref for Browser {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Browser {
    /// Start chromedriver and open a session at the laptop size; `None` (the test is skipped,
    /// loudly) when `chromium` or `chromium-driver` is not installed, as on a fresh machine with
    /// only Rust, where the README's test command must still pass. In CI (`CI` set) a missing
    /// tool fails the test instead, as does one that is installed but does not start.
    pub async fn start() -> Option<Browser> {
        if let Some(missing) = [CHROMEDRIVER, CHROMIUM].into_iter().find(|tool| !Path::new(tool).exists()) {
            assert!(std::env::var("CI").is_err(), "{missing} is missing in CI: {INSTALL_HINT}");
            eprintln!("skipped: {missing} is missing; {INSTALL_HINT}");
            return None;
        }
        let permit = BROWSERS.acquire().await.expect("the semaphore is never closed");
        let driver = Driver::start().await;
        let profile = driver.dir.path().join("profile");
        let capabilities = json!({
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "timeouts": { "pageLoad": 15_000, "script": 5_000, "implicit": 0 },
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    // Containers (CI runs as root) have no user namespaces for the sandbox.
                    "--no-sandbox",
                    "--disable-gpu",
                    // A small /dev/shm in containers crashes tabs; Debian's launcher script
                    // means to add this flag but its check breaks when /dev/shm is mounted twice.
                    "--disable-dev-shm-usage",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    format!("--window-size={},{}", Viewport::LAPTOP.width, Viewport::LAPTOP.height),
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        });
        let Value::Object(capabilities) = capabilities else { unreachable!("a JSON object") };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = tokio::time::timeout(
            STARTUP,
            ClientBuilder::new(connector).capabilities(capabilities).connect(&driver.url()),
        )
        .await
        .unwrap_or_else(|_| panic!("Chromium did not open a session in {STARTUP:?}; {}", driver.log()))
        .unwrap_or_else(|e| panic!("Chromium did not start: {e}; {INSTALL_HINT}; {}", driver.log()));
        let session = client.session_id().await.expect("session id").expect("a session is open");
        let browser = Browser { client, session, closed: false, driver, _permit: permit };
        browser.set_viewport(Viewport::LAPTOP).await;
        Some(browser)
    }

    /// Resize the window so that the page area is exactly `viewport` (the window frame that
    /// headless Chromium still simulates is added on top). Panics if Chromium refuses. A busy
    /// Chromium may still tell the page area of the window before its last resize, so this
    /// measures again and corrects the window by what is missing, for a few seconds at most.
    pub async fn set_viewport(&self, viewport: Viewport) {
        let Viewport { width, height } = viewport;
        self.client.set_window_size(width, height).await.expect("set window size");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (inner_width, inner_height) = self.inner_size().await;
            if (inner_width, inner_height) == (width, height) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the page area after resizing the window: {inner_width}x{inner_height}, not {width}x{height}"
            );
            let (outer_width, outer_height) = self.client.get_window_size().await.expect("window size");
            let fit = |outer: u64, want: u32, got: u32| {
                u32::try_from(outer).unwrap_or(u32::MAX).saturating_add(want).saturating_sub(got)
            };
            self.client
                .set_window_size(fit(outer_width, width, inner_width), fit(outer_height, height, inner_height))
                .await
                .expect("set window size");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn inner_size(&self) -> (u32, u32) {
        let size = self.client.execute("return [window.innerWidth, window.innerHeight]", vec![]).await;
        let size: (u32, u32) = serde_json::from_value(size.expect("script runs")).expect("two numbers");
        size
    }

    /// The visible text of the first element matching `css` (found again if a live update
    /// replaced it meanwhile).
    pub async fn text(&self, css: &str) -> String {
        let mut tries = 0;
        loop {
            let element =
                self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no {css:?} on the page: {e}"));
            match element.text().await {
                Ok(text) => return text,
                Err(fantoccini::error::CmdError::Standard(e))
                    if e.error == fantoccini::error::ErrorStatus::StaleElementReference && tries < 3 =>
                {
                    tries += 1;
                }
                Err(e) => panic!("element text: {e}"),
            }
        }
    }

    /// The page fits both a laptop and a 390-px phone without sideways scrolling: checked and
    /// saved as `{name}-1280` and `{name}-390`; the window is left at laptop size.
    pub async fn fits_laptop_and_phone(&self, name: &str) {
        assert!(!self.scrolls_horizontally().await, "{name} fits a 1280-px laptop");
        self.screenshot(&format!("{name}-1280")).await;
        self.set_viewport(Viewport::PHONE).await;
        assert!(!self.scrolls_horizontally().await, "{name} fits a 390-px phone");
        self.screenshot(&format!("{name}-390")).await;
        self.set_viewport(Viewport::LAPTOP).await;
    }

    /// Whether the page is wider than the window (the user would have to scroll sideways).
    pub async fn scrolls_horizontally(&self) -> bool {
        let script = "const e = document.documentElement; return e.scrollWidth > e.clientWidth";
        self.client.execute(script, vec![]).await.expect("script runs").as_bool().expect("a boolean")
    }

    /// Save a PNG of the page area as `target/console-screenshots/{name}.png` and return its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "a screenshot name is a plain file stem: {name:?}"
        );
        let png = self.client.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "Chromium returned a PNG");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("create the screenshot directory");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }

    /// End the session (Chromium quits) and stop chromedriver.
    pub async fn close(mut self) {
        self.client.clone().close().await.expect("end the WebDriver session");
        self.closed = true;
    }
}

impl Drop for Browser {
    /// A test that panicked never reached `close()`: end the session with a plain blocking request
    /// (no runtime is needed in `drop`). Killing chromedriver alone would leave Chromium running.
    fn drop(&mut self) {
        if !self.closed {
            self.driver.delete_session(&self.session);
        }
    }
}

/// `target/console-screenshots/` (the target directory `cargo` uses for this build).
pub fn screenshot_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().expect("the target tmp dir has a parent").join("console-screenshots")
}

/// A chromedriver process; killed and reaped on drop.
struct Driver {
    child: Child,
    port: u16,
    /// Holds chromedriver's output and Chromium's profile.
    dir: tempfile::TempDir,
}

impl Driver {
    /// Launch chromedriver on a port the system picks (`--port=0`: no race for a free port
    /// between parallel tests) and wait until its `/status` says it is ready.
    async fn start() -> Driver {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut driver = Driver { child: Self::spawn(dir.path()), port: 0, dir };
        // The system picks the port of one address family; chromedriver then binds the other to
        // the same number, which another process may hold ("IPv4 port not available"): it exits,
        // and another launch gets another port.
        let mut relaunches = 3;
        let deadline = Instant::now() + STARTUP;
        driver.port = loop {
            if let Some(port) = announced_port(&driver.log()) {
                break port;
            }
            if let Ok(Some(status)) = driver.child.try_wait() {
                if relaunches > 0 && driver.log().contains("port not available") {
                    relaunches -= 1;
                    driver.child = Self::spawn(driver.dir.path());
                    continue;
                }
                panic!("chromedriver exited ({status}); {INSTALL_HINT}; {}", driver.log());
            }
            assert!(Instant::now() < deadline, "chromedriver did not start in {STARTUP:?}; {}", driver.log());
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let status = format!("{}/status", driver.url());
        loop {
            let ready = match reqwest::get(&status).await {
                Ok(response) => response.json::<Value>().await.ok().is_some_and(|v| v["value"]["ready"] == true),
                Err(_) => false,
            };
            if ready {
                break driver;
            }
            assert!(Instant::now() < deadline, "chromedriver's /status never said ready; {}", driver.log());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// chromedriver on `--port=0`, its output (a fresh log) in `dir`.
    fn spawn(dir: &Path) -> Child {
        let out = File::create(dir.join("chromedriver.log")).expect("chromedriver log");
        Command::new(CHROMEDRIVER)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log handle"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("{CHROMEDRIVER} does not start: {e}; {INSTALL_HINT}"))
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// chromedriver's output so far, for failure messages.
    fn log(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default();
        format!("chromedriver said:\n{text}")
    }

    /// `DELETE /session/{id}` over a plain socket: chromedriver quits Chromium and reaps it.
    fn delete_session(&self, session: &str) {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else { return };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let request = format!(
            "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        if stream.write_all(request.as_bytes()).is_err() {
            return;
        }
        // chromedriver answers once Chromium has quit; it keeps the connection open regardless of
        // `Connection: close`, so read the head and a `Content-Length` body rather than to EOF.
        let mut response = Vec::new();
        let mut chunk = [0_u8; 1024];
        while let Ok(n @ 1..) = stream.read(&mut chunk) {
            response.extend_from_slice(&chunk[..n]);
            if response_complete(&response) {
                break;
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `response` holds an HTTP head and all the body its `Content-Length` announces.
fn response_complete(response: &[u8]) -> bool {
    let Some(head_end) = response.windows(4).position(|w| w == b"\r\n\r\n") else { return false };
    let head = String::from_utf8_lossy(&response[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    response.len() >= head_end + 4 + length
}

/// The port in chromedriver's "ChromeDriver was started successfully on port 45707." line.
fn announced_port(log: &str) -> Option<u16> {
    let line = log.lines().find(|line| line.contains("started successfully on port "))?;
    line.rsplit("on port ").next()?.trim_end_matches('.').trim().parse().ok()
}

#[tokio::test]
async fn the_health_page_shows_ok_in_a_real_browser_at_laptop_and_phone_width() {
    let app = spawn_app().await;
    let Some(browser) = Browser::start().await else { return };

    browser.goto(&app.url("/_momo/health")).await.unwrap();
    let shown: Value = serde_json::from_str(&browser.text("pre").await).expect("the page shows JSON");
    assert_eq!(shown["status"], "ok", "{shown}");
    assert_eq!(shown["database"], crate::ENGINE.name(), "{shown}");
    assert!(!browser.scrolls_horizontally().await, "the health page fits 1280 px");
    let laptop = browser.screenshot("health-laptop").await;

    browser.set_viewport(Viewport::PHONE).await;
    let phone = browser.screenshot("health-phone").await;
    assert!(std::fs::metadata(laptop).unwrap().len() > 0 && std::fs::metadata(phone).unwrap().len() > 0);

    browser.close().await;
    app.stop().await;
}

/// Type `token` into the console's sign-in form and submit it with the keyboard (Enter).
async fn submit_sign_in(browser: &Browser, token: &str) {
    let field = browser.find(Locator::Css("#token")).await.expect("the sign-in form has a token field");
    field.send_keys(&format!("{token}\u{E007}")).await.expect("type and press Enter");
}

/// Wait (a few seconds at most) until the page that a submitted form led to shows `css`.
pub(crate) async fn wait_for(browser: &Browser, css: &str) {
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css:?} never appeared: {e}"));
}

/// The names of the cookies the browser holds for the server.
async fn cookie_names(browser: &Browser) -> Vec<String> {
    browser.get_all_cookies().await.unwrap().iter().map(|c| c.name().to_owned()).collect()
}

/// Issue 10's first flow: a wrong token is refused and leaves no session; the right one opens
/// the overview; signing out ends the session, and the overview is closed to the old cookie.
#[tokio::test]
async fn signing_in_and_out_of_the_console_in_a_real_browser() {
    let app = spawn_app().await;
    let Some(browser) = Browser::start().await else { return };

    // A browser at the root lands on the sign-in page.
    browser.goto(&app.url("/")).await.unwrap();
    assert!(browser.current_url().await.unwrap().path().ends_with("/_momo/console/sign-in"));
    assert_eq!(browser.text("h1").await, "Sign in");
    browser.screenshot("sign-in-1280").await;

    submit_sign_in(&browser, "not-the-operator-token").await;
    wait_for(&browser, "[role=alert]").await;
    assert_eq!(browser.text("[role=alert]").await, "That is not an operator token of this server.");
    assert!(!cookie_names(&browser).await.contains(&"momo_console".to_owned()), "no session cookie");

    submit_sign_in(&browser, crate::helpers::ADMIN_TOKEN).await;
    wait_for(&browser, ".settings").await;
    assert_eq!(browser.text("h1").await, "Overview");
    assert!(cookie_names(&browser).await.contains(&"momo_console".to_owned()));
    let settings = browser.text(".settings").await;
    assert!(settings.contains(crate::ENGINE.name()) && settings.contains(&app.base), "{settings}");
    let page = browser.source().await.unwrap();
    assert!(!page.contains(crate::helpers::ADMIN_TOKEN), "the token is never rendered");
    browser.fits_laptop_and_phone("overview").await;

    browser.find(Locator::Css(".sign-out button")).await.unwrap().click().await.unwrap();
    wait_for(&browser, "#token").await;
    assert_eq!(browser.text("h1").await, "Sign in");
    assert!(!cookie_names(&browser).await.contains(&"momo_console".to_owned()), "the cookie is gone");
    browser.goto(&app.url("/_momo/console/")).await.unwrap();
    assert_eq!(browser.text("h1").await, "Sign in", "the overview needs a new sign-in");

    browser.close().await;
    app.stop().await;
}

/// Sign in through the form (the session cookie is then the browser's).
pub(crate) async fn signed_in(browser: &Browser, app: &crate::helpers::TestApp) {
    browser.goto(&app.url("/_momo/console/sign-in")).await.unwrap();
    submit_sign_in(browser, crate::helpers::ADMIN_TOKEN).await;
    wait_for(browser, ".settings").await;
}

/// The developer portal's flow: a key added in the console is shown once; reloading that page
/// shows it no more and makes no second key; the keys page fits a phone.
#[tokio::test]
async fn a_new_subscription_key_is_shown_once_in_a_real_browser() {
    let app = spawn_app().await;
    let Some(browser) = Browser::start().await else { return };
    signed_in(&browser, &app).await;
    browser.find(Locator::LinkText("Subscription keys")).await.unwrap().click().await.unwrap();
    wait_for(&browser, "#add-title").await;
    browser.find(Locator::Css("input[name=collection]")).await.unwrap().click().await.unwrap();
    browser.find(Locator::Css("#add-title + form button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_for(&browser, "#new-key").await;
    let key = browser.find(Locator::Css("#new-key")).await.unwrap().prop("value").await.unwrap().unwrap();
    assert_eq!(key.len(), 32, "{key}");
    // The script (the CSP lets this origin's run) adds a copy button next to the value.
    let copy = browser.find(Locator::Css("#new-key + button.copy")).await.expect("a copy button");
    assert_eq!(copy.text().await.unwrap(), "Copy");
    browser.screenshot("new-key-1280").await;

    browser.refresh().await.unwrap();
    let page = browser.source().await.unwrap();
    assert!(!page.contains(&key), "the key is not shown again after a reload");
    let keys: Vec<Value> = app.admin(reqwest::Method::GET, "/subscription-keys", None).await.json().await.unwrap();
    assert_eq!(keys.iter().filter(|k| k["label"] == "added").count(), 1, "the reload made no second key");

    browser.goto(&app.url("/_momo/console/keys")).await.unwrap();
    assert!(browser.source().await.unwrap().contains(&format!("{}…", &key[..4])), "listed by its hint");
    browser.screenshot("keys-1280").await;
    browser.set_viewport(Viewport::PHONE).await;
    assert!(!browser.scrolls_horizontally().await, "the keys page fits a 390-px phone");
    browser.screenshot("keys-390").await;
    browser.close().await;
    app.stop().await;
}

/// Issue 10's second flow: a production-like user made in the console gets its key shown once;
/// the key works for `POST /collection/token/`; a reload shows it no more (and makes no second
/// user); revoking it (after a confirmation) refuses its token at once.
#[tokio::test]
async fn a_production_like_user_made_in_a_real_browser_works_until_revoked() {
    let app = spawn_app().await;
    let Some(browser) = Browser::start().await else { return };
    signed_in(&browser, &app).await;
    browser.find(Locator::LinkText("API users")).await.unwrap().click().await.unwrap();
    wait_for(&browser, "#create-title").await;
    browser.find(Locator::Css("#environment option[value=mtnuganda]")).await.unwrap().click().await.unwrap();
    browser.find(Locator::Css("#callback_host")).await.unwrap().send_keys("shop.example.com").await.unwrap();
    browser.find(Locator::Css("#create-title + form button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_for(&browser, "#api-key").await;
    let value = |css: &'static str| {
        let browser = &browser;
        async move { browser.find(Locator::Css(css)).await.unwrap().prop("value").await.unwrap().unwrap() }
    };
    let (user, key) = (value("#api-user").await, value("#api-key").await);
    browser.screenshot("new-user-1280").await;

    let token = app.token("collection", &user, &key).await;
    assert_eq!(token.status(), reqwest::StatusCode::OK, "the shown key works at once");
    let token: Value = token.json().await.unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.balance("collection", &token, "mtnuganda").await.status(), reqwest::StatusCode::OK);

    browser.refresh().await.unwrap();
    assert!(!browser.source().await.unwrap().contains(&key), "the key is not shown again after a reload");
    let users: Vec<Value> = app.admin(reqwest::Method::GET, "/users", None).await.json().await.unwrap();
    assert_eq!(users.iter().filter(|u| u["environment"] == "mtnuganda").count(), 1, "no second user");

    browser.goto(&app.url("/_momo/console/users")).await.unwrap();
    browser.screenshot("users-1280").await;
    browser.find(Locator::Css(&format!("a[aria-label='Revoke {user}']"))).await.unwrap().click().await.unwrap();
    wait_for(&browser, "#revoke-title").await;
    browser.find(Locator::Css("#revoke-title ~ form button")).await.unwrap().click().await.unwrap();
    wait_for(&browser, "#users-title").await;
    assert_eq!(
        app.balance("collection", &token, "mtnuganda").await.status(),
        reqwest::StatusCode::UNAUTHORIZED,
        "the revoked user's token is refused at once"
    );
    browser.set_viewport(Viewport::PHONE).await;
    assert!(!browser.scrolls_horizontally().await, "the users page fits a 390-px phone");
    browser.screenshot("users-390").await;
    browser.close().await;
    app.stop().await;
}

/// Issue 10's fault flow: a rule added in the console makes the next `POST /v1_0/apiuser` answer
/// 500; removing it restores 201.
#[tokio::test]
async fn a_fault_rule_added_in_a_real_browser_fails_the_api_until_removed() {
    let app = spawn_app().await;
    let Some(browser) = Browser::start().await else { return };
    signed_in(&browser, &app).await;
    browser.find(Locator::LinkText("Faults")).await.unwrap().click().await.unwrap();
    wait_for(&browser, "#add-rule-title").await;
    browser.find(Locator::Css("#method option[value=POST]")).await.unwrap().click().await.unwrap();
    browser.find(Locator::Css("#path")).await.unwrap().send_keys("/v1_0/apiuser").await.unwrap();
    browser.find(Locator::Css("#status")).await.unwrap().send_keys("500").await.unwrap();
    browser.find(Locator::Css("#add-rule-title + form button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_for(&browser, "td.actions button.danger").await;
    assert!(browser.text("#rules-title + div").await.contains("/v1_0/apiuser"));
    browser.screenshot("faults-1280").await;

    let id = uuid::Uuid::new_v4().to_string();
    assert_eq!(app.create_api_user(&id, "webhook.site").await.status(), reqwest::StatusCode::INTERNAL_SERVER_ERROR);

    browser.find(Locator::Css("td.actions button.danger")).await.unwrap().click().await.unwrap();
    // Not an element the page with the rule has too: wait for the page after the removal.
    wait_for(&browser, "#rules-title + p").await;
    assert!(browser.text("#rules-title + p").await.starts_with("None"), "no rule left");
    assert_eq!(app.create_api_user(&id, "webhook.site").await.status(), reqwest::StatusCode::CREATED);
    browser.set_viewport(Viewport::PHONE).await;
    assert!(!browser.scrolls_horizontally().await, "the faults page fits a 390-px phone");
    browser.close().await;
    app.stop().await;
}

/// The callbacks page as a person sees it: a failed delivery stands out, at laptop and phone width.
#[tokio::test]
async fn a_failed_callback_stands_out_on_the_callbacks_page_in_a_real_browser() {
    let app = crate::helpers::spawn_with(|s| {
        s.pending_delay = Duration::ZERO;
        s.callback_retry = momo_server::config::CallbackRetry::Once;
    })
    .await;
    let (_, token) = crate::helpers::payer_ready(&app).await;
    let body = crate::helpers::rtp_body("56733123453", "5");
    let id = crate::helpers::new_id();
    let callback = Some("http://127.0.0.1:9/cb");
    assert_eq!(
        app.create("collection", "/v1_0/requesttopay", &token, "sandbox", &id, callback, &body).await.status(),
        202
    );
    let Some(browser) = Browser::start().await else { return };
    signed_in(&browser, &app).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        browser.goto(&app.url("/_momo/console/callbacks")).await.unwrap();
        if browser.find(Locator::Css(".badge.failed")).await.is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "the callback never failed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(browser.text(".error[role=status]").await.contains("failed"));
    // Times in the browser's zone, with the UTC value kept for hovering.
    let created = browser.find(Locator::Css("td[data-label=Created] time")).await.unwrap();
    assert_eq!(created.attr("data-local").await.unwrap().as_deref(), Some("true"), "the script ran");
    assert!(created.attr("title").await.unwrap().is_some_and(|utc| utc.ends_with('Z')));
    assert!(!created.text().await.unwrap().ends_with("UTC"), "shown in the browser's zone");
    browser.screenshot("callbacks-1280").await;
    browser.set_viewport(Viewport::PHONE).await;
    assert!(!browser.scrolls_horizontally().await, "the callbacks page fits a 390-px phone");
    browser.screenshot("callbacks-390").await;
    browser.close().await;
    app.stop().await;
}
