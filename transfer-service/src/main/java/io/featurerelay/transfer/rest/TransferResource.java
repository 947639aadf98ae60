package io.featurerelay.transfer.rest;

import io.featurerelay.transfer.service.Prediction;
import io.featurerelay.transfer.service.PredictionService;
import io.featurerelay.transfer.service.TransferJobs;
import io.featurerelay.transfer.service.TransferQueries;
import io.featurerelay.transfer.service.TransferStatus;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.StreamingOutput;
import jakarta.ws.rs.core.UriInfo;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.Operation;

/** The transfers API: thin, every decision is the service's. */
@Path("/api/v1/transfers")
@Produces(MediaType.APPLICATION_JSON)
public class TransferResource {

    private final TransferQueries queries;
    private final TransferJobs jobs;
    private final PredictionService predictions;

    public TransferResource(TransferQueries queries, TransferJobs jobs, PredictionService predictions) {
        this.queries = queries;
        this.jobs = jobs;
        this.predictions = predictions;
    }

    @GET
    @Operation(summary = "All transfers, newest first")
    public List<TransferStatus> list() {
        return queries.list();
    }

    @GET
    @Path("{id}")
    @Operation(summary = "State, progress, model 2 and baseline histories side by side, summary, base lineage")
    public TransferStatus get(@PathParam("id") String id) {
        return queries.get(id);
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(summary = "Re-run from a stored base model with other classes, epochs or head mode")
    public Response rerun(TransferRequest request, UriInfo uri) {
        TransferStatus status = jobs.rerun(request);
        return Response.accepted(status).location(uri.getAbsolutePathBuilder().path(status.id()).build()).build();
    }

    @DELETE
    @Path("{id}")
    @Operation(summary = "Cancel a queued or running transfer")
    public TransferStatus cancel(@PathParam("id") String id) {
        return jobs.cancel(id);
    }

    @GET
    @Path("{id}/model")
    @Produces("application/zip")
    @Operation(summary = "Download model 2 (role=transfer, the default: DL4J model zip, frozen feature layers"
            + " included) or the fine-tuned model (role=fine-tune)")
    public Response model(@PathParam("id") String id, @QueryParam("role") String role) {
        String artifact = queries.requireModel(id, role);
        String name = role == null || role.equals("transfer") ? "model2" : role;
        return Response.ok((StreamingOutput) out -> queries.downloadModel(id, artifact, out))
                .header("Content-Disposition", "attachment; filename=\"" + id + "-" + name + ".zip\"").build();
    }

    @POST
    @Path("{id}/predictions")
    @Consumes({"image/png", "image/jpeg", MediaType.APPLICATION_OCTET_STREAM})
    @Operation(summary = "Classify a PNG or JPEG image: classes with probabilities, top first; model=transfer"
            + " (model 2) or fine-tune, by default the one with the higher validation accuracy")
    public Prediction predict(@PathParam("id") String id, @QueryParam("model") String model, byte[] image) {
        return predictions.predict(id, model, image);
    }
}
