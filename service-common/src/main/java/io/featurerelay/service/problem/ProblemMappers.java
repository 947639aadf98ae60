package io.featurerelay.service.problem;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import io.featurerelay.learning.ids.InvalidIdentifierException;
import io.featurerelay.service.jobs.Database;
import io.featurerelay.service.jobs.StoreUnavailableException;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/** Every error response of the services, as problem details; resources never build error responses themselves. */
public class ProblemMappers {

    private static final Logger LOG = Logger.getLogger(ProblemMappers.class);

    @ServerExceptionMapper
    public Response problem(ProblemException e, UriInfo uri) {
        return respond(e.status(), e.title(), e.getMessage(), uri, e.field());
    }

    @ServerExceptionMapper
    public Response webApplication(WebApplicationException e, UriInfo uri) {
        // the JSON reader wraps some Jackson failures in a 400: answer them as the Jackson mappers would
        for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
            if (cause instanceof JsonParseException parse) {
                return unparseableJson(parse, uri);
            }
            if (cause instanceof UnrecognizedPropertyException unknown) {
                return unknownProperty(unknown, uri);
            }
            if (cause instanceof JsonProcessingException json) {
                return otherJson(json, uri);
            }
        }
        int status = e.getResponse().getStatus();
        if (status >= 500) {
            LOG.error("request failed", e);
        }
        Response.Status known = Response.Status.fromStatusCode(status);
        return respond(status, known == null ? "HTTP " + status : known.getReasonPhrase(), e.getMessage(), uri, null);
    }

    @ServerExceptionMapper
    public Response unparseableJson(JsonParseException e, UriInfo uri) {
        return respond(400, "Malformed JSON", "the request body is not valid JSON: " + e.getOriginalMessage(), uri,
                null);
    }

    @ServerExceptionMapper
    public Response wrongJsonType(MismatchedInputException e, UriInfo uri) {
        return mapping(e, uri);
    }

    @ServerExceptionMapper
    public Response invalidFormat(InvalidFormatException e, UriInfo uri) {
        return mapping(e, uri);
    }

    @ServerExceptionMapper
    public Response unknownProperty(UnrecognizedPropertyException e, UriInfo uri) {
        return respond(400, "Invalid request field", "unknown field " + e.getPropertyName(), uri, path(e));
    }

    @ServerExceptionMapper
    public Response otherJson(JsonProcessingException e, UriInfo uri) {
        if (e instanceof JsonMappingException m) {
            return mapping(m, uri);
        }
        return respond(400, "Malformed JSON", e.getOriginalMessage(), uri, null);
    }

    /** An identifier of the request that cannot become what it would become: 400 naming its field. */
    @ServerExceptionMapper
    public Response invalidIdentifier(InvalidIdentifierException e, UriInfo uri) {
        return respond(400, "Invalid request field", e.getMessage(), uri, e.field());
    }

    /** The database is away: the request may succeed later, and nothing was changed. */
    @ServerExceptionMapper
    public Response storeUnavailable(StoreUnavailableException e, UriInfo uri) {
        LOG.warnf("request refused, the database is unavailable: %s", e.getMessage());
        Response problem = respond(503, "Service Unavailable",
                "the service's database is unavailable; nothing was changed, try again shortly", uri, null);
        return Response.fromResponse(problem).header("Retry-After", "5").build();
    }

    @ServerExceptionMapper
    public Response unexpected(RuntimeException e, UriInfo uri) {
        if (Database.unavailable(e)) {
            return storeUnavailable(new StoreUnavailableException(e.getMessage(), e), uri);
        }
        LOG.error("unexpected failure", e);
        return respond(500, "Internal Server Error", "the server failed; see its log", uri, null);
    }

    private static Response mapping(JsonMappingException e, UriInfo uri) {
        String field = path(e);
        // a record constructor that rejected its values says why in the cause (e.g. "kernel must be in 1..11")
        String reason = e.getCause() instanceof IllegalArgumentException iae ? iae.getMessage() : e.getOriginalMessage();
        String detail = field == null ? "the request body does not fit the expected JSON: " + reason
                : "field " + field + " is invalid: " + reason;
        return respond(400, field == null ? "Malformed JSON" : "Invalid request field", detail, uri, field);
    }

    /** JSON path of the field at fault, e.g. {@code classes[2]} or {@code spec.kernel}. */
    static String path(JsonMappingException e) {
        if (e.getPath() == null || e.getPath().isEmpty()) {
            return null;
        }
        String joined = e.getPath().stream()
                .map(ref -> ref.getFieldName() != null ? "." + ref.getFieldName() : "[" + ref.getIndex() + "]")
                .collect(Collectors.joining());
        return joined.startsWith(".") ? joined.substring(1) : joined;
    }

    static Response respond(int status, String title, String detail, UriInfo uri, String field) {
        return Response.status(status)
                .type(Problem.MEDIA_TYPE)
                .entity(new Problem("about:blank", title, status, detail, uri == null ? null : uri.getPath(), field))
                .build();
    }
}
