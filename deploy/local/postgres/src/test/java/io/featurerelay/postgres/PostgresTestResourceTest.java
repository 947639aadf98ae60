package io.featurerelay.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager.TestInjector;
import java.lang.reflect.Field;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** The resource as Quarkus drives it: init args, the datasource settings it returns, injection, and clean-up. */
class PostgresTestResourceTest {

    /** Stands in for a test class with an injected server. */
    static class ServiceTest {
        @InjectPostgres
        PostgresProcess postgres;
        PostgresProcess notAnnotated;
    }

    @Test
    void pointsTheDatasourceAtAFreshDatabaseWhoseRoleCreatesItsSchemaAndDeletesItAfterwards() throws Exception {
        PostgresTestResource resource = new PostgresTestResource();
        resource.init(Map.of(PostgresTestResource.ROLE, "trainer"));
        Map<String, String> config = resource.start();
        ServiceTest test = new ServiceTest();
        Path dataDir;
        try {
            assertThat(config).containsOnlyKeys("quarkus.datasource.jdbc.url", "quarkus.datasource.username",
                    "quarkus.datasource.password");
            assertThat(config.get("quarkus.datasource.jdbc.url")).matches("jdbc:postgresql://127\\.0\\.0\\.1:\\d+/featurerelay");
            assertThat(config.get("quarkus.datasource.username")).isEqualTo("trainer");
            try (Connection c = DriverManager.getConnection(config.get("quarkus.datasource.jdbc.url"),
                    config.get("quarkus.datasource.username"), config.get("quarkus.datasource.password"));
                    Statement s = c.createStatement()) {
                s.execute("CREATE SCHEMA trainer"); // what the service's Flyway migration does first
            }

            resource.inject(new TestInjector() {
                @Override
                public void injectIntoFields(Object value, Predicate<Field> predicate) {
                    for (Field field : ServiceTest.class.getDeclaredFields()) {
                        if (predicate.test(field)) {
                            try {
                                field.set(test, value);
                            } catch (IllegalAccessException e) {
                                throw new IllegalStateException(e);
                            }
                        }
                    }
                }
            });
            assertThat(test.postgres).isNotNull();
            assertThat(test.notAnnotated).isNull();
            assertThat(test.postgres.isRunning()).isTrue();
            dataDir = test.postgres.dataDir();
        } finally {
            resource.stop();
        }
        assertThat(test.postgres.isRunning()).isFalse();
        assertThat(dataDir).doesNotExist();
    }
}
