package io.featurerelay.system;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
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
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every manifest, rendered by kustomize, parses into typed objects and agrees with the services' own
 * configuration: images, ports, probe paths, environment names, referenced ConfigMaps, Secrets and volumes,
 * topic names; and both services run as replicas on the CloudNativePG database, scaled by KEDA or an HPA.
 */
class KubernetesManifestsTest {

    /** The ConfigMap made from deploy/k8s/base/native-runtime.env. */
    private static final String NATIVE_RUNTIME = "feature-relay-native-runtime";
    /** API groups of CloudNativePG and KEDA, whose objects parse as GenericKubernetesResource. */
    static final Set<String> GENERIC_GROUPS = Set.of("postgresql.cnpg.io", "keda.sh");
    /**
     * Settings of the scale-out contract with the services: Quarkus' own datasource settings, and the replica id
     * (featurerelay.replica-id) that each pod gets from its name.
     */
    static final Set<String> SCALE_OUT_ENV = Set.of("QUARKUS_DATASOURCE_JDBC_URL", "QUARKUS_DATASOURCE_USERNAME",
            "QUARKUS_DATASOURCE_PASSWORD", "FEATURERELAY_REPLICA_ID");
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

    /**
     * What a cluster gets: the three overlays, and the base with the optional components (its Secrets, the HPA
     * instead of KEDA, backups, monitoring).
     */
    static Stream<String> variants() {
        return Stream.of("overlays/single-node", "overlays/production", "overlays/kafka-sasl-ssl",
                "base+components/secrets+components/hpa+components/scheduled-backup+components/monitoring");
    }

    /** Environment that the native libraries and the image's entry point read, not the service. */
    static final Set<String> RUNTIME_ENV = Set.of("JAVA_OPTS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS");

    /** A Secret's values, from data (what kustomize's secretGenerator writes, base64) or stringData. */
    static Map<String, String> secretData(Secret secret) {
        Map<String, String> values = new java.util.HashMap<>();
        if (secret.getData() != null) {
            secret.getData().forEach((k, v) -> values.put(k, new String(java.util.Base64.getDecoder().decode(v),
                    java.nio.charset.StandardCharsets.UTF_8)));
        }
        if (secret.getStringData() != null) {
            values.putAll(secret.getStringData());
        }
        return values;
    }

    @ParameterizedTest
    @MethodSource("variants")
    void manifestsAgreeWithTheServices(String variant) throws Exception {
        List<HasMetadata> objects = Manifests.render(variant);

        // typed, except the operators' kinds that have no typed classes (checked field by field below)
        assertThat(objects).filteredOn(GenericKubernetesResource.class::isInstance).allSatisfy(o -> assertThat(
                o.getApiVersion().split("/")[0]).as(o.getKind() + " " + o.getMetadata().getName()).isIn(GENERIC_GROUPS));
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
                } else if (env.getName().endsWith("_NUM_THREADS")) {
                    // the container's CPUs (the request), not the node's
                    assertThat(RUNTIME_ENV).contains(env.getName());
                    assertThat(env.getValueFrom().getResourceFieldRef().getResource()).isEqualTo("requests.cpu");
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
                        assertThat(secretData(secrets.get(ref.getName()))).containsKey(ref.getKey());
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
                if (v.getEmptyDir() != null) {
                    // a pod's scratch space counts against the node's disk: always bounded
                    assertThat(v.getEmptyDir().getSizeLimit()).as("sizeLimit of emptyDir " + v.getName()).isNotNull();
                    continue;
                }
                assertThat(claims).as("PVC " + v.getPersistentVolumeClaim().getClaimName())
                        .contains(v.getPersistentVolumeClaim().getClaimName());
            }
            c.getVolumeMounts().forEach(m -> assertThat(volumes).contains(m.getName()));
        }

        // Kafka: Strimzi 1.x's API only (the typed classes report their own version, so the rendering is read)
        assertThat(Manifests.renderYaml(variant)).contains("apiVersion: " + Manifests.STRIMZI + "\n")
                .doesNotContain("kafka.strimzi.io/v1beta2");
        // KRaft with node pools, topics for every channel the services declare
        assertThat(of(objects, Kafka.class)).singleElement().satisfies(k -> {
            // Strimzi 1.x: KRaft and node pools always; the old opt-in annotations are ignored, so none is set
            assertThat(k.getMetadata().getAnnotations()).as("Kafka annotations").isNullOrEmpty();
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

        // monitoring is a component: on in production (and what builds on it), off on a single node
        boolean monitoring = !variant.equals("overlays/single-node");
        assertThat(of(objects, PodMonitor.class)).as("PodMonitors").hasSize(monitoring ? 2 : 0);
        of(objects, PodMonitor.class).stream().filter(m -> m.getMetadata().getName().equals("feature-relay"))
                .forEach(m -> assertThat(m.getSpec().getPodMetricsEndpoints().get(0).getPath()).isEqualTo("/q/metrics"));
        assertThat(of(objects, PrometheusRule.class)).hasSize(monitoring ? 1 : 0).allSatisfy(r -> assertThat(
                r.getSpec().getGroups().get(0).getRules()).hasSizeGreaterThanOrEqualTo(3));
        if (monitoring) {
            assertThat(configMaps.get("feature-relay-grafana-dashboard").getMetadata().getLabels())
                    .containsEntry("grafana_dashboard", "1");
        }
        if (variant.startsWith("overlays/production") || variant.equals("overlays/kafka-sasl-ssl")) {
            // kube-prometheus-stack's default podMonitorSelector and ruleSelector
            of(objects, PodMonitor.class).forEach(m -> assertThat(m.getMetadata().getLabels()).containsKey("release"));
            of(objects, PrometheusRule.class).forEach(r -> assertThat(r.getMetadata().getLabels())
                    .containsKey("release"));
            assertThat(configMaps.get("dashboard-config").getData()).containsKey("DASHBOARD_PROMETHEUS_URL");
        }
    }

    /**
     * Both services as replicas on shared state: 2 replicas rolled without a gap, a PodDisruptionBudget, the pod
     * name as replica id, no ReadWriteOnce claim under a Deployment of more than one replica, and at most one
     * autoscaler per Deployment (KEDA's ScaledObject on queued jobs, or the CPU-based HPA) that never goes
     * below the 2 replicas.
     */
    @ParameterizedTest
    @MethodSource("variants")
    void servicesScaleOutOnSharedState(String variant) throws Exception {
        List<HasMetadata> objects = Manifests.render(variant);
        Map<String, Deployment> deployments = of(objects, Deployment.class).stream()
                .collect(Collectors.toMap(d -> d.getMetadata().getName(), d -> d));
        Map<String, PersistentVolumeClaim> claims = of(objects, PersistentVolumeClaim.class).stream()
                .collect(Collectors.toMap(c -> c.getMetadata().getName(), c -> c));
        List<GenericKubernetesResource> scaledObjects = generic(objects, "keda.sh", "ScaledObject");
        List<HorizontalPodAutoscaler> autoscalers = of(objects, HorizontalPodAutoscaler.class);

        for (String service : SCALED) {
            Deployment d = deployments.get(service);
            assertThat(d.getSpec().getReplicas()).as(service + " replicas").isEqualTo(2);
            assertThat(d.getSpec().getStrategy().getType()).isEqualTo("RollingUpdate");
            assertThat(d.getSpec().getStrategy().getRollingUpdate().getMaxUnavailable().getIntVal()).isZero();
            assertThat(d.getSpec().getStrategy().getRollingUpdate().getMaxSurge().getIntVal()).isEqualTo(1);
            Container c = d.getSpec().getTemplate().getSpec().getContainers().get(0);
            assertThat(env(c, "FEATURERELAY_REPLICA_ID").getValueFrom().getFieldRef().getFieldPath())
                    .isEqualTo("metadata.name");
            // the health paths the replicas are routed by did not change
            assertThat(c.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/q/health/ready");
            assertThat(c.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/q/health/live");
            Map<String, String> podLabels = d.getSpec().getTemplate().getMetadata().getLabels();
            assertThat(of(objects, PodDisruptionBudget.class)).as("PodDisruptionBudget of " + service)
                    .filteredOn(pdb -> podLabels.entrySet().containsAll(
                            pdb.getSpec().getSelector().getMatchLabels().entrySet()))
                    .singleElement().satisfies(pdb -> {
                        assertThat(pdb.getSpec().getSelector().getMatchLabels()).isNotEmpty();
                        assertThat(pdb.getSpec().getMinAvailable().getIntVal()).isEqualTo(1);
                    });

            List<GenericKubernetesResource> keda = scaledObjects.stream()
                    .filter(o -> service.equals(o.get("spec", "scaleTargetRef", "name"))).toList();
            List<HorizontalPodAutoscaler> hpa = autoscalers.stream()
                    .filter(h -> h.getSpec().getScaleTargetRef().getName().equals(service)).toList();
            assertThat(keda.size() + hpa.size()).as("autoscalers of " + service).isLessThanOrEqualTo(1);
            keda.forEach(o -> {
                assertThat((Object) o.get("spec", "scaleTargetRef", "kind")).isIn(null, "Deployment");
                assertThat(((Number) o.get("spec", "minReplicaCount")).intValue()).isEqualTo(2);
                assertThat(((Number) o.get("spec", "maxReplicaCount")).intValue()).isGreaterThan(2);
            });
            hpa.forEach(h -> {
                assertThat(h.getSpec().getScaleTargetRef().getKind()).isEqualTo("Deployment");
                assertThat(h.getSpec().getMinReplicas()).isEqualTo(2);
                assertThat(h.getSpec().getMaxReplicas()).isGreaterThan(2);
            });
        }
        // every autoscaler scales a Deployment of this rendering
        scaledObjects.forEach(o -> assertThat(deployments).containsKey(o.get("spec", "scaleTargetRef", "name")));
        autoscalers.forEach(h -> assertThat(deployments).containsKey(h.getSpec().getScaleTargetRef().getName()));
        // the overlays scale on queued jobs (KEDA); the base leaves it to a component
        if (variant.startsWith("overlays/")) {
            assertThat(scaledObjects).extracting(o -> (String) o.get("spec", "scaleTargetRef", "name"))
                    .containsExactlyInAnyOrderElementsOf(SCALED);
        }
        if (variant.contains("components/hpa")) {
            assertThat(autoscalers).extracting(h -> h.getSpec().getScaleTargetRef().getName())
                    .containsExactlyInAnyOrderElementsOf(SCALED);
        }

        // a ReadWriteOnce claim attaches to one node: no Deployment that may run more than one pod mounts one
        for (Deployment d : deployments.values()) {
            String name = d.getMetadata().getName();
            boolean several = d.getSpec().getReplicas() > 1
                    || scaledObjects.stream().anyMatch(o -> name.equals(o.get("spec", "scaleTargetRef", "name")))
                    || autoscalers.stream().anyMatch(h -> h.getSpec().getScaleTargetRef().getName().equals(name));
            if (!several) {
                continue;
            }
            for (Volume v : d.getSpec().getTemplate().getSpec().getVolumes()) {
                if (v.getPersistentVolumeClaim() == null) {
                    continue;
                }
                PersistentVolumeClaim claim = claims.get(v.getPersistentVolumeClaim().getClaimName());
                assertThat(claim.getSpec().getAccessModes()).as(name + " mounts claim " + claim.getMetadata()
                        .getName()).isNotEmpty().doesNotContain("ReadWriteOnce", "ReadWriteOncePod");
                if (claim.getSpec().getAccessModes().equals(List.of("ReadOnlyMany"))) {
                    assertThat(v.getPersistentVolumeClaim().getReadOnly()).as(v.getName() + " read-only").isTrue();
                }
            }
        }
    }

    /**
     * PostgreSQL from CloudNativePG: a Cluster of 2 instances on their own storage with the database featurerelay,
     * a managed role per service whose password Secret is what the service's datasource and its KEDA scaler
     * read, grants that let each role create its schema, and a backup schedule that names the Cluster and a
     * method the Cluster is configured for.
     */
    @ParameterizedTest
    @MethodSource("variants")
    void servicesUseTheirOwnRoleOnTheOperatorsDatabase(String variant) throws Exception {
        List<HasMetadata> objects = Manifests.render(variant);
        Map<String, ConfigMap> configMaps = of(objects, ConfigMap.class).stream()
                .collect(Collectors.toMap(c -> c.getMetadata().getName(), c -> c));
        Map<String, Secret> secrets = of(objects, Secret.class).stream()
                .collect(Collectors.toMap(s -> s.getMetadata().getName(), s -> s));
        Map<String, Deployment> deployments = of(objects, Deployment.class).stream()
                .collect(Collectors.toMap(d -> d.getMetadata().getName(), d -> d));

        List<GenericKubernetesResource> clusters = generic(objects, "postgresql.cnpg.io", "Cluster");
        assertThat(clusters).as("CloudNativePG Cluster").hasSize(1);
        GenericKubernetesResource cluster = clusters.get(0);
        assertThat(cluster.getApiVersion()).isEqualTo("postgresql.cnpg.io/v1");
        String clusterName = cluster.getMetadata().getName();
        assertThat(((Number) cluster.get("spec", "instances")).intValue()).isGreaterThanOrEqualTo(2);
        assertThat((String) cluster.get("spec", "storage", "size")).isNotBlank();
        String database = cluster.get("spec", "bootstrap", "initdb", "database");
        assertThat(database).isEqualTo("featurerelay");
        List<Map<String, Object>> roles = cluster.get("spec", "managed", "roles");
        List<String> createdAtInit = cluster.get("spec", "bootstrap", "initdb", "postInitSQL");
        List<String> grants = cluster.get("spec", "bootstrap", "initdb", "postInitApplicationSQL");
        Set<String> usernames = new HashSet<>();
        Map<String, String> roleSecrets = new java.util.HashMap<>();

        for (String service : SCALED) {
            Container c = deployments.get(service).getSpec().getTemplate().getSpec().getContainers().get(0);
            // the JDBC URL, as a value or from a ConfigMap the container reads
            String url = plainEnv(c, configMaps).get("QUARKUS_DATASOURCE_JDBC_URL");
            assertThat(url).as(service + " QUARKUS_DATASOURCE_JDBC_URL")
                    .matches("jdbc:postgresql://" + Pattern.quote(clusterName) + "-rw(:5432)?/"
                            + Pattern.quote(database) + "(\\?.*)?");
            var user = env(c, "QUARKUS_DATASOURCE_USERNAME").getValueFrom().getSecretKeyRef();
            var password = env(c, "QUARKUS_DATASOURCE_PASSWORD").getValueFrom().getSecretKeyRef();
            assertThat(user.getName()).isEqualTo(password.getName());
            Secret secret = secrets.get(user.getName());
            assertThat(secret).as("Secret " + user.getName()).isNotNull();
            assertThat(secret.getType()).isEqualTo("kubernetes.io/basic-auth");
            assertThat(secretData(secret)).containsKeys(user.getKey(), password.getKey());
            // CloudNativePG reads a role's password Secret as username and password
            assertThat(user.getKey()).isEqualTo("username");
            assertThat(password.getKey()).isEqualTo("password");
            String username = secretData(secret).get("username");
            assertThat(usernames.add(username)).as("a role of its own for " + service).isTrue();
            assertThat(roles).as("managed role " + username).filteredOn(r -> username.equals(r.get("name")))
                    .singleElement().satisfies(r -> {
                        assertThat(r.get("login")).isEqualTo(true);
                        assertThat(r.get("superuser")).isIn(null, false);
                        assertThat(GenericKubernetesResource.<String>get(r, "passwordSecret", "name"))
                                .isEqualTo(secret.getMetadata().getName());
                    });
            roleSecrets.put(service, secret.getMetadata().getName());
            // the role can create its schema (Flyway does), and exists before the grant runs
            assertThat(grants).as("grants").anySatisfy(g -> assertThat(g)
                    .containsPattern("(?i)GRANT .*CREATE.* ON DATABASE " + database + " TO .*\\b" + username + "\\b"));
            assertThat(createdAtInit).as("postInitSQL").anySatisfy(sql -> assertThat(sql)
                    .containsPattern("(?i)CREATE ROLE " + username + "\\b"));
        }

        // KEDA's scalers count each service's queued jobs as that service's role, with its Secret
        Map<String, GenericKubernetesResource> authentications = generic(objects, "keda.sh", "TriggerAuthentication")
                .stream().collect(Collectors.toMap(a -> a.getMetadata().getName(), a -> a));
        for (GenericKubernetesResource scaled : generic(objects, "keda.sh", "ScaledObject")) {
            String service = scaled.get("spec", "scaleTargetRef", "name");
            String schema = service.substring(0, service.indexOf('-'));
            List<Map<String, Object>> triggers = scaled.get("spec", "triggers");
            assertThat(triggers).as("triggers of " + service).isNotEmpty();
            for (Map<String, Object> trigger : triggers) {
                Map<String, Object> meta = GenericKubernetesResource.get(trigger, "metadata");
                if ("postgresql".equals(trigger.get("type"))) {
                    assertThat(meta.get("query")).isEqualTo("SELECT count(*) FROM " + schema
                            + ".jobs WHERE state = 'QUEUED'");
                    assertThat((String) meta.get("host")).startsWith(clusterName + "-rw");
                    assertThat(meta.get("dbName")).isEqualTo(database);
                    assertThat(meta.get("userName"))
                            .isEqualTo(secretData(secrets.get(roleSecrets.get(service))).get("username"));
                    assertThat(Double.parseDouble((String) meta.get("targetQueryValue"))).isPositive();
                    GenericKubernetesResource auth = authentications.get(
                            GenericKubernetesResource.<String>get(trigger, "authenticationRef", "name"));
                    assertThat(auth).as("TriggerAuthentication of " + service).isNotNull();
                    List<Map<String, Object>> refs = auth.get("spec", "secretTargetRef");
                    assertThat(refs).filteredOn(r -> "password".equals(r.get("parameter"))).singleElement()
                            .satisfies(r -> {
                                assertThat(r.get("name")).isEqualTo(roleSecrets.get(service));
                                assertThat(secretData(secrets.get(roleSecrets.get(service))))
                                        .containsKey((String) r.get("key"));
                            });
                } else {
                    assertThat(trigger.get("type")).isEqualTo("kafka");
                    assertThat(meta).containsEntry("consumerGroup", "transfer-service")
                            .containsEntry("topic", "feature-weights");
                }
            }
        }

        // backups: the schedule names the Cluster, and the Cluster is set up for the schedule's method
        for (GenericKubernetesResource backup : generic(objects, "postgresql.cnpg.io", "ScheduledBackup")) {
            assertThat((String) backup.get("spec", "cluster", "name")).isEqualTo(clusterName);
            assertThat(((String) backup.get("spec", "schedule")).trim().split("\\s+")).as("six cron fields")
                    .hasSize(6);
            String method = Objects.requireNonNullElse(backup.get("spec", "method"), "barmanObjectStore");
            switch (method) {
                case "volumeSnapshot" -> assertThat((String) cluster.get("spec", "backup", "volumeSnapshot",
                        "className")).isNotBlank();
                case "barmanObjectStore" -> assertThat((String) cluster.get("spec", "backup", "barmanObjectStore",
                        "destinationPath")).isNotBlank();
                default -> assertThat(method).as("backup method").isEqualTo("plugin");
            }
        }
        if (variant.contains("components/scheduled-backup")) {
            assertThat(generic(objects, "postgresql.cnpg.io", "ScheduledBackup")).hasSize(1);
        }
    }

    /**
     * Every replica exports its own series, so what Grafana and the alert rules show aggregates across pods: a
     * per-epoch series one value per (run, role, epoch) (a job resumed on another pod stays one curve), jobs by
     * state at most once per service (every replica reports the database's counts), and the label they group
     * by, service, comes from the PodMonitor and the plain Prometheus configuration.
     */
    @org.junit.jupiter.api.Test
    void monitoringAggregatesAcrossPods() throws Exception {
        List<HasMetadata> objects = Manifests.render("overlays/production");
        List<String> queries = new java.util.ArrayList<>();
        var grafana = new com.fasterxml.jackson.databind.ObjectMapper().readTree(GRAFANA.toFile());
        grafana.path("panels").forEach(p -> p.path("targets").forEach(t -> queries.add(t.path("expr").asText())));
        of(objects, PrometheusRule.class).stream().flatMap(r -> r.getSpec().getGroups().stream())
                .flatMap(g -> g.getRules().stream()).forEach(rule -> queries.add(rule.getExpr().getStrVal()));
        int perEpoch = 0;
        for (String query : queries) {
            if (query.contains("featurerelay_epoch_")) {
                perEpoch++;
                // innermost: one value per epoch over pods; a per-run figure may take the best epoch of that
                assertThat(query).as("per-epoch query").containsPattern("^(max by \\(run, role\\) \\()?"
                        + "max by \\(run, role, epoch\\) \\(featurerelay_epoch_");
            }
            if (query.matches(".*featurerelay_(training|model)_.*")) {
                assertThat(query).as("per-run query").containsPattern("^max by \\(run, role(, kind)?\\) \\(");
            }
            if (query.matches(".*\\bfeaturerelay_jobs\\b(?!_).*")) {
                assertThat(query).as("jobs by state").containsPattern("max(\\(| by \\((service, )?state\\)| by "
                        + "\\(service\\))");
                assertThat(query).as("jobs by state").doesNotStartWith("sum by (state) (featurerelay_jobs");
            }
        }
        assertThat(perEpoch).isGreaterThanOrEqualTo(2);

        // the label the aggregations group by
        assertThat(of(objects, PodMonitor.class)).filteredOn(m -> m.getMetadata().getName().equals("feature-relay"))
                .singleElement().satisfies(m -> assertThat(
                m.getSpec().getPodMetricsEndpoints().get(0).getRelabelings()).anySatisfy(r -> {
                    assertThat(r.getSourceLabels()).containsExactly("__meta_kubernetes_pod_label_app_kubernetes_io_name");
                    assertThat(r.getTargetLabel()).isEqualTo("service");
                }));
        of(objects, Deployment.class).forEach(d -> assertThat(d.getSpec().getTemplate().getMetadata().getLabels())
                .containsEntry("app.kubernetes.io/name", d.getMetadata().getName()));
        String prometheus = Files.readString(Manifests.REPO.resolve("deploy/monitoring/prometheus.yml"));
        SCALED.forEach(service -> assertThat(prometheus).contains("service: " + service));
    }

    /** The Grafana dashboard, part of components/monitoring. */
    static final Path GRAFANA = Manifests.REPO.resolve("deploy/k8s/components/monitoring/grafana/feature-relay.json");

    /** The two services that run as several replicas. */
    static final List<String> SCALED = List.of("trainer-service", "transfer-service");

    static List<GenericKubernetesResource> generic(List<HasMetadata> objects, String group, String kind) {
        return of(objects, GenericKubernetesResource.class).stream()
                .filter(o -> o.getApiVersion().startsWith(group + "/") && o.getKind().equals(kind)).toList();
    }

    /** The container's environment that has plain values: its ConfigMaps' entries, then its own values. */
    static Map<String, String> plainEnv(Container c, Map<String, ConfigMap> configMaps) {
        Map<String, String> values = new java.util.HashMap<>();
        c.getEnvFrom().stream().filter(f -> f.getConfigMapRef() != null)
                .forEach(f -> values.putAll(configMaps.get(f.getConfigMapRef().getName()).getData()));
        c.getEnv().stream().filter(e -> e.getValue() != null).forEach(e -> values.put(e.getName(), e.getValue()));
        return values;
    }

    static EnvVar env(Container c, String name) {
        return c.getEnv().stream().filter(e -> e.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError(c.getName() + " has no environment variable " + name));
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
        boolean fromProperties = known.contains(env) || (!module.equals("dashboard") && SCALE_OUT_ENV.contains(env));
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
