package io.featurerelay.trainer.service;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.featurerelay.service.jobs.DurableFiles;
import io.featurerelay.trainer.config.TrainerConfig;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * One directory per job under {@code trainer.store-dir}: {@code status.json}, {@code model.zip} (the full
 * network) and {@code envelope.frw} (what goes to Kafka), each written atomically.
 */
@ApplicationScoped
public class ModelStore {

    private static final Logger LOG = Logger.getLogger(ModelStore.class);
    static final String STATUS = "status.json";
    static final String MODEL = "model.zip";
    static final String ENVELOPE = "envelope.frw";
    static final String SIGNATURE = "envelope.sig";

    private final Path root;
    private final ObjectMapper json;

    public ModelStore(TrainerConfig config, ObjectMapper json) {
        this.root = config.storeDir().toAbsolutePath();
        this.json = json;
    }

    public Path root() {
        return root;
    }

    Path dir(String id) {
        return root.resolve(id);
    }

    public Path model(String id) {
        return dir(id).resolve(MODEL);
    }

    public Path envelope(String id) {
        return dir(id).resolve(ENVELOPE);
    }

    /**
     * Writes the job's current status. Serialised, and the snapshot is taken inside the lock, so that an older
     * snapshot never overwrites a newer one.
     */
    synchronized void saveStatus(TrainingJob job) {
        TrainingStatus status = job.snapshot();
        try {
            DurableFiles.writeJson(dir(status.id()).resolve(STATUS), json, status);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the status of " + status.id(), e);
        }
    }

    /** Removes what a job left behind (a job refused before it was queued). */
    void delete(String id) {
        try (Stream<Path> files = Files.walk(dir(id))) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            LOG.warnf("cannot delete %s: %s", dir(id), e.getMessage());
        }
    }

    void saveEnvelope(String id, byte[] envelope, String signature) throws IOException {
        DurableFiles.write(envelope(id), envelope);
        if (signature != null) {
            DurableFiles.write(dir(id).resolve(SIGNATURE), signature.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    byte[] readEnvelope(String id) throws IOException {
        return Files.readAllBytes(envelope(id));
    }

    Optional<String> readSignature(String id) throws IOException {
        Path sig = dir(id).resolve(SIGNATURE);
        return Files.exists(sig) ? Optional.of(Files.readString(sig)) : Optional.empty();
    }

    /** Every stored job's status; unreadable ones are logged and skipped. */
    List<TrainingStatus> loadAll() {
        List<TrainingStatus> out = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return out;
        }
        try (Stream<Path> dirs = Files.list(root)) {
            for (Path d : dirs.filter(Files::isDirectory).sorted().toList()) {
                Path status = d.resolve(STATUS);
                if (Files.exists(status)) {
                    try {
                        out.add(json.readValue(status.toFile(), TrainingStatus.class));
                    } catch (IOException e) {
                        LOG.warnf("skipping %s: %s", status, e.getMessage());
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the model store " + root, e);
        }
        return out;
    }
}
