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
        return jobs.machinery().store().list().stream().map(jobs::status).toList();
    }

    public TransferStatus get(String id) {
        return jobs.status(jobs.row(id));
    }

    /** Checks that {@code id} has a stored model 2, before a download's response starts. */
    public void requireModel2(String id) {
        jobs.row(id);
        if (!jobs.machinery().artifacts().exists(id, TransferJobHandler.MODEL2)) {
            throw new ProblemException(404, "Not found", "transfer " + id + " has no saved model 2 (yet)", null);
        }
    }

    /** Streams model 2 of a finished transfer to {@code out}. */
    public void downloadModel2(String id, OutputStream out) {
        jobs.machinery().artifacts().read(id, TransferJobHandler.MODEL2, (in, bytes) -> in.transferTo(out));
    }
}
