package io.featurerelay.trainer.rest;

import io.featurerelay.trainer.service.TrainingService;
import io.featurerelay.trainer.service.TrainingStatus;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.StreamingOutput;
import jakarta.ws.rs.core.UriInfo;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.Operation;

/** The jobs API: thin, every decision is the service's. */
@Path("/api/v1/trainings")
@Produces(MediaType.APPLICATION_JSON)
public class TrainingResource {

    private final TrainingService service;

    public TrainingResource(TrainingService service) {
        this.service = service;
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(summary = "Queue a base-model training; 202 with its status, Location names it")
    public Response create(TrainingRequest request, UriInfo uri) {
        TrainingStatus status = service.submit(request);
        return Response.accepted(status).location(uri.getAbsolutePathBuilder().path(status.id()).build()).build();
    }

    @GET
    @Operation(summary = "All trainings, newest first, queued ones included")
    public List<TrainingStatus> list() {
        return service.list();
    }

    @GET
    @Path("{id}")
    @Operation(summary = "State, progress, per-epoch history, model summary and where the envelope was published")
    public TrainingStatus get(@PathParam("id") String id) {
        return service.get(id);
    }

    @DELETE
    @Path("{id}")
    @Operation(summary = "Cancel a queued or running training")
    public TrainingStatus cancel(@PathParam("id") String id) {
        return service.cancel(id);
    }

    @GET
    @Path("{id}/model")
    @Produces("application/zip")
    @Operation(summary = "Download the full trained model (DL4J model zip)")
    public Response model(@PathParam("id") String id) {
        service.requireArtifact(id, TrainingService.modelArtifact(), "saved model");
        return Response.ok((StreamingOutput) out -> service.download(id, TrainingService.modelArtifact(), out))
                .header("Content-Disposition", "attachment; filename=\"" + id + ".zip\"").build();
    }

    @GET
    @Path("{id}/envelope")
    @Produces(MediaType.APPLICATION_OCTET_STREAM)
    @Operation(summary = "Download the FeatureWeights envelope that was published")
    public Response envelope(@PathParam("id") String id) {
        service.requireArtifact(id, TrainingService.envelopeArtifact(), "envelope");
        return Response.ok((StreamingOutput) out -> service.download(id, TrainingService.envelopeArtifact(), out))
                .header("Content-Disposition", "attachment; filename=\"" + id + ".frw\"").build();
    }
}
