package io.featurerelay.dashboard.rest;

import io.featurerelay.dashboard.config.DashboardConfig;
import io.featurerelay.dashboard.service.DashboardAssembler;
import io.featurerelay.dashboard.service.DashboardView;
import io.featurerelay.dashboard.service.MetricsReader;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.stream.Collectors;
import org.eclipse.microprofile.openapi.annotations.Operation;

/** The JSON the page polls: figures from metrics, and model 2's per-layer summary from transfer-service. */
@Path("/api/v1/dashboard")
@Produces(MediaType.APPLICATION_JSON)
public class DashboardResource {

    private final MetricsReader reader;
    private final DashboardConfig config;

    public DashboardResource(MetricsReader reader, DashboardConfig config) {
        this.reader = reader;
        this.config = config;
    }

    @GET
    @Operation(summary = "Runs, per-epoch series, times, parameter counts, live progress and service states")
    public DashboardView view() {
        return DashboardAssembler.assemble(reader.read());
    }

    @GET
    @Path("settings")
    @Operation(summary = "Where the page reads from and how often it refreshes")
    public Map<String, Object> settings() {
        // trainerUrl and transferUrl: the first replica's (the page's curl hint); the lists: every replica's
        return Map.of("refreshMillis", config.refreshInterval().toMillis(),
                "trainerUrl", config.trainerUrl().get(0).toString(),
                "transferUrl", config.transferUrl().get(0).toString(),
                "trainerUrls", config.trainerUrl().stream().map(URI::toString).toList(),
                "transferUrls", config.transferUrl().stream().map(URI::toString).toList(),
                "prometheusUrl", config.prometheusUrl().map(URI::toString).orElse(""));
    }

    @GET
    @Path("transfers/{id}/summary")
    @Operation(summary = "Model 2's layers with frozen and trainable parameters, from transfer-service")
    public Response summary(@PathParam("id") String id) {
        try {
            HttpResponse<String> r = reader.transferStatus(id);
            return Response.status(r.statusCode()).type(r.headers().firstValue("Content-Type")
                    .orElse(MediaType.APPLICATION_JSON)).entity(r.body()).build();
        } catch (IOException e) {
            return Response.status(502).type("application/problem+json").entity(Map.of("type", "about:blank",
                    "title", "Bad Gateway", "status", 502, "detail", "transfer-service at " + config.transferUrl().stream()
                            .map(URI::toString).collect(Collectors.joining(", ")) + " is unreachable: "
                            + e.getMessage())).build();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Response.status(503).build();
        }
    }
}
