package io.featurerelay.transfer.rest;

import io.featurerelay.transfer.service.RegisteredBaseModel;
import io.featurerelay.transfer.service.TransferQueries;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.util.List;
import org.eclipse.microprofile.openapi.annotations.Operation;

@Path("/api/v1/base-models")
@Produces(MediaType.APPLICATION_JSON)
public class BaseModelResource {

    private final TransferQueries service;

    public BaseModelResource(TransferQueries service) {
        this.service = service;
    }

    @GET
    @Operation(summary = "Base models received and verified: id, SHA-256, source classes, history, received at, the jobs started from each and, when none started, why")
    public List<RegisteredBaseModel> list() {
        return service.baseModels();
    }
}
