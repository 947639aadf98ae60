package io.featurerelay.system;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/** The dashboard in Debian's headless Chromium, driven through Debian's chromedriver. */
final class DashboardPage implements AutoCloseable {

    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    private final WebDriver driver;
    private final String url;

    DashboardPage(String url, Path profileDir) {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            throw new IllegalStateException("the browser test needs Debian's chromium and chromedriver: "
                    + "sudo apt-get install -y chromium chromium-driver (.ci/run installs them)");
        }
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        // flags that keep a headless Chromium off the network this machine does not have
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--window-size=1400,2000", "--user-data-dir=" + profileDir.toAbsolutePath());
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        this.driver = new ChromeDriver(service, options);
        this.url = url;
    }

    DashboardPage open() {
        return openAt(url);
    }

    /** The same browser on another dashboard. */
    DashboardPage openAt(String dashboardUrl) {
        driver.get(dashboardUrl);
        return this;
    }

    /** Waits until the page has rendered with {@code body[data-state]} equal to {@code state}. */
    void awaitState(String state, Duration timeout) {
        new WebDriverWait(driver, timeout).until(d -> state.equals(js("return document.body.dataset.state")));
    }

    Object js(String script, Object... args) {
        return ((JavascriptExecutor) driver).executeScript(script, args);
    }

    /** Waits until the page rendered again after this call (a refresh, or a picked run). */
    void awaitRender(Duration timeout) {
        String before = String.valueOf(js("return document.body.dataset.rendered || ''"));
        new WebDriverWait(driver, timeout).until(d -> {
            Object now = js("return document.body.dataset.rendered || ''");
            return now != null && !now.toString().isEmpty() && !now.toString().equals(before);
        });
    }

    void pickRun(String value) {
        js("const p = document.getElementById('run-picker'); p.value = arguments[0];"
                + "p.dispatchEvent(new Event('change'));", value);
    }

    /** Ticks exactly the given transfer runs in the comparison view, and whether their base models are drawn. */
    void pickComparison(List<String> runs, boolean withBaseModels) {
        js("const runs = arguments[0];"
                + "document.querySelectorAll('#compare-runs input').forEach(i => { i.checked = runs.includes(i.value); });"
                + "const first = document.querySelector('#compare-runs input');"
                + "if (first) first.dispatchEvent(new Event('change'));"
                + "const base = document.getElementById('compare-with-base'); base.checked = arguments[1];"
                + "base.dispatchEvent(new Event('change'));", runs, withBaseModels);
    }

    void pickCurve(String curve) {
        js("const p = document.getElementById('curve-picker'); p.value = arguments[0];"
                + "p.dispatchEvent(new Event('change'));", curve);
    }

    /**
     * The data of a Chart.js chart, as the page holds it: {labels, datasets: [{label, role, run, epochOffset, data}]}
     * (role, run and epochOffset are the page's own tags on each line).
     */
    @SuppressWarnings("unchecked")
    Map<String, Object> chart(String canvasId) {
        return (Map<String, Object>) js("const c = Chart.getChart(arguments[0]);"
                + "return c ? {labels: c.data.labels, datasets: c.data.datasets.map(d => ({label: d.label, role: d.role,"
                + " run: d.run, epochOffset: d.epochOffset, data: d.data}))} : null;", canvasId);
    }

    /**
     * The points of the epoch-aligned line tagged (run, role): epoch (as the model's own history numbers it, i.e.
     * without the line's offset) to plotted accuracy; null when the chart has no such line.
     */
    @SuppressWarnings("unchecked")
    static Map<Integer, Double> epochPoints(Map<String, Object> chart, String run, String role) {
        List<Object> labels = (List<Object>) chart.get("labels");
        for (Map<String, Object> d : (List<Map<String, Object>>) chart.get("datasets")) {
            if (run.equals(d.get("run")) && role.equals(d.get("role"))) {
                int offset = d.get("epochOffset") == null ? 0 : ((Number) d.get("epochOffset")).intValue();
                Map<Integer, Double> points = new java.util.TreeMap<>();
                List<Object> data = (List<Object>) d.get("data");
                for (int i = 0; i < data.size(); i++) {
                    if (data.get(i) != null) {
                        points.put(((Number) labels.get(i)).intValue() - offset, ((Number) data.get(i)).doubleValue());
                    }
                }
                return points;
            }
        }
        return null;
    }

    @SuppressWarnings("unchecked")
    static List<Object> data(Map<String, Object> chart, int dataset) {
        return (List<Object>) ((List<Map<String, Object>>) chart.get("datasets")).get(dataset).get("data");
    }

    String text(String cssSelector) {
        // the page re-renders its tables on every refresh: an element found just before one goes stale, so the
        // lookup is retried on the new one
        for (int attempt = 1; ; attempt++) {
            try {
                List<WebElement> found = driver.findElements(By.cssSelector(cssSelector));
                return found.isEmpty() ? null : found.get(0).getText();
            } catch (org.openqa.selenium.StaleElementReferenceException e) {
                if (attempt == 5) {
                    throw e;
                }
            }
        }
    }

    boolean visible(String id) {
        List<WebElement> found = driver.findElements(By.id(id));
        return !found.isEmpty() && found.get(0).isDisplayed();
    }

    void screenshot(Path file) throws IOException {
        File shot = ((org.openqa.selenium.TakesScreenshot) driver).getScreenshotAs(OutputType.FILE);
        Files.createDirectories(file.getParent());
        Files.copy(shot.toPath(), file, StandardCopyOption.REPLACE_EXISTING);
    }

    @Override
    public void close() {
        driver.quit();
    }
}
