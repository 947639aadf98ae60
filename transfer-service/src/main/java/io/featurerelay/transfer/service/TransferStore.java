package io.featurerelay.transfer.service;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.featurerelay.service.jobs.DurableFiles;
import io.featurerelay.transfer.config.TransferConfig;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * Files of the transfer service under {@code transfer.store-dir}: {@code base-models/<id>/} holds each
 * verified envelope and its description; {@code transfers/<id>/} each job's status and model 2.
 * Every file is written atomically.
 */
@ApplicationScoped
public class TransferStore {

    private static final Logger LOG = Logger.getLogger(TransferStore.class);

    private final Path baseModels;
    private final Path transfers;
    private final ObjectMapper json;

    public TransferStore(TransferConfig config, ObjectMapper json) {
        this.baseModels = config.storeDir().toAbsolutePath().resolve("base-models");
        this.transfers = config.storeDir().toAbsolutePath().resolve("transfers");
        this.json = json;
    }

    private Path baseDir(String id) {
        return baseModels.resolve(id);
    }

    /** Stores a verified envelope; returns once it is on disk. */
    void saveBaseModel(BaseModel model, byte[] envelope) throws IOException {
        DurableFiles.write(baseDir(model.id()).resolve(model.sha256() + ".frw"), envelope);
        DurableFiles.writeJson(baseDir(model.id()).resolve("base-model.json"), json, model);
    }

    boolean hasEnvelope(String id, String sha256) {
        return Files.exists(baseDir(id).resolve(sha256 + ".frw"));
    }

    byte[] readEnvelope(BaseModel model) throws IOException {
        return Files.readAllBytes(baseDir(model.id()).resolve(model.sha256() + ".frw"));
    }

    List<BaseModel> loadBaseModels() {
        return readAll(baseModels, "base-model.json", BaseModel.class);
    }

    synchronized void saveStatus(TransferJob job) {
        TransferStatus status = job.snapshot();
        try {
            DurableFiles.writeJson(transfers.resolve(status.id()).resolve("status.json"), json, status);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the status of " + status.id(), e);
        }
    }

    List<TransferStatus> loadStatuses() {
        return readAll(transfers, "status.json", TransferStatus.class);
    }

    Path model2(String id) {
        return transfers.resolve(id).resolve("model2.zip");
    }

    private <T> List<T> readAll(Path root, String fileName, Class<T> type) {
        List<T> out = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return out;
        }
        try (Stream<Path> dirs = Files.list(root)) {
            for (Path dir : dirs.filter(Files::isDirectory).sorted().toList()) {
                Path file = dir.resolve(fileName);
                if (Files.exists(file)) {
                    try {
                        out.add(json.readValue(file.toFile(), type));
                    } catch (IOException e) {
                        LOG.warnf("skipping %s: %s", file, e.getMessage());
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + root, e);
        }
        return out;
    }
}
