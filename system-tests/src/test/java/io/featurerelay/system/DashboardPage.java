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

    /** The data of a Chart.js chart, as the page holds it: {labels, datasets: [{label, data}]} */
    @SuppressWarnings("unchecked")
    Map<String, Object> chart(String canvasId) {
        return (Map<String, Object>) js("const c = Chart.getChart(arguments[0]);"
                + "return c ? {labels: c.data.labels, datasets: c.data.datasets.map(d => ({label: d.label, data: d.data}))}"
                + " : null;", canvasId);
    }

    @SuppressWarnings("unchecked")
    static List<Object> data(Map<String, Object> chart, int dataset) {
        return (List<Object>) ((List<Map<String, Object>>) chart.get("datasets")).get(dataset).get("data");
    }

    String text(String cssSelector) {
        List<WebElement> found = driver.findElements(By.cssSelector(cssSelector));
        return found.isEmpty() ? null : found.get(0).getText();
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
