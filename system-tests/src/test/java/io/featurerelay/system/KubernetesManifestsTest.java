package io.featurerelay.system;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.openshift.api.model.monitoring.v1.PodMonitor;
import io.fabric8.openshift.api.model.monitoring.v1.PrometheusRule;
import io.strimzi.api.kafka.model.kafka.Kafka;
import io.strimzi.api.kafka.model.nodepool.KafkaNodePool;
import io.strimzi.api.kafka.model.topic.KafkaTopic;
import io.strimzi.api.kafka.model.user.KafkaUser;
import io.strimzi.api.kafka.model.user.KafkaUserAuthorizationSimple;
import io.strimzi.api.kafka.model.user.acl.AclRuleTopicResource;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every manifest, rendered by kustomize, parses into typed objects and agrees with the services' own
 * configuration: images, ports, probe paths, environment names, referenced ConfigMaps, Secrets and volumes,
 * topic names.
 */
class KubernetesManifestsTest {

    /** The ConfigMap made from deploy/k8s/base/native-runtime.env. */
    private static final String NATIVE_RUNTIME = "feature-relay-native-runtime";
    static final Map<String, String> CONFIG_PREFIX = Map.of("trainer-service", "TRAINER_", "transfer-service",
            "TRANSFER_", "dashboard", "DASHBOARD_");

    static <T> List<T> of(List<HasMetadata> objects, Class<T> type) {
        return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    static Properties applicationProperties(String module) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(Manifests.REPO.resolve(module)
                .resolve("src/main/resources/application.properties"))) {
            p.load(r);
        }
        return p;
    }

    /** MicroProfile Config's environment form of a property name: upper case, anything else than [A-Z0-9] is _. */
    static String envForm(String property) {
        String key = property.startsWith("%") ? property.substring(property.indexOf('.') + 1) : property;
        return key.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]", "_");
    }

    /** Accessor names of the module's @ConfigMapping interfaces, in environment form (e.g. PROMETHEUS_URL). */
    static Set<String> mappingAccessors(String module) throws IOException {
        Set<String> names = new HashSet<>();
        try (Stream<Path> files = Files.walk(Manifests.REPO.resolve(module).resolve("src/main/java"))) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith("Config.java")).toList()) {
                for (String line : Files.readAllLines(f)) {
                    String t = line.trim();
                    if (t.matches("[\\w<>.,? ]+ \\w+\\(\\);")) {
                        String method = t.substring(t.lastIndexOf(' ') + 1, t.indexOf('('));
                        names.add(method.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toUpperCase(Locale.ROOT));
                    }
                }
            }
        }
        return names;
    }

    @ParameterizedTest
    @ValueSource(strings = {"base", "overlays/single-node", "overlays/kafka-sasl-ssl"})
    void manifestsAgreeWithTheServices(String variant) throws Exception {
        List<HasMetadata> objects = Manifests.render(variant);

        assertThat(objects).allSatisfy(o -> assertThat(o.getClass().getName())
                .as(o.getKind() + " " + o.getMetadata().getName()).doesNotContain("Generic"));
        Map<String, ConfigMap> configMaps = of(objects, ConfigMap.class).stream()
                .collect(Collectors.toMap(c -> c.getMetadata().getName(), c -> c));
        Map<String, Secret> secrets = of(objects, Secret.class).stream()
                .collect(Collectors.toMap(s -> s.getMetadata().getName(), s -> s));
        Set<String> claims = of(objects, PersistentVolumeClaim.class).stream().map(c -> c.getMetadata().getName())
                .collect(Collectors.toSet());
        Map<String, Service> services = of(objects, Service.class).stream()
                .collect(Collectors.toMap(s -> s.getMetadata().getName(), s -> s));

        Set<String> users = of(objects, KafkaUser.class).stream().map(u -> u.getMetadata().getName())
                .collect(Collectors.toSet());
        List<Deployment> deployments = of(objects, Deployment.class);
        assertThat(deployments).extracting(d -> d.getMetadata().getName())
                .containsExactlyInAnyOrder("trainer-service", "transfer-service", "dashboard");
        for (Deployment d : deployments) {
            String module = d.getMetadata().getName();
            Properties props = applicationProperties(module);
            int port = Integer.parseInt(props.getProperty("quarkus.http.port"));
            Container c = d.getSpec().getTemplate().getSpec().getContainers().get(0);

            assertThat(c.getImage()).isEqualTo("feature-relay/" + module + ":0.1.0");
            assertThat(Files.readString(Manifests.REPO.resolve(module).resolve("src/main/docker/Dockerfile.jvm")))
                    .contains("-t feature-relay/" + module + ":0.1.0").contains("EXPOSE " + port);
            assertThat(c.getPorts().get(0).getContainerPort()).isEqualTo(port);
            assertThat(c.getStartupProbe().getHttpGet().getPath()).isEqualTo("/q/health/started");
            assertThat(c.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/q/health/live");
            assertThat(c.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/q/health/ready");
            assertThat(c.getResources().getLimits()).containsKey("memory");
            assertThat(c.getResources().getRequests()).containsKeys("cpu", "memory");
            assertThat(d.getSpec().getTemplate().getMetadata().getAnnotations())
                    .containsEntry("prometheus.io/path", "/q/metrics").containsEntry("prometheus.io/port", "" + port);
            Service service = services.get(module);
            assertThat(service).as("Service " + module).isNotNull();
            assertThat(service.getSpec().getPorts().get(0).getPort()).isEqualTo(port);
            assertThat(service.getSpec().getSelector()).isEqualTo(d.getSpec().getSelector().getMatchLabels());

            // every environment name is one the service reads
            Set<String> known = props.stringPropertyNames().stream().map(KubernetesManifestsTest::envForm)
                    .collect(Collectors.toSet());
            Set<String> accessors = mappingAccessors(module);
            if (!module.equals("dashboard")) {
                // glibc's and libgomp's settings: the run command's, the benchmark's and the image's
                assertThat(c.getEnvFrom()).extracting(source -> source.getConfigMapRef().getName())
                        .contains(NATIVE_RUNTIME);
                assertThat(configMaps.get(NATIVE_RUNTIME).getData()).isEqualTo(NativeRuntime.settings());
                String dockerfile = Files.readString(Manifests.REPO.resolve(module).resolve(
                        "src/main/docker/Dockerfile.jvm"));
                // whole words: an ENV line ends with the value, or with " \" before the next one
                NativeRuntime.settings().forEach((name, value) -> assertThat(dockerfile)
                        .containsPattern("(?m)^\\s*" + Pattern.quote(name + "=" + value) + "( \\\\)?$"));
            }
            c.getEnvFrom().forEach(source -> {
                String name = source.getConfigMapRef().getName();
                assertThat(configMaps).as("ConfigMap " + name).containsKey(name);
                if (name.equals(NATIVE_RUNTIME)) {
                    return; // read by glibc and libgomp, not by the service
                }
                configMaps.get(name).getData().keySet().forEach(env -> {
                    if (env.startsWith("KAFKA_") && !known.contains(env)) {
                        assertKafkaClientProperty(env);
                    } else {
                        assertKnownEnv(module, env, known, accessors);
                    }
                });
            });
            for (EnvVar env : c.getEnv()) {
                if (env.getName().startsWith("KAFKA_") && !module.equals("dashboard")) {
                    assertKafkaClientProperty(env.getName());
                } else if (!env.getName().equals("JAVA_OPTS")) {
                    assertKnownEnv(module, env.getName(), known, accessors);
                } else {
                    assertThat(env.getValue()).contains("-Xmx");
                    if (!module.equals("dashboard")) {
                        assertThat(env.getValue()).contains("org.bytedeco.javacpp.maxbytes")
                                .contains("org.bytedeco.javacpp.maxphysicalbytes");
                        // one set of settings (the benchmark's): the image and the run command use the same
                        assertThat(Files.readString(Manifests.REPO.resolve(module).resolve(
                                "src/main/docker/Dockerfile.jvm"))).contains("JAVA_OPTS=\"" + env.getValue() + "\"");
                        assertThat(Files.readString(Manifests.REPO.resolve("deploy/local/run.sh")))
                                .contains("ml=(" + env.getValue() + ")");
                    }
                }
                if (env.getValueFrom() != null && env.getValueFrom().getSecretKeyRef() != null) {
                    var ref = env.getValueFrom().getSecretKeyRef();
                    if (users.contains(ref.getName())) {
                        // written by Strimzi's User Operator for the KafkaUser of that name
                        assertThat(ref.getKey()).isIn("sasl.jaas.config", "password");
                    } else {
                        assertThat(secrets).as("Secret " + ref.getName()).containsKey(ref.getName());
                        assertThat(secrets.get(ref.getName()).getStringData()).containsKey(ref.getKey());
                    }
                }
            }
            // every volume's claim exists (or it is a Secret, such as Kafka's CA certificate), and every mount
            // names a volume
            Set<String> volumes = new HashSet<>();
            for (Volume v : d.getSpec().getTemplate().getSpec().getVolumes()) {
                volumes.add(v.getName());
                if (v.getSecret() != null) {
                    assertThat(v.getSecret().getSecretName()).as("volume " + v.getName()).isNotBlank();
                    continue;
                }
                assertThat(claims).as("PVC " + v.getPersistentVolumeClaim().getClaimName())
                        .contains(v.getPersistentVolumeClaim().getClaimName());
            }
            c.getVolumeMounts().forEach(m -> assertThat(volumes).contains(m.getName()));
        }

        // Kafka: KRaft with node pools, topics for every channel the services declare
        assertThat(of(objects, Kafka.class)).singleElement().satisfies(k -> {
            assertThat(k.getMetadata().getAnnotations()).containsEntry("strimzi.io/kraft", "enabled")
                    .containsEntry("strimzi.io/node-pools", "enabled");
            assertThat(k.getSpec().getKafka().getConfig()).containsEntry("message.max.bytes", 10485760);
        });
        assertThat(of(objects, KafkaNodePool.class)).singleElement()
                .satisfies(pool -> assertThat(pool.getSpec().getRoles()).hasSize(2));
        Set<String> channels = new HashSet<>();
        for (String module : List.of("trainer-service", "transfer-service")) {
            Properties props = applicationProperties(module);
            props.stringPropertyNames().stream().filter(k -> k.startsWith("mp.messaging."))
                    .forEach(k -> {
                        channels.add(k.split("\\.")[3]);
                        if (k.endsWith(".dead-letter-queue.topic")) {
                            channels.add(props.getProperty(k));
                        }
                    });
        }
        List<KafkaTopic> topics = of(objects, KafkaTopic.class);
        assertThat(topics).extracting(t -> t.getMetadata().getName()).containsExactlyInAnyOrderElementsOf(channels);
        topics.stream().filter(t -> t.getMetadata().getName().startsWith("feature-weights"))
                .forEach(t -> assertThat(t.getSpec().getConfig()).containsEntry("max.message.bytes", 10485760));

        // with Kafka users (the SASL_SSL overlay): every listener authenticates, ACLs name existing topics, and
        // every service that talks to Kafka is a user
        if (!users.isEmpty()) {
            Kafka kafka = of(objects, Kafka.class).get(0);
            assertThat(kafka.getSpec().getKafka().getListeners()).allSatisfy(l -> {
                assertThat(l.isTls()).isTrue();
                assertThat(l.getAuth()).isNotNull();
            });
            assertThat(kafka.getSpec().getKafka().getAuthorization()).isNotNull();
            assertThat(users).containsExactlyInAnyOrder("trainer-service", "transfer-service");
            Set<String> topicNames = topics.stream().map(t -> t.getMetadata().getName()).collect(Collectors.toSet());
            of(objects, KafkaUser.class).forEach(u -> {
                var acls = ((KafkaUserAuthorizationSimple) u.getSpec().getAuthorization()).getAcls();
                assertThat(acls).isNotEmpty();
                acls.stream().filter(a -> a.getResource() instanceof AclRuleTopicResource).forEach(a ->
                        assertThat(topicNames).contains(((AclRuleTopicResource) a.getResource()).getName()));
            });
        }

        assertThat(of(objects, PodMonitor.class)).singleElement().satisfies(m -> assertThat(
                m.getSpec().getPodMetricsEndpoints().get(0).getPath()).isEqualTo("/q/metrics"));
        assertThat(of(objects, PrometheusRule.class)).singleElement()
                .satisfies(r -> assertThat(r.getSpec().getGroups().get(0).getRules()).hasSizeGreaterThanOrEqualTo(3));
        assertThat(configMaps.get("feature-relay-grafana-dashboard").getMetadata().getLabels())
                .containsEntry("grafana_dashboard", "1");
    }

    /**
     * A KAFKA_* variable reaches every Kafka client of the service as a property (Quarkus lower-cases it and
     * reads _ as .): it must name a real client setting, or the client would warn and ignore it.
     */
    private static void assertKafkaClientProperty(String env) {
        String property = env.substring("KAFKA_".length()).toLowerCase(Locale.ROOT).replace('_', '.');
        Set<String> known = new HashSet<>(ConsumerConfig.configNames());
        known.addAll(ProducerConfig.configNames());
        assertThat(known).as(env + " is no Kafka client property").contains(property);
    }

    private static void assertKnownEnv(String module, String env, Set<String> known, Set<String> accessors) {
        boolean fromProperties = known.contains(env);
        String prefix = CONFIG_PREFIX.get(module);
        boolean fromMapping = env.startsWith(prefix) && accessors.stream().anyMatch(env::endsWith);
        try {
            // settings both services read from service-common (featurerelay.*)
            fromMapping |= env.startsWith("FEATURERELAY_") && !module.equals("dashboard")
                    && mappingAccessors("service-common").stream().anyMatch(env::endsWith);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        assertThat(fromProperties || fromMapping).as(module + " reads no property named by " + env).isTrue();
    }
}
