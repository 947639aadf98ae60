package io.featurerelay.system;

import static io.featurerelay.system.PipelineIT.KEY;
import static io.featurerelay.system.PipelineIT.SAMPLE;
import static io.featurerelay.system.PipelineIT.awaitState;
import static io.featurerelay.system.PipelineIT.json;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.featurerelay.broker.KafkaBrokerProcess;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The database's disk full, for real: the services' database lives in a tablespace on a small tmpfs (the write-ahead
 * log stays on the ordinary disk, as a production server keeps it apart, so PostgreSQL refuses a write instead of
 * stopping), filled with a file to within 2 MiB. A training and a transfer then fail, while the disk is still full,
 * with a reason that names it (each service gives up its disk reserve to record that), leave no artifact, large
 * object or outbox record behind, and once the file is deleted the next training and its transfer succeed without
 * a restart of anything.
 */
class DiskFullIT {

    private static final Duration JOB = Duration.ofMinutes(4);
    private static final String SHORT_TRAINING =
            "{\"epochs\":1,\"batchSize\":32,\"optimizer\":\"adam\",\"classes\":[0,1],\"seed\":%d}";

    private static String submit(ServiceProcess trainer, int seed) {
        return given().baseUri(trainer.url()).contentType(ContentType.JSON).body(SHORT_TRAINING.formatted(seed))
                .post("/api/v1/trainings").then().statusCode(202).extract().path("id");
    }

    private static String transferOf(ServiceProcess transfer, String base) {
        String filter = "findAll { it.baseModelId == '" + base + "' }.id";
        await().atMost(Duration.ofSeconds(60)).until(() -> !json(transfer.url() + "/api/v1/transfers")
                .getList(filter).isEmpty());
        return json(transfer.url() + "/api/v1/transfers").getList(filter, String.class).get(0);
    }

    private static long count(SystemDatabase database, String sql, String... parameters) throws SQLException {
        try (Connection c = database.process().superuserConnection(SystemDatabase.DATABASE);
                PreparedStatement s = c.prepareStatement(sql)) {
            for (int i = 0; i < parameters.length; i++) {
                s.setString(i + 1, parameters[i]);
            }
            try (ResultSet r = s.executeQuery()) {
                r.next();
                return r.getLong(1);
            }
        }
    }

    /** What a job left in its service's schema: artifact rows and outbox records. */
    private static long leftBy(SystemDatabase database, String schema, String job) throws SQLException {
        return count(database, "SELECT count(*) FROM " + schema + ".artifacts WHERE job_id = ?", job)
                + count(database, "SELECT count(*) FROM " + schema + ".outbox WHERE job_id = ?", job);
    }

    @Test
    void aFullDatabaseDiskFailsJobsByNameLeavesNothingAndPassesWhenSpaceReturns() throws Exception {
        Path work = Files.createTempDirectory(Path.of("target"), "disk-full-");
        try (SmallDisk disk = SmallDisk.mount(128);
                SystemDatabase database = new SystemDatabase().start();
                KafkaBrokerProcess broker = KafkaBrokerProcess.onFreePorts().start();
                ServiceProcess trainer = database.trainer(new ServiceProcess("trainer-service", work))
                        .with("kafka.bootstrap.servers", broker.bootstrapServers())
                        .with("trainer.data-dir", SAMPLE)
                        .with("trainer.signing-key", KEY);
                ServiceProcess transfer = database.transfer(new ServiceProcess("transfer-service", work))
                        .with("kafka.bootstrap.servers", broker.bootstrapServers())
                        .with("transfer.signing-keys", KEY)
                        .with("transfer.targets.default.data-dir", SAMPLE)
                        .with("transfer.targets.default.classes", "5,6")
                        .with("transfer.targets.default.epochs", "1")
                        .with("transfer.targets.default.batch-size", "32")
                        .with("transfer.targets.default.optimizer", "adam")) {
            // the whole service database on the small disk, before any service has connected to it
            disk.ownedBy(Files.getOwner(database.process().dataDir()));
            try (Connection c = database.process().superuserConnection("postgres");
                    Statement s = c.createStatement()) {
                s.execute("CREATE TABLESPACE small_disk LOCATION '" + disk.path() + "'");
                s.execute("ALTER DATABASE " + SystemDatabase.DATABASE + " SET TABLESPACE small_disk");
            }
            ScaleOutIT.startAll(trainer, transfer);

            // with space: a training and its transfer succeed
            String base = submit(trainer, 1);
            assertThat(awaitState(trainer.url() + "/api/v1/trainings/" + base, JOB, "SUCCEEDED", "FAILED")
                    .getString("state")).isEqualTo("SUCCEEDED");
            String firstTransfer = transferOf(transfer, base);
            assertThat(awaitState(transfer.url() + "/api/v1/transfers/" + firstTransfer, JOB, "SUCCEEDED", "FAILED")
                    .getString("state")).isEqualTo("SUCCEEDED");

            // the disk fills up to within 2 MiB: less than one checkpoint or model
            long largeObjects = count(database, "SELECT count(*) FROM pg_largeobject_metadata");
            disk.fill(2L << 20);
            String starved = submit(trainer, 2);
            JsonPath failed = awaitState(trainer.url() + "/api/v1/trainings/" + starved, JOB, "SUCCEEDED", "FAILED");
            assertThat(failed.getString("state")).as(failed.prettify()).isEqualTo("FAILED");
            assertThat(failed.getString("error")).contains("disk is full").contains("No space left on device");
            String rerun = given().baseUri(transfer.url()).contentType(ContentType.JSON)
                    .body("{\"baseModelId\":\"" + base + "\",\"baseline\":false}").post("/api/v1/transfers").then()
                    .statusCode(202).extract().path("id");
            String rerunUrl = transfer.url() + "/api/v1/transfers/" + rerun;
            // the transfer fails at its first large write. The trainer's failed writes took the last space
            // (PostgreSQL keeps it until a vacuum); the failure is recorded all the same, in the room the service's
            // disk reserve gives up for it, while the disk is still full
            JsonPath rerunFailed = awaitState(rerunUrl, JOB, "SUCCEEDED", "FAILED");
            assertThat(rerunFailed.getString("state")).as(rerunFailed.prettify()).isEqualTo("FAILED");
            assertThat(rerunFailed.getString("error")).contains("disk is full").contains("No space left on device");
            // nothing half-written: no artifact row, no outbox record, no orphaned large object
            assertThat(leftBy(database, "trainer", starved)).isZero();
            assertThat(leftBy(database, "transfer", rerun)).isZero();
            assertThat(count(database, "SELECT count(*) FROM pg_largeobject_metadata")).isEqualTo(largeObjects);
            assertThat(trainer.readiness()).isEqualTo(200);

            // space returns
            disk.free();

            // and the next training and its transfer succeed, nothing restarted
            String after = submit(trainer, 3);
            JsonPath recovered = awaitState(trainer.url() + "/api/v1/trainings/" + after, JOB, "SUCCEEDED", "FAILED");
            assertThat(recovered.getString("state")).as(recovered.prettify()).isEqualTo("SUCCEEDED");
            String afterTransfer = transferOf(transfer, after);
            JsonPath transferred = awaitState(transfer.url() + "/api/v1/transfers/" + afterTransfer, JOB, "SUCCEEDED",
                    "FAILED");
            assertThat(transferred.getString("state")).as(transferred.prettify()).isEqualTo("SUCCEEDED");
            // the failed jobs stay failed, with their reasons: one job each, not retried behind our back
            assertThat(json(trainer.url() + "/api/v1/trainings/" + starved).getString("state")).isEqualTo("FAILED");
            assertThat(json(trainer.url() + "/api/v1/trainings").getList("id"))
                    .containsExactlyInAnyOrderElementsOf(List.of(base, starved, after));
        }
    }
}
