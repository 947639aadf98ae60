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
    /**
     * The Strimzi API version the manifests use: the only one Strimzi 1.x serves. The typed classes of the Strimzi
     * api jar read it (v1 dropped fields, it renamed none); CustomResourceSchemaTest checks the manifests against
     * Strimzi 1.x's own schema.
     */
    static final String STRIMZI = "kafka.strimzi.io/v1";
    /** deploy/k8s copied under target/, with the secret files made by make-secrets.sh: never the user's own. */
    private static Path copy;

    private Manifests() {
    }

    /**
     * {@code kubectl kustomize deploy/k8s/<dir>} (offline), every document parsed. A variant
     * {@code base+components/a+components/b} is the base with those components, composed in a kustomization
     * under target/ (components are not rendered on their own).
     */
    static List<HasMetadata> render(String variant) throws IOException, InterruptedException {
        return parse(renderYaml(variant));
    }

    /**
     * The rendered YAML of a variant, from a copy of deploy/k8s whose secret files deploy/k8s/make-secrets.sh made
     * (so the script runs too, and a user's own secret files are neither read nor overwritten).
     */
    static String renderYaml(String variant) throws IOException, InterruptedException {
        Path k8s = k8sCopy();
        String[] parts = variant.split("\\+");
        if (parts.length == 1) {
            return renderDirectory(k8s.resolve(variant));
        }
        Path dir = Files.createDirectories(k8s.resolve("composed").resolve(variant.replaceAll("[^A-Za-z0-9]+", "-")));
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

    private static synchronized Path k8sCopy() throws IOException, InterruptedException {
        if (copy != null) {
            return copy;
        }
        Path source = REPO.resolve("deploy/k8s");
        Path target = REPO.resolve("system-tests/target/k8s");
        if (Files.exists(target)) {
            try (var old = Files.walk(target)) {
                for (Path f : old.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(f);
                }
            }
        }
        try (var files = Files.walk(source)) {
            for (Path f : files.toList()) {
                Path rel = source.relativize(f);
                if (rel.startsWith(Path.of("components/secrets/files"))) {
                    continue; // the user's own secrets stay where they are
                }
                Path to = target.resolve(rel.toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(f, to, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
        Process secrets = new ProcessBuilder("bash", target.resolve("make-secrets.sh").toString())
                .redirectErrorStream(true).start();
        String out = new String(secrets.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!secrets.waitFor(30, TimeUnit.SECONDS) || secrets.exitValue() != 0) {
            throw new IllegalStateException("make-secrets.sh failed: " + out);
        }
        copy = target;
        return copy;
    }

    /** The secret files make-secrets.sh wrote into the copy, by name. */
    static java.util.Map<String, String> generatedSecretFiles() throws IOException, InterruptedException {
        java.util.Map<String, String> files = new java.util.TreeMap<>();
        try (var list = Files.list(k8sCopy().resolve("components/secrets/files"))) {
            for (Path f : list.toList()) {
                files.put(f.getFileName().toString(), Files.readString(f));
            }
        }
        return files;
    }

    static List<HasMetadata> parse(String yaml) {
        KubernetesSerialization serialization = serialization();
        List<HasMetadata> objects = new ArrayList<>();
        for (String document : documents(yaml)) {
            objects.add(serialization.unmarshal(document));
        }
        return objects;
    }

    /** The documents of a multi-document YAML stream. */
    static List<String> documents(String yaml) {
        return java.util.Arrays.stream(yaml.split("(?m)^---\\s*$")).filter(d -> !d.isBlank()).toList();
    }

    static KubernetesSerialization serialization() {
        KubernetesSerialization serialization = new KubernetesSerialization();
        // Strimzi's resources carry no service-loader entry: register them so they parse typed (CloudNativePG's
        // and KEDA's have no typed classes on Maven Central: they parse as GenericKubernetesResource)
        serialization.registerKubernetesResource(STRIMZI, "Kafka", Kafka.class);
        serialization.registerKubernetesResource(STRIMZI, "KafkaNodePool", KafkaNodePool.class);
        serialization.registerKubernetesResource(STRIMZI, "KafkaTopic", KafkaTopic.class);
        serialization.registerKubernetesResource(STRIMZI, "KafkaUser", KafkaUser.class);
        return serialization;
    }

    private static String renderDirectory(Path dir) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("kubectl", "kustomize", dir.toString())
                .redirectErrorStream(false).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream in = p.getInputStream()) {
            in.transferTo(out);
        }
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("kubectl kustomize " + dir + " failed: " + err);
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
