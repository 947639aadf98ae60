package io.featurerelay.dashboard.service;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the Prometheus text exposition format (0.0.4, the format of Quarkus' /q/metrics) into samples:
 * a character scanner that follows the format's grammar (metric name, optional label set with escaped
 * values, value, optional timestamp; comment and blank lines skipped). Malformed lines are reported, not
 * guessed at.
 */
public final class ExpositionParser {

    private ExpositionParser() {
    }

    /** Thrown for a line that breaks the grammar; names the line. */
    public static final class MalformedExpositionException extends RuntimeException {
        MalformedExpositionException(int line, String problem) {
            super("line " + line + " of the exposition: " + problem);
        }
    }

    public static List<MetricSample> parse(String text) {
        List<MetricSample> samples = new ArrayList<>();
        int lineNumber = 0;
        for (String line : text.split("\n", -1)) {
            lineNumber++;
            String l = line.strip();
            if (l.isEmpty() || l.charAt(0) == '#') {
                continue;
            }
            samples.add(new LineScanner(l, lineNumber).sample());
        }
        return samples;
    }

    private static final class LineScanner {
        private final String s;
        private final int line;
        private int i;

        LineScanner(String s, int line) {
            this.s = s;
            this.line = line;
        }

        MetricSample sample() {
            String name = name(true);
            if (name.isEmpty()) {
                throw fail("expected a metric name");
            }
            Map<String, String> labels = new LinkedHashMap<>();
            skipSpaces();
            if (peek() == '{') {
                i++;
                labels(labels);
            }
            skipSpaces();
            int start = i;
            while (i < s.length() && !Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            return new MetricSample(name, Map.copyOf(labels), number(s.substring(start, i)));
        }

        private void labels(Map<String, String> labels) {
            while (true) {
                skipSpaces();
                if (peek() == '}') {
                    i++;
                    return;
                }
                String key = name(false);
                if (key.isEmpty()) {
                    throw fail("expected a label name at column " + (i + 1));
                }
                skipSpaces();
                expect('=');
                skipSpaces();
                expect('"');
                StringBuilder value = new StringBuilder();
                while (true) {
                    if (i >= s.length()) {
                        throw fail("unterminated value of label " + key);
                    }
                    char c = s.charAt(i++);
                    if (c == '"') {
                        break;
                    }
                    if (c == '\\') {
                        if (i >= s.length()) {
                            throw fail("dangling escape in label " + key);
                        }
                        char e = s.charAt(i++);
                        value.append(e == 'n' ? '\n' : e);
                    } else {
                        value.append(c);
                    }
                }
                labels.put(key, value.toString());
                skipSpaces();
                if (peek() == ',') {
                    i++;
                } else if (peek() != '}') {
                    throw fail("expected , or } after label " + key);
                }
            }
        }

        private String name(boolean metric) {
            int start = i;
            while (i < s.length()) {
                char c = s.charAt(i);
                boolean ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                        || (i > start && c >= '0' && c <= '9') || (metric && c == ':');
                if (!ok) {
                    break;
                }
                i++;
            }
            return s.substring(start, i);
        }

        private double number(String token) {
            switch (token) {
                case "NaN":
                    return Double.NaN;
                case "+Inf":
                case "Inf":
                    return Double.POSITIVE_INFINITY;
                case "-Inf":
                    return Double.NEGATIVE_INFINITY;
                default:
                    try {
                        return Double.parseDouble(token);
                    } catch (NumberFormatException e) {
                        throw fail("'" + token + "' is not a sample value");
                    }
            }
        }

        private char peek() {
            return i < s.length() ? s.charAt(i) : '\0';
        }

        private void expect(char c) {
            if (peek() != c) {
                throw fail("expected '" + c + "' at column " + (i + 1));
            }
            i++;
        }

        private void skipSpaces() {
            while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t')) {
                i++;
            }
        }

        private MalformedExpositionException fail(String problem) {
            return new MalformedExpositionException(line, problem);
        }
    }
}
