package io.featurerelay.system;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPeer;
import io.strimzi.api.kafka.model.kafka.Kafka;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What a platform review asks of the manifests and images: pods that Pod Security "restricted" admits, bounded
 * CPUs and scratch space, thread counts from the container's CPUs, pinned images, probes that a busy training does
 * not fail, NetworkPolicies around Kafka, PostgreSQL and the services, and no secret value in the repository.
 */
class ProductionManifestsTest {

    static Stream<String> variants() {
        return KubernetesManifestsTest.variants();
    }

    private static List<Deployment> deployments(List<HasMetadata> objects) {
        return KubernetesManifestsTest.of(objects, Deployment.class);
    }

    @ParameterizedTest
    @MethodSource("variants")
    void podsRunUnderPodSecurityRestricted(String variant) throws Exception {
        for (Deployment d : deployments(Manifests.render(variant))) {
            String name = d.getMetadata().getName();
            PodSpec pod = d.getSpec().getTemplate().getSpec();
            PodSecurityContext security = pod.getSecurityContext();
            assertThat(security).as(name + " securityContext").isNotNull();
            assertThat(security.getRunAsNonRoot()).as(name + " runAsNonRoot").isTrue();
            assertThat(security.getRunAsUser()).as(name + " runAsUser").isPositive();
            // volumes (cloud disks, emptyDirs) writable by the image's user
            assertThat(security.getFsGroup()).as(name + " fsGroup").isNotNull();
            assertThat(security.getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
            assertThat(pod.getAutomountServiceAccountToken()).as(name + " service account token").isFalse();
            assertThat(pod.getHostNetwork()).isIn(null, false);
            assertThat(pod.getVolumes()).allSatisfy(v -> assertThat(v.getHostPath()).as(v.getName()).isNull());
            List<Container> containers = new ArrayList<>(pod.getContainers());
            containers.addAll(pod.getInitContainers());
            for (Container c : containers) {
                var cs = c.getSecurityContext();
                assertThat(cs).as(c.getName() + " securityContext").isNotNull();
                assertThat(cs.getAllowPrivilegeEscalation()).as(c.getName()).isFalse();
                assertThat(cs.getReadOnlyRootFilesystem()).as(c.getName() + " readOnlyRootFilesystem").isTrue();
                assertThat(cs.getCapabilities().getDrop()).as(c.getName()).containsExactly("ALL");
                assertThat(cs.getCapabilities().getAdd()).as(c.getName()).isNullOrEmpty();
                assertThat(cs.getPrivileged()).isIn(null, false);
                assertThat(c.getResources().getRequests()).as(c.getName()).containsKeys("cpu", "memory",
                        "ephemeral-storage");
                assertThat(c.getResources().getLimits()).as(c.getName()).containsKeys("memory", "ephemeral-storage");
                // a version, never latest
                assertThat(c.getImage()).as(c.getName()).matches("[a-z0-9./-]+:\\d+\\.\\d+\\.\\d+");
            }
            Container app = pod.getContainers().get(0);
            assertThat(app.getResources().getLimits()).as(name + " CPU limit").containsKey("cpu");
            // the read-only root file system: /tmp (JavaCPP's natives, Vert.x's cache) is a bounded emptyDir
            assertThat(app.getVolumeMounts()).filteredOn(m -> m.getMountPath().equals("/tmp")).singleElement()
                    .satisfies(m -> assertThat(pod.getVolumes()).filteredOn(v -> v.getName().equals(m.getName()))
                            .singleElement().satisfies(v -> assertThat(v.getEmptyDir().getSizeLimit()).isNotNull()));
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void servicesFollowTheContainersCpusAndGetTheirDatasetWithoutAClaim(String variant) throws Exception {
        for (Deployment d : deployments(Manifests.render(variant))) {
            String name = d.getMetadata().getName();
            if (!KubernetesManifestsTest.SCALED.contains(name)) {
                continue;
            }
            PodSpec pod = d.getSpec().getTemplate().getSpec();
            Container app = pod.getContainers().get(0);
            // the natives are x86-64 only
            assertThat(pod.getNodeSelector()).containsEntry("kubernetes.io/arch", "amd64");
            for (String threads : List.of("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")) {
                EnvVar env = KubernetesManifestsTest.env(app, threads);
                assertThat(env.getValueFrom().getResourceFieldRef().getResource()).isEqualTo("requests.cpu");
                assertThat(env.getValueFrom().getResourceFieldRef().getContainerName()).isEqualTo(app.getName());
            }
            // the dataset: copied by an init container into a bounded emptyDir, mounted read-only
            assertThat(pod.getInitContainers()).extracting(Container::getName).contains("datasets");
            Volume datasets = pod.getVolumes().stream().filter(v -> v.getName().equals("datasets")).findFirst()
                    .orElseThrow();
            assertThat(datasets.getEmptyDir()).isNotNull();
            assertThat(datasets.getPersistentVolumeClaim()).isNull();
            assertThat(app.getVolumeMounts()).filteredOn(m -> m.getName().equals("datasets"))
                    .singleElement().satisfies(m -> assertThat(m.getReadOnly()).isTrue());
            assertThat(Files.readString(Manifests.REPO.resolve("deploy/k8s/datasets/Dockerfile")))
                    .contains("dataset-fashion-mnist").containsPattern("(?m)^USER \\d+");
        }
    }

    /** The images: a pinned base, the user before the application layers, thread counts, natives under /tmp. */
    @Test
    void imagesArePinnedAndFollowTheContainersCpus() throws Exception {
        for (String module : List.of("trainer-service", "transfer-service", "dashboard")) {
            Path dir = Manifests.REPO.resolve(module);
            String dockerfile = Files.readString(dir.resolve("src/main/docker/Dockerfile.jvm"));
            assertThat(dockerfile).as(module).containsPattern("(?m)^FROM [a-z0-9./-]+:\\d+\\.\\d+\\.\\d+[_\\w.-]*$");
            assertThat(dockerfile.indexOf("useradd")).as(module + ": the user before the application layers")
                    .isPositive().isLessThan(dockerfile.indexOf("COPY "));
            assertThat(dockerfile).containsPattern("(?m)^USER 185$").contains("-Djava.io.tmpdir=/tmp");
            assertThat(Files.readString(dir.resolve(".dockerignore"))).contains("!target/quarkus-app/");
            if (!module.equals("dashboard")) {
                assertThat(dockerfile).contains("${OMP_NUM_THREADS:+-XX:ActiveProcessorCount=$OMP_NUM_THREADS}")
                        .contains("-Dorg.bytedeco.javacpp.cachedir=/tmp/");
            }
        }
        assertThat(Files.readString(Manifests.REPO.resolve("deploy/k8s/datasets/Dockerfile")))
                .containsPattern("(?m)^FROM [a-z0-9./-]+:\\d+\\.\\d+[\\w.-]*$");
    }

    /**
     * Liveness does not fail while a training keeps the CPUs busy (it allows a minute), and the trainer's readiness
     * is its database, not Kafka: during a Kafka outage it holds envelopes in its outbox and keeps serving.
     */
    @ParameterizedTest
    @MethodSource("variants")
    void probesReflectWhatEachServiceNeeds(String variant) throws Exception {
        for (Deployment d : deployments(Manifests.render(variant))) {
            Container c = d.getSpec().getTemplate().getSpec().getContainers().get(0);
            var live = c.getLivenessProbe();
            assertThat(live.getTimeoutSeconds()).as(d.getMetadata().getName() + " liveness timeout")
                    .isGreaterThanOrEqualTo(5);
            assertThat(live.getPeriodSeconds() * live.getFailureThreshold()).as("seconds before a restart")
                    .isGreaterThanOrEqualTo(30);
            assertThat(c.getReadinessProbe().getTimeoutSeconds()).isGreaterThanOrEqualTo(2);
            assertThat(c.getStartupProbe().getPeriodSeconds() * c.getStartupProbe().getFailureThreshold())
                    .as("start-up allowance").isGreaterThanOrEqualTo(120);
        }
        Properties trainer = KubernetesManifestsTest.applicationProperties("trainer-service");
        assertThat(trainer.getProperty("quarkus.kafka.health.enabled")).isEqualTo("false");
        assertThat(trainer.getProperty("mp.messaging.outgoing.feature-weights.health-readiness-enabled"))
                .isEqualTo("false");
        Properties transfer = KubernetesManifestsTest.applicationProperties("transfer-service");
        assertThat(transfer.getProperty("quarkus.kafka.health.enabled")).as("transfer consumes: Kafka is its readiness")
                .isEqualTo("true");
    }

    @ParameterizedTest
    @MethodSource("variants")
    void onlyTheServicesReachKafkaAndPostgresql(String variant) throws Exception {
        List<HasMetadata> objects = Manifests.render(variant);
        List<String> services = KubernetesManifestsTest.SCALED;
        // Kafka: Strimzi writes each listener's NetworkPolicy from its networkPolicyPeers
        Kafka kafka = KubernetesManifestsTest.of(objects, Kafka.class).get(0);
        assertThat(kafka.getSpec().getKafka().getListeners()).allSatisfy(l -> assertThat(l.getNetworkPolicyPeers())
                .as("listener " + l.getName()).singleElement().satisfies(peer -> assertThat(
                        peer.getPodSelector().getMatchExpressions()).singleElement().satisfies(e -> {
                            assertThat(e.getKey()).isEqualTo("app.kubernetes.io/name");
                            assertThat(e.getOperator()).isEqualTo("In");
                            assertThat(e.getValues()).containsExactlyInAnyOrderElementsOf(services);
                        })));
        List<NetworkPolicy> policies = KubernetesManifestsTest.of(objects, NetworkPolicy.class);
        NetworkPolicy db = policies.stream().filter(p -> "feature-relay-db".equals(p.getSpec().getPodSelector()
                .getMatchLabels().get("cnpg.io/cluster"))).findFirst().orElseThrow();
        assertThat(db.getSpec().getPolicyTypes()).containsExactly("Ingress");
        List<NetworkPolicyPeer> dbPeers = db.getSpec().getIngress().stream()
                .filter(r -> r.getPorts().stream().anyMatch(p -> Integer.valueOf(5432).equals(p.getPort().getIntVal())))
                .flatMap(r -> r.getFrom().stream()).toList();
        assertThat(dbPeers).filteredOn(p -> p.getPodSelector() != null && p.getPodSelector().getMatchExpressions() != null)
                .anySatisfy(p -> assertThat(p.getPodSelector().getMatchExpressions()).singleElement()
                        .satisfies(e -> assertThat(e.getValues()).containsExactlyInAnyOrderElementsOf(services)));
        // every pod selector that names an application names one of ours, and no rule is open to all
        policies.forEach(p -> p.getSpec().getIngress().forEach(r -> assertThat(r.getFrom()).as(p.getMetadata()
                .getName() + " ingress from").isNotEmpty()));
        // the services' port: the dashboard, Prometheus' namespace, labelled API clients
        NetworkPolicy api = policies.stream().filter(p -> p.getMetadata().getName().equals("feature-relay-services"))
                .findFirst().orElseThrow();
        assertThat(api.getSpec().getPodSelector().getMatchExpressions()).singleElement()
                .satisfies(e -> assertThat(e.getValues()).containsExactlyInAnyOrderElementsOf(services));
        List<NetworkPolicyPeer> apiPeers = api.getSpec().getIngress().get(0).getFrom();
        assertThat(apiPeers).filteredOn(p -> p.getPodSelector() != null).anySatisfy(p -> assertThat(
                p.getPodSelector().getMatchLabels()).containsEntry("app.kubernetes.io/name", "dashboard"));
        assertThat(apiPeers).filteredOn(p -> p.getNamespaceSelector() != null).anySatisfy(p -> assertThat(
                p.getNamespaceSelector().getMatchLabels()).containsEntry("kubernetes.io/metadata.name", "monitoring"));
    }

    /** Secret values come from files that make-secrets.sh writes and git ignores; the manifests hold none. */
    @ParameterizedTest
    @MethodSource("variants")
    void secretsAreGeneratedFromFilesNotWrittenInTheManifests(String variant) throws Exception {
        Map<String, String> files = Manifests.generatedSecretFiles();
        var secrets = KubernetesManifestsTest.of(Manifests.render(variant), io.fabric8.kubernetes.api.model.Secret.class);
        assertThat(secrets).extracting(s -> s.getMetadata().getName()).containsExactlyInAnyOrder(
                "feature-relay-secrets", "feature-relay-db-trainer", "feature-relay-db-transfer");
        for (var secret : secrets) {
            KubernetesManifestsTest.secretData(secret).forEach((key, value) -> {
                if (!key.equals("username")) {
                    assertThat(files.values()).as(secret.getMetadata().getName() + " " + key + " from a file")
                            .contains(value);
                    assertThat(value.length()).isGreaterThanOrEqualTo(32);
                }
            });
        }
        assertThat(Files.readString(Manifests.REPO.resolve(".gitignore")))
                .contains("/deploy/k8s/components/secrets/files/");
    }

    @Test
    void noManifestHoldsALiteralSecretValue() throws Exception {
        List<String> found = new ArrayList<>();
        try (Stream<Path> files = Files.walk(Manifests.REPO.resolve("deploy/k8s"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml"))
                    .filter(p -> !p.startsWith(Manifests.REPO.resolve("deploy/k8s/components/secrets/files")))
                    .toList()) {
                found.addAll(literalSecrets(Manifests.REPO.relativize(f).toString(), Files.readString(f)));
            }
        }
        assertThat(found).isEmpty();
        // ... and the scan finds them where they are
        assertThat(literalSecrets("sample.yaml", """
                apiVersion: v1
                kind: Secret
                metadata:
                  name: s
                stringData:
                  signing-key: change-me-before-deploying
                """)).hasSize(2);
        assertThat(literalSecrets("sample.yaml", """
                secretGenerator:
                  - name: s
                    literals:
                      - username=trainer
                      - password=hunter2hunter2
                """)).singleElement().asString().contains("password");
        assertThat(literalSecrets("sample.yaml", """
                env:
                  - name: TRAINER_SIGNING_KEY
                    value: abc
                """)).hasSize(1);
    }

    private static final Pattern SECRET_NAME = Pattern.compile("(?i).*(password|token|secret|signing[-_]key|"
            + "api[-_]key|signing[-_]keys)$");

    /** Literal secret values in one manifest file: a Secret with data, a generator literal, an env value. */
    static List<String> literalSecrets(String file, String text) {
        List<String> found = new ArrayList<>();
        for (String document : text.split("(?m)^---\\s*$")) {
            if (document.matches("(?s).*(?m:^kind: Secret\\s*$).*")
                    && document.matches("(?s).*(?m:^(data|stringData):).*")) {
                found.add(file + ": a Secret with values");
            }
        }
        // a secretGenerator's literals (its files: entries name files, which hold the values outside git)
        Matcher block = Pattern.compile("(?m)^(\\s*)literals:\\s*\\n((?:\\1\\s*-\\s*.*(?:\\n|$))+)").matcher(text);
        while (block.find()) {
            Matcher literal = Pattern.compile("(?m)^\\s*-\\s*([\\w.-]+)=").matcher(block.group(2));
            while (literal.find()) {
                if (SECRET_NAME.matcher(literal.group(1)).matches()) {
                    found.add(file + ": literal " + literal.group(1));
                }
            }
        }
        Matcher env = Pattern.compile("(?m)^\\s*-\\s*name:\\s*(\\S+)\\s*\\n\\s*value:").matcher(text);
        while (env.find()) {
            if (SECRET_NAME.matcher(env.group(1)).matches()) {
                found.add(file + ": environment value " + env.group(1));
            }
        }
        if (text.toLowerCase(java.util.Locale.ROOT).contains("change-me")) {
            found.add(file + ": a placeholder");
        }
        return found;
    }
}
