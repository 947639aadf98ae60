package io.featurerelay.transfer.service;

import io.featurerelay.service.problem.ProblemException;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.OutputStream;
import java.util.List;

/** What the API reads: transfers, base models, model 2 downloads; from the shared tables, the same on every replica. */
@ApplicationScoped
public class TransferQueries {

    private final TransferJobs jobs;

    public TransferQueries(TransferJobs jobs) {
        this.jobs = jobs;
    }

    public List<RegisteredBaseModel> baseModels() {
        return jobs.baseModels().list();
    }

    public List<TransferStatus> list() {
        return jobs.machinery().store().list().stream().filter(row -> !LearningCurves.isCurve(row.id()))
                .map(jobs::status).toList();
    }

    public TransferStatus get(String id) {
        return jobs.status(jobs.row(id));
    }

    /**
     * The artifact of a transfer's model {@code role} ({@code transfer}: model 2, the default; {@code fine-tune}),
     * checked to exist before a download's response starts.
     *
     * @throws ProblemException 400 naming {@code role} for another role, 404 when the transfer has no such model
     */
    public String requireModel(String id, String role) {
        jobs.row(id);
        String artifact = modelArtifact("role", role == null ? TransferJobHandler.TRANSFER : role);
        if (!jobs.machinery().artifacts().exists(id, artifact)) {
            throw new ProblemException(404, "Not found", "transfer " + id + " has no saved "
                    + (artifact.equals(TransferJobHandler.MODEL2) ? "model 2" : "fine-tuned model")
                    + " (yet" + (artifact.equals(TransferJobHandler.MODEL2) ? "" : ", or it ran without fine-tuning")
                    + ")", null);
        }
        return artifact;
    }

    /** The artifact of model {@code role}, or a 400 naming {@code field}. */
    static String modelArtifact(String field, String role) {
        return switch (role) {
            case TransferJobHandler.TRANSFER -> TransferJobHandler.MODEL2;
            case TransferJobHandler.FINE_TUNE -> TransferJobHandler.FINE_TUNE_MODEL;
            default -> throw ProblemException.invalidField(field, field + " must be transfer or fine-tune, got '"
                    + role + "'");
        };
    }

    /** Streams a finished transfer's model artifact ({@link #requireModel}) to {@code out}. */
    public void downloadModel(String id, String artifact, OutputStream out) {
        jobs.machinery().artifacts().read(id, artifact, (in, bytes) -> in.transferTo(out));
    }
}
