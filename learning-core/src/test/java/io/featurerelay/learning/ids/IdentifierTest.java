package io.featurerelay.learning.ids;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.featurerelay.learning.SeededInputs;
import java.nio.file.Path;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every kind of identifier against the values that break things ({@code .}, {@code ..}, separators, NUL, controls,
 * over-long and non-ASCII values), and seeded properties: what a kind admits is exactly what its definition says,
 * and nothing it admits can leave the folder, the table or the label it is meant for.
 */
class IdentifierTest {

    private static final Pattern SLUG = Pattern.compile("[a-z0-9][a-z0-9-]*");
    private static final Pattern FILE_NAME = Pattern.compile("[A-Za-z0-9_+()][A-Za-z0-9_.+() -]*");

    @ParameterizedTest
    @EnumSource(Identifier.class)
    void theValuesThatBreakThingsAreRefusedByEveryKind(Identifier kind) {
        assertThat(kind.problem(null)).hasValue("is missing");
        assertThat(kind.problem("")).hasValue("is empty");
        assertThat(kind.problem("a\u0000b")).hasValue("contains a NUL character at 1");
        assertThat(kind.problem("a\nb")).hasValue("contains a control character at 1");
        assertThat(kind.problem("a\u007fb")).hasValue("contains a control character at 1");
        assertThat(kind.problem("caf\u00e9")).hasValue("contains a non-ASCII character at 3");
        assertThat(kind.problem("\u0430")).as("a Cyrillic a").hasValue("contains a non-ASCII character at 0");
        assertThat(kind.problem("x".repeat(kind.maxLength() + 1)))
                .hasValue("is longer than " + kind.maxLength() + " characters (" + (kind.maxLength() + 1) + ")");
        assertThat(kind.problem("x".repeat(kind.maxLength()))).isEmpty();
        assertThat(kind.problem("..")).isPresent();
        assertThat(kind.problem("../x")).isPresent();
        assertThat(kind.problem("a/../../b")).isPresent();
    }

    @ParameterizedTest
    @EnumSource(value = Identifier.class, names = "DATA_DIR", mode = EnumSource.Mode.EXCLUDE)
    void aSegmentIsNeverADotOrAPath(Identifier kind) {
        assertThat(kind.problem(".")).hasValue("is a relative path segment");
        assertThat(kind.problem("..")).hasValue("is a relative path segment");
        assertThat(kind.problem("a/b")).hasValue("contains a path separator at 1");
        assertThat(kind.problem("a\\b")).hasValue("contains a path separator at 1");
        assertThat(kind.problem("/etc")).hasValue("contains a path separator at 0");
    }

    @Test
    void idsAreLowercaseLettersDigitsAndDashes() {
        for (Identifier kind : new Identifier[] {Identifier.JOB_ID, Identifier.BASE_MODEL_ID, Identifier.TARGET_NAME}) {
            assertThat(kind.valid("base-20261202-0650-1a2b3c")).as(kind.name()).isEqualTo(kind.maxLength() >= 25);
            assertThat(kind.valid("default")).isTrue();
            assertThat(kind.problem("-x")).hasValue("must start with a lowercase letter or a digit");
            assertThat(kind.problem("Base")).hasValue("must start with a lowercase letter or a digit");
            assertThat(kind.problem("a.b")).hasValue("may hold only lowercase letters, digits and dashes"
                    + " (found '.' at 1)");
            assertThat(kind.problem("a b")).isPresent();
            assertThat(kind.problem("a'b")).isPresent();
            assertThat(kind.problem("a\"b")).as("a label value's quote").isPresent();
        }
        assertThat(Identifier.BASE_MODEL_ID.maxLength()).isEqualTo(101);
        assertThat(Identifier.JOB_ID.maxLength()).isEqualTo(127);
        assertThat(Identifier.TARGET_NAME.maxLength()).isEqualTo(16);
    }

    @Test
    void fileNamesArePlainSegments() {
        assertThat(Identifier.FILE_NAME.valid("ankle boot")).isTrue();
        assertThat(Identifier.FILE_NAME.valid("IMG_0001 (2).JPG")).isTrue();
        assertThat(Identifier.FILE_NAME.problem(".hidden")).hasValue("must not start with '.'");
        assertThat(Identifier.FILE_NAME.problem("-rf")).hasValue("must not start with '-'");
        assertThat(Identifier.FILE_NAME.problem("a:b")).isPresent();
        assertThat(Identifier.FILE_NAME.problem("a*b")).isPresent();
    }

    @Test
    void dataDirsMayBePathsButNeverClimb() {
        assertThat(Identifier.DATA_DIR.valid("/usr/share/datasets/fashion-mnist")).isTrue();
        assertThat(Identifier.DATA_DIR.valid("learning-core/src/test/resources/fashion-mnist-sample")).isTrue();
        assertThat(Identifier.DATA_DIR.valid("./data/images")).isTrue();
        assertThat(Identifier.DATA_DIR.problem("data/../../etc")).hasValue("contains a '..' segment");
        assertThat(Identifier.DATA_DIR.problem("..")).hasValue("contains a '..' segment");
        assertThat(Identifier.DATA_DIR.valid("data/..hidden")).as("a name beginning with two dots").isTrue();
    }

    @Test
    void requireNamesTheFieldAndQuoteEscapesWhatIsNotPrintable() {
        assertThatThrownBy(() -> Identifier.JOB_ID.require("id", "../x"))
                .isInstanceOfSatisfying(InvalidIdentifierException.class, e -> {
                    assertThat(e.field()).isEqualTo("id");
                    assertThat(e.problem()).isEqualTo("contains a path separator at 2");
                    assertThat(e.getMessage()).isEqualTo("id contains a path separator at 2");
                });
        assertThat(Identifier.JOB_ID.require("id", "job-1")).isEqualTo("job-1");
        assertThat(Identifier.quote("a\u0000b\nc'")).isEqualTo("'a\\u0000b\\u000ac\\u0027'");
        assertThat(Identifier.quote("x".repeat(100))).isEqualTo("'" + "x".repeat(64) + "...(100 characters)'");
    }

    // properties, over seeded random strings (mostly plausible characters, now and then anything)

    static Stream<String> strings() {
        return SeededInputs.draw(3000, r -> SeededInputs.string(r, "abcxyz0189-._ AZ/+", 1 + r.nextInt(140)));
    }

    @ParameterizedTest
    @MethodSource("strings")
    void idsAdmitExactlyTheirDefinition(String value) {
        for (Identifier kind : new Identifier[] {Identifier.JOB_ID, Identifier.BASE_MODEL_ID, Identifier.TARGET_NAME}) {
            boolean defined = SLUG.matcher(value).matches() && value.length() <= kind.maxLength();
            assertThat(kind.valid(value)).as("%s %s", kind, Identifier.quote(value)).isEqualTo(defined);
        }
    }

    @ParameterizedTest
    @MethodSource("strings")
    void fileNamesAdmitExactlyTheirDefinitionAndStayInTheirFolder(String value) {
        boolean defined = FILE_NAME.matcher(value).matches() && value.length() <= 255 && !value.equals("..");
        assertThat(Identifier.FILE_NAME.valid(value)).as(Identifier.quote(value)).isEqualTo(defined);
        if (defined) {
            Path folder = Path.of("/data/train/cats");
            Path resolved = folder.resolve(value).normalize();
            assertThat(resolved.getParent()).isEqualTo(folder);
            assertThat(resolved.getFileName().toString()).isEqualTo(value);
        }
    }

    @ParameterizedTest
    @MethodSource("strings")
    void anAdmittedDataDirNeverClimbsAboveWhereItStarts(String value) {
        if (Identifier.DATA_DIR.valid(value)) {
            Path base = Path.of("/srv/data");
            assertThat(base.resolve(value).normalize().startsWith(value.startsWith("/") ? Path.of("/") : base))
                    .as(Identifier.quote(value)).isTrue();
            assertThat(value.chars().allMatch(c -> c >= 0x20 && c < 0x7f)).isTrue();
        } else {
            assertThat(Identifier.DATA_DIR.problem(value)).isPresent();
        }
    }

    @ParameterizedTest
    @MethodSource("strings")
    void whatAnyKindAdmitsIsPrintableAsciiAndNeverADotSegment(String value) {
        for (Identifier kind : Identifier.values()) {
            if (kind.valid(value)) {
                assertThat(value).isNotEmpty().doesNotContain("\u0000");
                assertThat(value.chars().allMatch(c -> c >= 0x20 && c < 0x7f)).as("%s %s", kind,
                        Identifier.quote(value)).isTrue();
                if (kind != Identifier.DATA_DIR) {
                    assertThat(value).isNotIn(".", "..").doesNotContain("/").doesNotContain("\\");
                }
            }
            // quoting anything gives one printable line of bounded length
            String quoted = Identifier.quote(value);
            assertThat(quoted.chars().allMatch(c -> c >= 0x20 && c < 0x7f)).isTrue();
            assertThat(quoted.length()).isLessThanOrEqualTo(2 + 64 * 6 + 30);
        }
    }
}
