package io.featurerelay.system;

import io.featurerelay.postgres.PostgresProcess;
import java.util.UUID;

/**
 * The PostgreSQL the services of one test share, as the run command sets it up: one database, one role per
 * service (each creates and owns its schema). Stopped and deleted by {@link #close()}.
 */
final class SystemDatabase implements AutoCloseable {

    static final String DATABASE = "featurerelay";

    private final PostgresProcess postgres = PostgresProcess.onFreePort();
    private final String trainerPassword = UUID.randomUUID().toString();
    private final String transferPassword = UUID.randomUUID().toString();

    SystemDatabase start() {
        postgres.start();
        postgres.createRole("trainer", trainerPassword);
        postgres.createRole("transfer", transferPassword);
        postgres.ensureServiceDatabase(DATABASE, "trainer", "transfer");
        return this;
    }

    PostgresProcess process() {
        return postgres;
    }

    /** Points a service at its role: trainer-service at {@code trainer}, transfer-service at {@code transfer}. */
    ServiceProcess configure(ServiceProcess service, String role) {
        return service.with("quarkus.datasource.jdbc.url", postgres.jdbcUrl(DATABASE))
                .with("quarkus.datasource.username", role)
                .with("quarkus.datasource.password", "trainer".equals(role) ? trainerPassword : transferPassword);
    }

    ServiceProcess trainer(ServiceProcess service) {
        return configure(service, "trainer");
    }

    ServiceProcess transfer(ServiceProcess service) {
        return configure(service, "transfer");
    }

    @Override
    public void close() {
        postgres.close();
    }
}
