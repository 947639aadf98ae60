package io.featurerelay.service.json;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import io.quarkus.jackson.ObjectMapperCustomizer;
import jakarta.inject.Singleton;

/**
 * Request bodies are read as written: a value of the wrong JSON type is a 400 naming the field, not silently
 * converted. Jackson's defaults would take {@code "epochs": 1.5} as 1, {@code "epochs": ""} as absent (so the
 * default), {@code "epochs": "5"} as 5 and {@code {"epochs":1}}} as a request followed by noise, and start a
 * job the user did not ask for.
 */
@Singleton
public class StrictJson implements ObjectMapperCustomizer {

    @Override
    @SuppressWarnings("deprecation") // ALLOW_COERCION_OF_SCALARS is how Jackson 2 turns string<->number off
    public void customize(ObjectMapper mapper) {
        mapper.disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT);
        // {"epochs":1}} is not a request with something after it, it is not JSON
        mapper.enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        mapper.disable(MapperFeature.ALLOW_COERCION_OF_SCALARS);
        mapper.coercionConfigDefaults().setCoercion(CoercionInputShape.EmptyString, CoercionAction.Fail);
    }
}
