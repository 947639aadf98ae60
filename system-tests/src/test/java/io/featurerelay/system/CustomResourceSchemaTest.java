package io.featurerelay.system;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every rendered object checked against a schema, with unknown fields rejected: the custom resources (Strimzi 1.x,
 * CloudNativePG, KEDA, Prometheus Operator) against the OpenAPI schemas of their operators' CRDs, kept in
 * src/test/resources/crd-schemas (extract.py there says from which release), and the Kubernetes objects through
 * fabric8's typed model (generated from Kubernetes' own OpenAPI), where a field the model does not know lands in
 * additionalProperties. What only an API server checks: the CRDs' CEL rules (x-kubernetes-validations), defaults,
 * admission (Pod Security, quotas) and what the operators make of the objects.
 */
class CustomResourceSchemaTest {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, JsonSchema> SCHEMAS = new ConcurrentHashMap<>();

    static List<String> variants() {
        return KubernetesManifestsTest.variants().toList();
    }

    @ParameterizedTest
    @MethodSource("variants")
    void everyObjectMatchesItsSchemaAndNamesNoUnknownField(String variant) throws Exception {
        String yaml = Manifests.renderYaml(variant);
        List<String> problems = new ArrayList<>();
        int customResources = 0;
        for (String document : Manifests.documents(yaml)) {
            JsonNode object = YAML.readTree(document);
            String what = object.path("kind").asText() + " " + object.path("metadata").path("name").asText();
            JsonSchema schema = schema(object.path("apiVersion").asText(), object.path("kind").asText());
            if (schema != null) {
                customResources++;
                schema.validate(object).forEach(m -> problems.add(what + ": " + m.getMessage()));
            } else {
                HasMetadata typed = Manifests.serialization().unmarshal(document);
                assertThat(typed).as(what + " has a typed class").isNotInstanceOf(GenericKubernetesResource.class);
                unknownFields(typed, what, problems);
            }
        }
        assertThat(problems).as(variant).isEmpty();
        assertThat(customResources).as("custom resources checked in " + variant).isGreaterThanOrEqualTo(6);
    }

    /** The checks can fail: a misspelt field of a custom resource and of a Deployment are both found. */
    @Test
    void misspeltFieldsAreFound() throws Exception {
        String yaml = Manifests.renderYaml("overlays/production");
        String kafka = Manifests.documents(yaml).stream().filter(d -> d.contains("kind: Kafka\n")).findFirst()
                .orElseThrow();
        ObjectNode broken = (ObjectNode) YAML.readTree(kafka);
        ObjectNode listener = (ObjectNode) broken.path("spec").path("kafka").path("listeners").get(0);
        listener.set("tsl", listener.remove("tls"));
        assertThat(schema(broken.path("apiVersion").asText(), "Kafka").validate(broken))
                .extracting(ValidationMessage::getMessage).anySatisfy(m -> assertThat(m).contains("tsl"))
                .anySatisfy(m -> assertThat(m).contains("tls"));

        String deployment = Manifests.documents(yaml).stream()
                .filter(d -> d.contains("kind: Deployment\n") && d.contains("name: trainer-service\n")).findFirst()
                .orElseThrow().replace("readinessProbe:", "readinesProbe:");
        List<String> problems = new ArrayList<>();
        unknownFields(Manifests.serialization().unmarshal(deployment), "Deployment trainer-service", problems);
        assertThat(problems).singleElement().asString().contains("readinesProbe");
    }

    /** The schema of a custom resource's kind, made strict; null for what is not a custom resource here. */
    static JsonSchema schema(String apiVersion, String kind) throws IOException {
        String group = apiVersion.contains("/") ? apiVersion.substring(0, apiVersion.indexOf('/')) : "";
        if (!group.contains(".") || group.endsWith(".k8s.io")) {
            return null;
        }
        String version = apiVersion.substring(apiVersion.indexOf('/') + 1);
        String name = "/crd-schemas/" + group + "_" + kind + "_" + version + ".json";
        JsonSchema cached = SCHEMAS.get(name);
        if (cached != null) {
            return cached;
        }
        try (InputStream in = CustomResourceSchemaTest.class.getResourceAsStream(name)) {
            assertThat(in).as("schema " + name + " (served by the operator release the README names)").isNotNull();
            ObjectNode schema = (ObjectNode) JSON.readTree(in);
            schema.remove("x-source");
            strict(schema);
            JsonSchema compiled = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V4).getSchema(schema);
            SCHEMAS.put(name, compiled);
            return compiled;
        }
    }

    /**
     * An API server prunes fields a structural schema does not name; kubeconform's strict mode, like this, rejects
     * them instead: every object schema that lists properties and does not keep unknown fields gets
     * additionalProperties false. metadata is the API server's (ObjectMeta), not the CRD's.
     */
    private static void strict(JsonNode node) {
        if (node instanceof ObjectNode object) {
            if (object.has("properties") && !object.has("additionalProperties")
                    && !object.path("x-kubernetes-preserve-unknown-fields").asBoolean(false)) {
                object.put("additionalProperties", false);
            }
            object.fields().forEachRemaining(e -> {
                if (!(e.getKey().equals("metadata") && e.getValue().path("type").asText().equals("object")
                        && !e.getValue().has("properties"))) {
                    strict(e.getValue());
                }
            });
        } else if (node instanceof ArrayNode array) {
            array.forEach(CustomResourceSchemaTest::strict);
        }
    }

    /** Fields of a typed Kubernetes object that its model does not know (Jackson put them in additionalProperties). */
    static void unknownFields(Object value, String path, List<String> problems) {
        walk(value, path, problems, java.util.Collections.newSetFromMap(new IdentityHashMap<>()));
    }

    private static void walk(Object value, String path, List<String> problems, Set<Object> seen) {
        if (value == null || !seen.add(value)) {
            return;
        }
        if (value instanceof Collection<?> items) {
            int i = 0;
            for (Object item : items) {
                walk(item, path + "[" + i++ + "]", problems, seen);
            }
            return;
        }
        if (value instanceof Map<?, ?> map) {
            map.forEach((k, v) -> walk(v, path + "." + k, problems, seen));
            return;
        }
        if (!value.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) {
            return;
        }
        for (Method m : value.getClass().getMethods()) {
            if (m.getParameterCount() != 0 || !m.getName().startsWith("get") || m.getName().equals("getClass")) {
                continue;
            }
            Object child;
            try {
                child = m.invoke(value);
            } catch (ReflectiveOperationException e) {
                continue;
            }
            if (m.getName().equals("getAdditionalProperties")) {
                if (child instanceof Map<?, ?> extra && !extra.isEmpty()) {
                    problems.add(path + ": unknown field(s) " + new TreeSet<>(extra.keySet().stream()
                            .map(Object::toString).toList()));
                }
                continue;
            }
            String field = Character.toLowerCase(m.getName().charAt(3)) + m.getName().substring(4);
            walk(child, path + "." + field, problems, seen);
        }
    }
}
