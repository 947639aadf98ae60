package io.featurerelay.transfer;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.featurerelay.broker.InjectKafkaBroker;
import io.featurerelay.broker.KafkaBrokerProcess;
import io.featurerelay.broker.KafkaBrokerTestResource;
import io.featurerelay.postgres.PostgresTestResource;
import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every field of a re-run request ({@code POST /api/v1/transfers}) with values of the wrong type or out of
 * range: a 400 problem body naming the field, never a 500. The request names a stored base model (a re-run's
 * defaults come from it), so a value that slipped through validation would queue a job: a 202, not the 400.
 */
@QuarkusTest
@WithTestResource(value = KafkaBrokerTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES)
@WithTestResource(value = PostgresTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES,
        initArgs = @ResourceArg(name = PostgresTestResource.ROLE, value = "transfer"))
class TransferRequestFuzzTest {

    private static final String BASE = "base-fuzz";

    @InjectKafkaBroker
    KafkaBrokerProcess broker;

    /** Once: a stored base model for the requests to name (its own target job is cancelled at once). */
    @BeforeEach
    void storeTheBaseModel() throws Exception {
        TestEnvelopes.ensureStored(broker.bootstrapServers(), BASE);
    }

    private static final List<String> NOT_A_NUMBER = List.of("\"x\"", "\"5\"", "true", "{}", "[]", "\"\"", "1.5");

    static Stream<Arguments> badFields() {
        Map<String, List<String>> bad = new LinkedHashMap<>();
        bad.put("epochs", concat(NOT_A_NUMBER, "0", "-1", "4", "2147483648"));
        bad.put("batchSize", concat(NOT_A_NUMBER, "0", "-1", "2049", "99999999999"));
        bad.put("learningRate", List.of("\"x\"", "true", "{}", "[]", "\"\"", "0", "-1", "11", "1e308"));
        bad.put("seed", List.of("\"x\"", "true", "{}", "[]", "1.5", "1e30", "9223372036854775808"));
        bad.put("baseline", List.of("\"x\"", "1", "{}", "[]", "\"\""));
        bad.put("featurized", List.of("\"yes\"", "0", "{}", "[]"));
        bad.put("dataset", List.of("1", "{}", "[]", "\"\"", "\"imagenet\""));
        bad.put("dataDir", List.of("1", "{}", "[]", "\"/nonexistent/dir\"", "\"\\u0000\""));
        bad.put("head", List.of("1", "{}", "[]", "\"\"", "\"half\""));
        bad.put("optimizer", List.of("1", "{}", "[]", "\"\"", "\"sgd\""));
        bad.put("classes", List.of("\"x\"", "{}", "5", "[]", "[5]", "[null]", "[\"a\"]", "[5.5]", "[-1]", "[10]",
                "[5,5]", "[[5]]"));
        bad.put("baseModelId", List.of("1", "{}", "[]", "\"\"", "null", "true"));
        bad.put("fineTuneEpochs", concat(NOT_A_NUMBER, "-1", "4", "2147483648"));
        // without fineTuneEpochs any fineTuneLearningRate is refused, as nothing would use it
        bad.put("fineTuneLearningRate", List.of("\"x\"", "true", "{}", "[]", "\"\"", "0", "-1", "11", "1e308", "0.01"));
        // the committed sample has 400 training images of each class
        bad.put("trainPerClass", concat(NOT_A_NUMBER, "-1", "401", "2147483648"));
        return bad.entrySet().stream().flatMap(e -> e.getValue().stream().map(v -> Arguments.of(e.getKey(), v)));
    }

    private static List<String> concat(List<String> first, String... more) {
        return Stream.concat(first.stream(), Stream.of(more)).toList();
    }

    @ParameterizedTest(name = "{0} = {1}")
    @MethodSource("badFields")
    void aBadValueIsA400NamingItsField(String field, String value) {
        String body = field.equals("baseModelId") ? "{\"baseModelId\":" + value + "}"
                : "{\"baseModelId\":\"" + BASE + "\",\"" + field + "\":" + value + "}";
        Response r = given().contentType(ContentType.JSON).body(body).post("/api/v1/transfers");
        assertThat(r.statusCode()).as(r.asString()).isEqualTo(400);
        assertThat(r.contentType()).startsWith("application/problem+json");
        assertThat(r.jsonPath().getString("field")).as(r.asString()).startsWith(field);
    }

    /** Identifiers of the body and the path: checked against what they become, 400 naming the field. */
    @ParameterizedTest(name = "{0} = {1}")
    @CsvSource(delimiter = '|', value = {
        "baseModelId|..|is a relative path segment",
        "baseModelId|../base-1|contains a path separator at 2",
        "baseModelId|base-1\\u0000|contains a NUL character at 6",
        "baseModelId|base-\u00e9|contains a non-ASCII character at 5",
        "baseModelId|Base-1|must start with a lowercase letter or a digit",
        "dataDir|../../etc|contains a '..' segment",
        "dataDir|data\\u0000|contains a NUL character at 4",
    })
    void identifiersInTheBodyAreCheckedBeforeUse(String field, String value, String detail) {
        String body = field.equals("baseModelId") ? "{\"baseModelId\":\"" + value + "\"}"
                : "{\"baseModelId\":\"" + BASE + "\",\"" + field + "\":\"" + value + "\"}";
        Response r = given().contentType(ContentType.JSON).body(body).post("/api/v1/transfers");
        assertThat(r.statusCode()).as(r.asString()).isEqualTo(400);
        assertThat(r.jsonPath().getString("field")).isEqualTo(field);
        assertThat(r.jsonPath().getString("detail")).isEqualTo(field + " " + detail);
    }

    @Test
    void anOverLongBaseModelIdIsRefused() {
        Response r = given().contentType(ContentType.JSON).body("{\"baseModelId\":\"" + "b".repeat(102) + "\"}")
                .post("/api/v1/transfers");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.jsonPath().getString("detail")).isEqualTo("baseModelId is longer than 101 characters (102)");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "Transfer-1|must start with a lowercase letter or a digit",
        "a.b|may hold only lowercase letters, digits and dashes",
        "a%00b|contains a NUL character at 1",
        "a%5Cb|contains a path separator at 1",
        "caf%C3%A9|contains a non-ASCII character at 3",
    })
    void pathIdsThatCannotNameAJobAre400NamingTheField(String segment, String detail) {
        for (String path : new String[] {"/api/v1/transfers/" + segment, "/api/v1/transfers/" + segment + "/model"}) {
            Response r = given().urlEncodingEnabled(false).get(path);
            assertThat(r.statusCode()).as(path + ": " + r.asString()).isEqualTo(400);
            assertThat(r.contentType()).startsWith("application/problem+json");
            assertThat(r.jsonPath().getString("field")).isEqualTo("id");
            assertThat(r.jsonPath().getString("detail")).contains(detail);
        }
        Response predict = given().urlEncodingEnabled(false).contentType("image/png").body(new byte[] {1})
                .post("/api/v1/transfers/" + segment + "/predictions");
        assertThat(predict.statusCode()).isEqualTo(400);
        assertThat(predict.jsonPath().getString("field")).isEqualTo("id");
        assertThat(given().urlEncodingEnabled(false).delete("/api/v1/transfers/" + segment).statusCode())
                .isEqualTo(400);
    }

    @Test
    void bodiesThatAreNoRequestAre4xxProblems() {
        for (String body : List.of("", "null", "1", "[]", "{", "{\"baseModelId\":\"x\"}}", "\u0000")) {
            Response r = given().contentType(ContentType.JSON).body(body).post("/api/v1/transfers");
            assertThat(r.statusCode()).as("body %s: %s", body, r.asString()).isBetween(400, 415);
            assertThat(r.contentType()).as(body).startsWith("application/problem+json");
        }
        // above quarkus.http.limits.max-body-size (8 MiB here: predictions upload images)
        Response tooLarge = given().contentType(ContentType.JSON).body(new byte[9 << 20]).post("/api/v1/transfers");
        assertThat(tooLarge.statusCode()).isEqualTo(413);
        assertThat(tooLarge.contentType()).startsWith("application/problem+json");
        given().get("/q/health/live").then().statusCode(200);
    }
}
