package io.featurerelay.postgres;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.util.Map;

/**
 * Starts a real PostgreSQL on a free port for a {@code @QuarkusTest}, with one database and one login role that may
 * create its own schema there, and points the Quarkus datasource at it; stops it and deletes its data afterwards,
 * whatever the tests' outcome. Init args: {@value #DATABASE} (default {@value #DEFAULT_DATABASE}) and
 * {@value #ROLE} (default {@value #DEFAULT_ROLE}); a service passes its own role, e.g. {@code trainer}, whose
 * name PostgreSQL's default search_path ("$user", public) puts first.
 */
public class PostgresTestResource implements QuarkusTestResourceLifecycleManager {

    public static final String DATABASE = "database";
    public static final String ROLE = "role";
    public static final String DEFAULT_DATABASE = "featurerelay";
    public static final String DEFAULT_ROLE = "app";

    private String database = DEFAULT_DATABASE;
    private String role = DEFAULT_ROLE;
    private PostgresProcess postgres;

    @Override
    public void init(Map<String, String> initArgs) {
        database = PostgresProcess.identifier(initArgs.getOrDefault(DATABASE, DEFAULT_DATABASE), "database");
        role = PostgresProcess.identifier(initArgs.getOrDefault(ROLE, DEFAULT_ROLE), "role");
    }

    @Override
    public Map<String, String> start() {
        postgres = PostgresProcess.onFreePort();
        try {
            postgres.start();
            String password = PasswordFiles.generate();
            postgres.createRole(role, password);
            postgres.ensureServiceDatabase(database, role);
            return Map.of("quarkus.datasource.jdbc.url", postgres.jdbcUrl(database),
                    "quarkus.datasource.username", role,
                    "quarkus.datasource.password", password);
        } catch (RuntimeException e) {
            postgres.close();
            throw e;
        }
    }

    @Override
    public void inject(TestInjector testInjector) {
        testInjector.injectIntoFields(postgres,
                new TestInjector.AnnotatedAndMatchesType(InjectPostgres.class, PostgresProcess.class));
    }

    @Override
    public void stop() {
        if (postgres != null) {
            postgres.close();
        }
    }
}
