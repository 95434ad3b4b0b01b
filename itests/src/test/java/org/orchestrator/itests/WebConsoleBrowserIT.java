package org.orchestrator.itests;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.orchestrator.itests.support.Device;
import org.orchestrator.itests.support.Host;
import org.orchestrator.itests.support.Http;
import org.orchestrator.itests.support.WebLab;

/**
 * The "Orchestrator" page of the Felix Web Console in headless Chromium (Selenium, the system's
 * chromedriver; Selenium Manager never runs): log in as the generated admin, watch a real device's
 * instance appear through the page's live polling without a reload, deprovision it with the
 * two-click button and watch the row go. Screenshots of every step land in
 * {@code target/screenshots}.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WebConsoleBrowserIT {

    static final WebLab.Names NAMES = new WebLab.Names("2", "iw-lan", "iw-inst");
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    static final String INSTANCE_ROW = "table#instances tbody tr[data-instance-id]";
    /** Selenium has no CDP bindings for this Chromium; the test uses none, so the warning is noise. */
    static final Logger CDP_LOG = Logger.getLogger("org.openqa.selenium.chromium.ChromiumDriver");
    static final Logger CDP_LOG2 = Logger.getLogger("org.openqa.selenium.devtools.CdpVersionFinder");
    static final Path SCREENSHOTS = Path.of(System.getProperty("itests.work.dir", "target/it-work")).resolveSibling("screenshots");

    static WebLab lab;
    static ChromeDriver browser;
    static ChromeDriverService service;
    static Path profile;
    static Device device;
    static String deviceDuid;
    static String instanceId;

    @BeforeAll
    static void boot() throws Exception {
        // a missing browser is a failure, not a skip: scripts/test-env.sh installs both packages
        assertThat(Files.isExecutable(CHROMIUM)).as("%s missing: install the Debian package chromium (scripts/test-env.sh)", CHROMIUM).isTrue();
        assertThat(Files.isExecutable(CHROMEDRIVER)).as("%s missing: install the Debian package chromium-driver (scripts/test-env.sh)", CHROMEDRIVER).isTrue();
        Files.createDirectories(SCREENSHOTS);
        lab = WebLab.boot("browser", NAMES, Duration.ofSeconds(180));

        CDP_LOG.setLevel(Level.SEVERE);
        CDP_LOG2.setLevel(Level.SEVERE);
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
        profile = Files.createTempDirectory("webconsole-it-chromium-");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--window-size=1400,1600", "--user-data-dir=" + profile);
        service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort()
            .withLogFile(lab.karaf().home().resolve("chromedriver.log").toFile()).build();
        browser = new ChromeDriver(service, options);
        browser.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(30)).scriptTimeout(Duration.ofSeconds(10));
    }

    @AfterAll
    static void shutdown() throws Exception {
        List<ProcessHandle> browserProcesses = ProcessHandle.current().descendants()
            .filter(p -> p.info().command().map(c -> c.contains("chrom")).orElse(false)).toList();
        try {
            if (browser != null) {
                browser.quit();
            }
            if (service != null) {
                service.stop();
            }
        } finally {
            for (ProcessHandle p : browserProcesses) {
                // quit() ends them; this only catches a browser that hung
                if (p.isAlive()) {
                    p.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
                }
            }
            try {
                if (device != null) {
                    device.close();
                }
            } finally {
                if (lab != null) {
                    lab.close();
                }
                if (profile != null) {
                    deleteTree(profile);
                }
            }
        }
        assertThat(browserProcesses).as("chromium/chromedriver processes left").noneMatch(ProcessHandle::isAlive);
        assertThat(WebLab.containers()).as("containers of %s left", WebLab.PROVIDER).isEmpty();
    }

    @Test
    @Order(1)
    void adminLogsInAndSeesTheLivePage() throws Exception {
        int port = lab.karaf().httpPort();
        // Basic credentials in the URL: Chromium answers the console's challenge with them and
        // keeps them for the page's same-origin polls
        browser.get("http://admin:" + lab.adminPassword() + "@127.0.0.1:" + port + "/system/console/orchestrator");
        WebElement root = waitFor(By.id("orchestrator-console"), Duration.ofSeconds(30));
        assertThat(root.getAttribute("data-root")).isEqualTo("/system/console/orchestrator");

        long count = awaitRefreshCountAbove(0, Duration.ofSeconds(20));
        assertThat(count).isPositive();
        assertThat(WebConsoleBrowserIT.<String>stable(d -> d.findElement(By.id("refresh-status")).getAttribute("data-state"))).as(statusText()).isEqualTo("ok");
        assertThat(WebConsoleBrowserIT.<String>stable(d -> d.findElement(By.id("health-badge")).getAttribute("data-up"))).isEqualTo("true");
        assertThat(WebConsoleBrowserIT.<String>stable(d -> d.findElement(By.id("health-badge")).getText())).isEqualTo("UP");
        assertThat(WebConsoleBrowserIT.<List<String>>stable(d -> d.findElements(By.cssSelector("table#components tbody tr[data-available='true']")).stream()
            .map(e -> e.getAttribute("data-component")).toList()))
            .contains("DHCP_SOURCE/" + NAMES.source(), "PROVIDER/" + WebLab.PROVIDER, "NETWORK/" + NAMES.network());
        assertThat(browser.findElements(By.cssSelector(INSTANCE_ROW))).isEmpty();
        assertThat(WebConsoleBrowserIT.<String>stable(d -> d.findElement(By.cssSelector("table#pools tbody")).getText()))
            .as("the lab runs without a warm pool").contains("No warm pool");
        // a marker that a reload would erase: the later steps prove the page redraws in place
        ((JavascriptExecutor) browser).executeScript("window.orchIwMarker = 'no-reload';");
        screenshot("01-logged-in");
    }

    @Test
    @Order(2)
    void aRealDevicesInstanceAppearsWithoutReload() throws Exception {
        long before = refreshCount();
        device = lab.device("d2");
        device.requestLease();
        device.awaitAddress(Duration.ofSeconds(30));
        deviceDuid = device.duid().orElseThrow();

        waitFor(By.cssSelector(INSTANCE_ROW), Duration.ofSeconds(60));
        instanceId = WebConsoleBrowserIT.<String>stable(d -> d.findElement(By.cssSelector(INSTANCE_ROW)).getAttribute("data-instance-id"));
        assertThat(instanceId).isNotBlank();
        assertThat(refreshCount()).as("the row came with a poll").isGreaterThan(before);
        assertThat(((JavascriptExecutor) browser).executeScript("return window.orchIwMarker;")).isEqualTo("no-reload");

        // the client settles to READY and its instance RUNNING, still without reloading
        new WebDriverWait(browser, Duration.ofSeconds(60)).ignoring(StaleElementReferenceException.class).until(d ->
            "RUNNING".equals(d.findElement(By.cssSelector(rowOf(instanceId))).getAttribute("data-state"))
                && "READY".equals(d.findElement(By.cssSelector("table#clients tbody tr[data-duid='" + deviceDuid + "']"))
                    .getAttribute("data-state")));
        // one script reads the row at once: the page redraws its tables on every poll
        Map<String, Object> row2 = rowSnapshot(instanceId);
        assertThat(row2.get("id")).isEqualTo(instanceId);
        assertThat((String) row2.get("address")).startsWith(NAMES.instancePrefixStart());
        assertThat(row2.get("badge")).isEqualTo("RUNNING");
        assertThat(row2.get("button")).isEqualTo("Deprovision");
        assertThat(WebConsoleBrowserIT.<String>stable(d -> d.findElement(By.id("count-instances")).getText())).isEqualTo("1");
        assertThat(WebConsoleBrowserIT.<Integer>stable(d -> d.findElements(By.cssSelector("table#leases tbody tr[data-duid='" + deviceDuid + "']")).size())).isEqualTo(1);
        assertThat(WebConsoleBrowserIT.<String>stable(d -> d.findElement(By.id("count-state-READY")).getText())).isEqualTo("READY 1");
        assertThat(((JavascriptExecutor) browser).executeScript("return window.orchIwMarker;")).isEqualTo("no-reload");
        screenshot("02-instance-ready");
    }

    @Test
    @Order(3)
    void deprovisionNeedsTwoClicksAndTheRowGoes() throws Exception {
        By button = By.cssSelector("button.deprovision[data-instance-id='" + instanceId + "']");
        assertThat(rowSnapshot(instanceId).get("button")).isEqualTo("Deprovision");
        clickWithRetry(button);
        // armed: nothing is sent yet, and a redraw keeps the armed state
        Map<String, Object> armed = rowSnapshot(instanceId);
        assertThat((String) armed.get("buttonClass")).contains("armed");
        assertThat(armed.get("button")).isEqualTo("Confirm deprovision");
        assertThat(WebConsoleBrowserIT.<Boolean>stable(d -> d.findElement(By.id("action-result")).isDisplayed())).isFalse();
        long before = refreshCount();
        clickWithRetry(By.id("refresh-now"));
        awaitRefreshCountAbove(before, Duration.ofSeconds(4));
        assertThat((String) rowSnapshot(instanceId).get("buttonClass")).as("armed after a redraw").contains("armed");
        screenshot("03-deprovision-armed");

        // a lone click disarms itself: after 5 s a redraw shows the plain button again, the instance untouched
        new WebDriverWait(browser, Duration.ofSeconds(20)).until(d -> "Deprovision".equals(rowSnapshot(instanceId).get("button")));
        assertThat(rowSnapshot(instanceId).get("state")).isEqualTo("RUNNING");
        assertThat(WebConsoleBrowserIT.<Boolean>stable(d -> d.findElement(By.id("action-result")).isDisplayed())).isFalse();

        // two clicks in a row deprovision (re-found: a poll may redraw the table between them)
        clickWithRetry(button);
        assertThat((String) rowSnapshot(instanceId).get("buttonClass")).contains("armed");
        clickWithRetry(button);
        new WebDriverWait(browser, Duration.ofSeconds(40)).ignoring(StaleElementReferenceException.class)
            .until(d -> "ok".equals(d.findElement(By.id("action-result")).getAttribute("data-state")));
        assertThat(WebConsoleBrowserIT.<String>stable(d -> d.findElement(By.id("action-result")).getText())).contains(instanceId);

        new WebDriverWait(browser, Duration.ofSeconds(60)).ignoring(StaleElementReferenceException.class)
            .until(d -> d.findElements(By.cssSelector(INSTANCE_ROW)).isEmpty());
        assertThat(WebConsoleBrowserIT.<String>stable(d -> d.findElement(By.cssSelector("table#instances tbody tr.empty")).getText())).isEqualTo("No instances.");
        assertThat(WebConsoleBrowserIT.<String>stable(d -> d.findElement(By.id("count-instances")).getText())).isEqualTo("0");
        new WebDriverWait(browser, Duration.ofSeconds(30)).ignoring(StaleElementReferenceException.class)
            .until(d -> "GONE".equals(d.findElement(By.cssSelector("table#clients tbody tr[data-duid='" + deviceDuid + "']"))
                .getAttribute("data-state")));
        assertThat(((JavascriptExecutor) browser).executeScript("return window.orchIwMarker;")).isEqualTo("no-reload");
        screenshot("04-instance-gone");

        // and the platform agrees: the container is removed
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!WebLab.containers().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(300);
        }
        assertThat(WebLab.containers()).isEmpty();
        assertThat(Host.lines("ip", "-o", "link", "show", "master", NAMES.instanceBridge())).isEmpty();
    }

    @Test
    @Order(4)
    void theConsoleRefusesStrangersAndCrossSiteActions() throws Exception {
        Http console = new Http("http://127.0.0.1:" + lab.karaf().httpPort() + "/system/console/orchestrator/");
        assertThat(console.call("data.json").send().statusCode()).isEqualTo(401);
        assertThat(console.call("data.json").basic("admin", lab.adminPassword() + "x").send().statusCode()).isEqualTo(401);
        // the web console wants the admin role; a viewer is not let in
        assertThat(console.call("data.json").basic(WebLab.VIEWER, lab.viewerPassword()).send().statusCode()).isIn(401, 403);
        HttpResponse<String> data = console.call("data.json").basic("admin", lab.adminPassword()).send();
        assertThat(data.statusCode()).isEqualTo(200);
        assertThat(Http.json(data).path("instances").isArray()).isTrue();
        // a cross-site form can send neither the header nor JSON
        String reconcile = "{\"action\":\"reconcile\"}";
        assertThat(console.call("action").basic("admin", lab.adminPassword()).json("POST", reconcile).send().statusCode())
            .isEqualTo(403);
        assertThat(console.call("action").basic("admin", lab.adminPassword()).header("X-Requested-By", "orchestrator-console")
            .header("Content-Type", "application/x-www-form-urlencoded").method("POST").send().statusCode()).isEqualTo(415);
        HttpResponse<String> ok = console.call("action").basic("admin", lab.adminPassword())
            .header("X-Requested-By", "orchestrator-console").json("POST", reconcile).send();
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
    }

    // ------------------------------------------------------------------ helpers

    static String rowOf(String id) {
        return "table#instances tbody tr[data-instance-id='" + id + "']";
    }

    /** The instance row's cells and button, read by one script so that no poll redraws in between. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> rowSnapshot(String id) {
        Object r = ((JavascriptExecutor) browser).executeScript(
            "var tr = document.querySelector(arguments[0]);"
            + "if (!tr) { return null; }"
            + "var b = tr.querySelector('button.deprovision');"
            + "return {id: tr.querySelector('.instance-id').textContent, state: tr.getAttribute('data-state'),"
            + " address: tr.querySelector('.instance-address').textContent,"
            + " badge: tr.querySelector('.badge.state-' + tr.getAttribute('data-state')).textContent,"
            + " button: b.textContent, buttonClass: b.className};", rowOf(id));
        assertThat(r).as("row of instance %s", id).isNotNull();
        return (Map<String, Object>) r;
    }

    /** Reads from the page, again when a poll's redraw replaced the element meanwhile. */
    static <T> T stable(Function<WebDriver, T> read) {
        for (int attempt = 0; ; attempt++) {
            try {
                return read.apply(browser);
            } catch (StaleElementReferenceException e) {
                if (attempt >= 5) {
                    throw e;
                }
            }
        }
    }

    static WebElement waitFor(By by, Duration timeout) {
        return new WebDriverWait(browser, timeout).ignoring(StaleElementReferenceException.class)
            .withMessage(() -> "waiting for " + by + "; refresh status: " + statusText())
            .until(d -> {
                List<WebElement> found = d.findElements(by);
                return found.isEmpty() ? null : found.get(0);
            });
    }

    static long refreshCount() {
        String v = browser.findElement(By.id("refresh-status")).getAttribute("data-refresh-count");
        return v == null ? 0 : Long.parseLong(v);
    }

    static long awaitRefreshCountAbove(long n, Duration timeout) {
        return new WebDriverWait(browser, timeout).ignoring(StaleElementReferenceException.class)
            .withMessage(() -> "no successful poll; refresh status: " + statusText())
            .until(d -> {
                long c = refreshCount();
                return c > n ? c : null;
            });
    }

    static String statusText() {
        try {
            WebElement s = browser.findElement(By.id("refresh-status"));
            return s.getAttribute("data-state") + " / " + s.getText();
        } catch (RuntimeException e) {
            return "(no #refresh-status: " + e.getMessage() + ")";
        }
    }

    static void clickWithRetry(By by) {
        for (int attempt = 0; ; attempt++) {
            try {
                browser.findElement(by).click();
                return;
            } catch (StaleElementReferenceException e) {
                if (attempt >= 3) {
                    throw e;
                }
            }
        }
    }

    static void screenshot(String name) throws Exception {
        File png = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
        Files.copy(png.toPath(), SCREENSHOTS.resolve(name + ".png"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.deleteIfExists(png.toPath());
    }

    static void deleteTree(Path root) throws Exception {
        try (var s = Files.walk(root)) {
            s.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> p.toFile().delete());
        }
    }
}
