package io.featurerelay.service.problem;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.runtime.configuration.MemorySize;
import io.vertx.ext.web.Router;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * A request whose declared body is larger than {@code quarkus.http.limits.max-body-size} gets a 413 problem body
 * before a byte of it is read. Quarkus enforces the same limit on its own (chunked bodies without a length
 * included) but answers with an empty 413; this says which limit was hit.
 */
@ApplicationScoped
public class BodySizeLimit {

    private static final ObjectMapper JSON = new ObjectMapper();

    void install(@Observes Router router,
            @ConfigProperty(name = "quarkus.http.limits.max-body-size", defaultValue = "10240K") MemorySize limit) {
        long max = limit.asLongValue();
        router.route().order(Integer.MIN_VALUE).handler(ctx -> {
            String declared = ctx.request().getHeader("Content-Length");
            long length;
            try {
                length = declared == null ? -1 : Long.parseLong(declared.trim());
            } catch (NumberFormatException e) {
                length = -1;
            }
            if (length <= max) {
                ctx.next();
                return;
            }
            Problem problem = new Problem("about:blank", "Payload too large", 413, "the request body has " + length
                    + " bytes, more than the " + max + " this service accepts", ctx.request().path(), null);
            String body;
            try {
                body = JSON.writeValueAsString(problem);
            } catch (JsonProcessingException e) {
                body = "{\"status\":413}";
            }
            // the body is not read: close the connection rather than drain it
            ctx.response().setStatusCode(413).putHeader("Content-Type", Problem.MEDIA_TYPE)
                    .putHeader("Connection", "close").end(body);
        });
    }
}
