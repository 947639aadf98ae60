package io.featurerelay.service.security;

import io.featurerelay.service.problem.Problem;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Response;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.Set;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

/** When an API token is configured, requests that change something (or cost training time) must carry it. */
public class ApiTokenFilter {

    private static final Set<String> READS = Set.of("GET", "HEAD", "OPTIONS");

    private final ApiSecurityConfig config;

    public ApiTokenFilter(ApiSecurityConfig config) {
        this.config = config;
    }

    @ServerRequestFilter
    public Optional<Response> requireToken(ContainerRequestContext request) {
        if (config.apiToken().isEmpty() || READS.contains(request.getMethod())
                || !request.getUriInfo().getPath().startsWith("/api/")) {
            return Optional.empty();
        }
        String given = request.getHeaderString("Authorization");
        byte[] expected = ("Bearer " + config.apiToken().get()).getBytes(StandardCharsets.UTF_8);
        if (given != null && MessageDigest.isEqual(expected, given.getBytes(StandardCharsets.UTF_8))) {
            return Optional.empty();
        }
        String path = request.getUriInfo().getPath();
        return Optional.of(Response.status(401).type(Problem.MEDIA_TYPE).header("WWW-Authenticate", "Bearer")
                .entity(new Problem("about:blank", "Unauthorized", 401, given == null
                        ? "this request needs the header Authorization: Bearer <API token>"
                        : "the API token is not valid", path, "Authorization"))
                .build());
    }
}
