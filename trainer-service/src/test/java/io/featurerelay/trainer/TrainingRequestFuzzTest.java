package io.featurerelay.trainer;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.featurerelay.broker.KafkaBrokerTestResource;
import io.featurerelay.postgres.PostgresTestResource;
import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every field of {@code POST /api/v1/trainings} (and of its nested spec) with values of the wrong type, out of
 * range or absurd: always a 400 problem body that names the field, never a 500, never an accepted job; bodies
 * above the size limit get a 413 problem body; the service stays healthy throughout.
 */
@QuarkusTest
@WithTestResource(value = KafkaBrokerTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES)
@WithTestResource(value = PostgresTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES,
        initArgs = @ResourceArg(name = PostgresTestResource.ROLE, value = "trainer"))
class TrainingRequestFuzzTest {

    private static final List<String> NOT_A_NUMBER = List.of("\"x\"", "true", "{}", "[]", "[1]", "\"\"");
    private static final List<String> NOT_A_STRING = List.of("{}", "[]", "[\"fashion-mnist\"]", "true");
    private static final String REFERENCE_SPEC = "{\"inputShape\":[1,28,28],\"convFilters\":[8],\"kernel\":3,"
            + "\"pool\":2,\"convDropout\":0,\"denseUnits\":8,\"denseDropout\":0,\"numClasses\":5}";

    /** Field, then values that must each be refused. */
    static Map<String, List<String>> badValues() {
        Map<String, List<String>> bad = new LinkedHashMap<>();
        List<String> counts = new ArrayList<>(NOT_A_NUMBER);
        counts.addAll(List.of("0", "-1", "1.5", "4", "2147483648", "1e12", "-2147483649"));
        bad.put("epochs", counts);
        List<String> sizes = new ArrayList<>(NOT_A_NUMBER);
        sizes.addAll(List.of("0", "-5", "2.5", "2049", "99999999999"));
        bad.put("batchSize", sizes);
        List<String> rates = new ArrayList<>(NOT_A_NUMBER);
        rates.addAll(List.of("0", "-0.1", "11", "1e308", "-1e-300"));
        bad.put("learningRate", rates);
        List<String> seeds = new ArrayList<>(NOT_A_NUMBER);
        seeds.addAll(List.of("1.5", "9223372036854775808", "1e30"));
        bad.put("seed", seeds);
        List<String> names = new ArrayList<>(NOT_A_STRING);
        names.addAll(List.of("\"\"", "\"imagenet\"", "\"../../etc\"", "\"" + "x".repeat(5000) + "\""));
        bad.put("dataset", names);
        List<String> optimizers = new ArrayList<>(NOT_A_STRING);
        optimizers.addAll(List.of("\"\"", "\"sgd\"", "\"ADADELTA \""));
        bad.put("optimizer", optimizers);
        List<String> dirs = new ArrayList<>(NOT_A_STRING);
        dirs.addAll(List.of("\"\"", "\"/nonexistent/dir\"", "\"\\u0000\""));
        bad.put("dataDir", dirs);
        bad.put("classes", List.of("\"x\"", "{}", "3", "[]", "[null]", "[\"a\"]", "[1.5]", "[-1]", "[10]",
                "[0,0]", "[99999999999]", "[[0]]", "[0,1,2,3,4,5,6,7,8,9,10]"));
        bad.put("spec", List.of("\"x\"", "[]", "1", "true", "{}",
                REFERENCE_SPEC.replace("\"kernel\":3", "\"kernel\":\"3x3\""),
                REFERENCE_SPEC.replace("\"kernel\":3", "\"kernel\":-3"),
                REFERENCE_SPEC.replace("\"kernel\":3", "\"kernel\":99"),
                REFERENCE_SPEC.replace("[1,28,28]", "[1,28]"),
                REFERENCE_SPEC.replace("[1,28,28]", "[1,28,99999999]"),
                REFERENCE_SPEC.replace("[1,28,28]", "\"1x28x28\""),
                REFERENCE_SPEC.replace("[8]", "[]"),
                REFERENCE_SPEC.replace("[8]", "[-8]"),
                REFERENCE_SPEC.replace("[8]", "[100000]"),
                REFERENCE_SPEC.replace("\"convDropout\":0", "\"convDropout\":1"),
                REFERENCE_SPEC.replace("\"convDropout\":0", "\"convDropout\":-0.5"),
                REFERENCE_SPEC.replace("\"denseUnits\":8", "\"denseUnits\":0"),
                REFERENCE_SPEC.replace("\"denseUnits\":8", "\"denseUnits\":2147483647"),
                REFERENCE_SPEC.replace("\"numClasses\":5", "\"numClasses\":1"),
                REFERENCE_SPEC.replace("\"pool\":2", "\"pool\":30"),
                REFERENCE_SPEC.replace("\"pool\":2,", ""),
                REFERENCE_SPEC.replace("}", ",\"extra\":1}")));
        return bad;
    }

    static Stream<Arguments> badFields() {
        return badValues().entrySet().stream()
                .flatMap(e -> e.getValue().stream().map(v -> Arguments.of(e.getKey(), v)));
    }

    @ParameterizedTest(name = "{0} = {1}")
    @MethodSource("badFields")
    void aBadValueIsA400NamingItsField(String field, String value) {
        Response r = given().contentType(ContentType.JSON).body("{\"" + field + "\":" + value + "}")
                .post("/api/v1/trainings");
        assertThat(r.statusCode()).as(r.asString()).isEqualTo(400);
        assertThat(r.contentType()).startsWith("application/problem+json");
        assertThat(r.jsonPath().getString("field")).as(r.asString()).startsWith(field);
        assertThat(r.jsonPath().getString("detail")).isNotBlank();
    }

    @Test
    void bodiesThatAreNoRequestAre400sAndTooLargeOnesAre413s() {
        // (an empty body, or null, asks for the defaults, as every field is optional)
        for (String body : List.of("1", "\"x\"", "[]", "{", "{\"epochs\":1}}", "\u0000\u0001",
                "{\"epochs\":1,\"epochs\":2,\"x\":}")) {
            Response r = given().contentType(ContentType.JSON).body(body).post("/api/v1/trainings");
            assertThat(r.statusCode()).as("body %s: %s", body, r.asString()).isBetween(400, 415);
            assertThat(r.contentType()).as(body).startsWith("application/problem+json");
        }
        // above quarkus.http.limits.max-body-size (1 MiB)
        String huge = "{\"dataset\":\"" + "x".repeat(2 << 20) + "\"}";
        Response tooLarge = given().contentType(ContentType.JSON).body(huge).post("/api/v1/trainings");
        assertThat(tooLarge.statusCode()).isEqualTo(413);
        assertThat(tooLarge.contentType()).startsWith("application/problem+json");
        assertThat(tooLarge.jsonPath().getString("detail")).contains("1048576");
        // a media type the API does not read
        given().contentType(ContentType.XML).body("<epochs>1</epochs>").post("/api/v1/trainings").then()
                .statusCode(415);
        // the service is healthy
        given().get("/q/health/live").then().statusCode(200);
        given().get("/api/v1/trainings").then().statusCode(200);
    }
}
