package io.featurerelay.transfer.rest;

import io.featurerelay.transfer.service.LearningCurveStatus;
import io.featurerelay.transfer.service.LearningCurves;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.Operation;

/** The learning-curves API: accuracy against labelled images per class, for model 2, fine-tune and scratch. */
@Path("/api/v1/learning-curves")
@Produces(MediaType.APPLICATION_JSON)
public class LearningCurveResource {

    private final LearningCurves curves;

    public LearningCurveResource(LearningCurves curves) {
        this.curves = curves;
    }

    @GET
    @Operation(summary = "All learning curves, newest first")
    public List<LearningCurveStatus> list() {
        return curves.list();
    }

    @GET
    @Path("{id}")
    @Operation(summary = "State, progress over the whole sweep, points by budget and role, the crossover")
    public LearningCurveStatus get(@PathParam("id") String id) {
        return curves.get(id);
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Operation(summary = "Train model 2, the baseline (and fine-tune when asked) at each label budget")
    public Response submit(LearningCurveRequest request, UriInfo uri) {
        LearningCurveStatus status = curves.submit(request);
        return Response.accepted(status).location(uri.getAbsolutePathBuilder().path(status.id()).build()).build();
    }

    @DELETE
    @Path("{id}")
    @Operation(summary = "Cancel a queued or running learning curve (the points done stay)")
    public LearningCurveStatus cancel(@PathParam("id") String id) {
        return curves.cancel(id);
    }
}
