package io.featurerelay.learning.wire;

import static org.assertj.core.api.Assertions.assertThat;

import io.featurerelay.learning.PythonProcess;
import org.junit.jupiter.api.Test;

/**
 * The Python reader's own tests (clients/python/test_featurerelay_envelope.py: the committed vectors, the header's
 * JSON Schema, signatures), run from Maven so that {@code mvn verify} covers them. They need python3 with NumPy
 * (.ci/run installs Debian's python3-numpy).
 */
class PythonEnvelopeReaderTest {

    @Test
    void thePythonReaderPassesItsTestsOnTheCommittedVectors() throws Exception {
        PythonProcess.Result result = PythonProcess.run(120, "-m", "unittest", "-v", "test_featurerelay_envelope");
        assertThat(result.exitCode()).as(result.output()).isZero();
        // the run found the tests (an empty discovery also exits 0 on some versions)
        assertThat(result.output()).containsPattern("test_every_vector_is_read_as_the_manifest_says .*\\.\\.\\. ok")
                .containsPattern("Ran [5-9] tests").contains("\nOK");
    }
}
