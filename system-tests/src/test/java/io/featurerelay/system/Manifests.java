package io.featurerelay.system;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.strimzi.api.kafka.model.kafka.Kafka;
import io.strimzi.api.kafka.model.nodepool.KafkaNodePool;
import io.strimzi.api.kafka.model.topic.KafkaTopic;
import io.strimzi.api.kafka.model.user.KafkaUser;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The Kubernetes manifests as kustomize renders them, parsed into typed objects. */
final class Manifests {

    static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    /** The Strimzi API version the manifests use (served by Strimzi 0.49, whose typed classes read it). */
    static final String STRIMZI = "kafka.strimzi.io/v1beta2";

    private Manifests() {
    }

    /**
     * {@code kubectl kustomize deploy/k8s/<dir>} (offline), every document parsed. A variant
     * {@code base+components/a+components/b} is the base with those components, composed in a kustomization
     * under target/ (components are not rendered on their own).
     */
    static List<HasMetadata> render(String variant) throws IOException, InterruptedException {
        Path k8s = REPO.resolve("deploy/k8s");
        String[] parts = variant.split("\\+");
        if (parts.length == 1) {
            return renderDirectory(k8s.resolve(variant));
        }
        Path dir = Files.createDirectories(REPO.resolve("system-tests/target/kustomize")
                .resolve(variant.replaceAll("[^A-Za-z0-9]+", "-")));
        StringBuilder kustomization = new StringBuilder(
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ")
                .append(relative(dir, k8s.resolve(parts[0]))).append("\ncomponents:\n");
        for (int i = 1; i < parts.length; i++) {
            kustomization.append("  - ").append(relative(dir, k8s.resolve(parts[i]))).append('\n');
        }
        Files.writeString(dir.resolve("kustomization.yaml"), kustomization);
        return renderDirectory(dir);
    }

    private static String relative(Path from, Path to) {
        return from.relativize(to).toString().replace('\\', '/');
    }

    private static List<HasMetadata> renderDirectory(Path dir) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("kubectl", "kustomize", dir.toString())
                .redirectErrorStream(false).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream in = p.getInputStream()) {
            in.transferTo(out);
        }
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("kubectl kustomize " + REPO.relativize(dir) + " failed: " + err);
        }
        KubernetesSerialization serialization = new KubernetesSerialization();
        // Strimzi's resources carry no service-loader entry: register them so they parse typed (CloudNativePG's
        // and KEDA's have no typed classes on Maven Central: they parse as GenericKubernetesResource)
        serialization.registerKubernetesResource(STRIMZI, "Kafka", Kafka.class);
        serialization.registerKubernetesResource(STRIMZI, "KafkaNodePool", KafkaNodePool.class);
        serialization.registerKubernetesResource(STRIMZI, "KafkaTopic", KafkaTopic.class);
        serialization.registerKubernetesResource(STRIMZI, "KafkaUser", KafkaUser.class);
        List<HasMetadata> objects = new ArrayList<>();
        for (String document : out.toString(StandardCharsets.UTF_8).split("(?m)^---\\s*$")) {
            if (!document.isBlank()) {
                objects.add(serialization.unmarshal(document));
            }
        }
        return objects;
    }
}
