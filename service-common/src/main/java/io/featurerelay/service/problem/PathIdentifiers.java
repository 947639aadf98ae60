package io.featurerelay.service.problem;

import io.featurerelay.learning.ids.Identifier;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.Response;
import java.util.List;
import java.util.Map;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

/**
 * Every {@code {id}} of a matched REST path is a job id, checked here once for every resource of both services:
 * a value that cannot be one ({@code ..}, a separator, NUL, non-ASCII, too long) gets a 400 problem naming the
 * field {@code id} before any resource, statement or response header sees it.
 */
public class PathIdentifiers {

    /** The path parameter that names a job in both services' APIs. */
    public static final String ID = "id";

    @ServerRequestFilter
    public Response check(ContainerRequestContext request) {
        Map<String, List<String>> parameters = request.getUriInfo().getPathParameters();
        for (String value : parameters.getOrDefault(ID, List.of())) {
            var problem = Identifier.JOB_ID.problem(value);
            if (problem.isPresent()) {
                return ProblemMappers.respond(400, "Invalid request field", "path segment id " + problem.get()
                        + "; ids are lowercase letters, digits and dashes", request.getUriInfo(), ID);
            }
        }
        return null;
    }
}
