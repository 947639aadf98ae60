package io.featurerelay.service.security;

import io.featurerelay.service.problem.Problem;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Response;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.Set;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

/**
 * When an API token is configured, requests under /api/ that change something (or cost training time) must
 * carry it; reads and predictions as configured. Health, metrics and OpenAPI under /q/ stay open for probes
 * and scrapers.
 */
public class ApiTokenFilter {

    /** The header an API client may use instead of {@code Authorization: Bearer}. */
    public static final String API_KEY_HEADER = "X-API-Key";
    private static final Set<String> READS = Set.of("GET", "HEAD", "OPTIONS");

    private final ApiSecurityConfig config;

    public ApiTokenFilter(ApiSecurityConfig config) {
        this.config = config;
    }

    @ServerRequestFilter
    public Optional<Response> requireToken(ContainerRequestContext request) {
        String path = request.getUriInfo().getPath();
        if (config.apiToken().isEmpty() || !needsToken(request.getMethod(), path)) {
            return Optional.empty();
        }
        String bearer = request.getHeaderString("Authorization");
        String apiKey = request.getHeaderString(API_KEY_HEADER);
        String expected = config.apiToken().get();
        if (matches("Bearer " + expected, bearer) || matches(expected, apiKey)) {
            return Optional.empty();
        }
        boolean none = bearer == null && apiKey == null;
        return Optional.of(Response.status(401).type(Problem.MEDIA_TYPE).header("WWW-Authenticate", "Bearer")
                .entity(new Problem("about:blank", "Unauthorized", 401, none
                        ? "this request needs the header Authorization: Bearer <API token> (or " + API_KEY_HEADER
                                + ": <API token>)"
                        : "the API token is not valid", path, bearer != null || apiKey == null ? "Authorization"
                                : API_KEY_HEADER))
                .build());
    }

    private boolean needsToken(String method, String path) {
        if (!path.startsWith("/api/")) {
            return false;
        }
        if (READS.contains(method)) {
            return config.protectReads();
        }
        return config.protectPredictions() || !path.endsWith("/predictions");
    }

    /** Constant-time comparison, so that the response time does not reveal how much of a guess was right. */
    private static boolean matches(String expected, String given) {
        return given != null && MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8),
                given.getBytes(StandardCharsets.UTF_8));
    }
}
