package io.featurerelay.transfer.service;

import io.featurerelay.learning.dataset.DatasetKind;
import io.featurerelay.learning.ids.Identifier;
import io.featurerelay.learning.wire.DecodeLimits;
import io.featurerelay.learning.wire.EnvelopeException;
import io.featurerelay.learning.wire.FeatureWeights;
import io.featurerelay.learning.wire.FeatureWeightsCodec;
import io.featurerelay.transfer.config.TransferConfig;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.wire.DatasetInfo;
import io.featurerelay.service.security.SigningConfig;
import io.featurerelay.service.security.SigningKeys;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.LinkedHashMap;
import java.util.Map;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * Receives the records of {@code feature-weights}: verifies signature, envelope and fit, then stores the base
 * model and creates its target jobs in one transaction. Whichever replica consumes a record does this; the
 * registry's unique (id, SHA-256) makes a redelivered or raced record a duplicate that creates nothing.
 */
@ApplicationScoped
public class BaseModelIntake {

    private static final Logger LOG = Logger.getLogger(BaseModelIntake.class);
    /** What became of a received record. */
    public enum Receipt { ACCEPTED, DUPLICATE }

    private final TransferConfig config;
    private final TransferJobs jobs;
    private final FeatureWeightsCodec codec;
    private final List<byte[]> signingKeys;

    public BaseModelIntake(TransferConfig config, TransferJobs jobs, SigningConfig signing) {
        this.config = config;
        this.jobs = jobs;
        this.codec = new FeatureWeightsCodec(new DecodeLimits(config.maxEnvelopeBytes(), 1 << 20));
        // created at start-up (warmUp below): without a usable key (or featurerelay.allow-unsigned) the service
        // does not start
        this.signingKeys = SigningKeys.require("transfer.signing-keys", config.signingKeys().orElse(List.of()),
                signing.allowUnsigned());
    }

    /**
     * Runs the verify-and-decode path once before the first record, so that a published base model becomes a
     * queued transfer within a second (measured by bench/ and PipelineIT) rather than after a second or more of
     * class initialisation.
     */
    void warmUp(@Observes StartupEvent event) {
        long start = System.nanoTime();
        ModelSpec spec = new ModelSpec(List.of(1, 8, 8), List.of(2), 3, 2, 0, 4, 0, 2);
        Map<String, Map<String, float[]>> params = new LinkedHashMap<>();
        spec.parameterShapes().forEach((layer, arrays) -> {
            Map<String, float[]> values = new LinkedHashMap<>();
            arrays.forEach((key, shape) -> values.put(key,
                    new float[shape.stream().mapToInt(Integer::intValue).reduce(1, (a, b) -> a * b)]));
            params.put(layer, values);
        });
        byte[] envelope = codec.encode("warm-up", Instant.now(), new DatasetInfo("warm-up", List.of(0, 1),
                List.of("a", "b"), spec.inputShape(), DatasetInfo.PIXELS_OVER_255), spec, params, List.of(), 0);
        byte[] key = "warm-up".getBytes(StandardCharsets.UTF_8);
        FeatureWeightsCodec.verifySignature(envelope, FeatureWeightsCodec.sign(envelope, key), key);
        codec.decode(envelope);
        FeatureWeightsCodec.sha256(envelope);
        LOG.infof("the envelope path warmed up in %d ms", (System.nanoTime() - start) / 1_000_000);
    }

    /**
     * Verifies a record and stores it durably with its jobs; when this returns the offset may be committed.
     *
     * @throws EnvelopeException naming why the record is rejected (it goes to the dead-letter topic)
     * @throws io.featurerelay.service.jobs.StoreUnavailableException when the database cannot take it now
     */
    public Receipt receive(String key, byte[] envelope, String signature) {
        if (!signingKeys.isEmpty()) {
            FeatureWeightsCodec.verifySignature(envelope, signature, signingKeys);
        }
        // the codec admits only a base model id that is an Identifier.BASE_MODEL_ID (a path segment, database
        // key, metric label and part of job ids); the key must be that id, and is checked before it is logged
        FeatureWeights weights = codec.decode(envelope);
        String id = weights.header().baseModelId();
        if (key != null) {
            Identifier.BASE_MODEL_ID.problem(key).ifPresent(problem -> {
                throw new EnvelopeException.MalformedHeader("the record key " + problem);
            });
            if (!key.equals(id)) {
                throw new EnvelopeException.MalformedHeader("the record key " + key
                        + " differs from the envelope's base model id " + id);
            }
        }
        var h = weights.header();
        // an envelope whose dataset has a fixed image shape must carry features that read it: anything else
        // contradicts itself (a configured target of another shape is no reason to reject it; see TargetSelection)
        var ownKind = DatasetKind.byId(h.dataset().name());
        if (ownKind.isPresent() && ownKind.get().shape().isPresent()) {
            FeatureWeightsCodec.checkCompatible(weights, ownKind.get().shape().get());
        }
        String sha = FeatureWeightsCodec.sha256(envelope);
        BaseModel base = new BaseModel(id, sha, h.dataset().name(), h.dataset().location(), h.dataset().classes(),
                h.dataset().classNames(), h.spec().inputShape(), h.history(), h.trainingSeconds(), Instant.now(),
                envelope.length);
        // decided before the transaction: it may list a directory and read one image
        TargetSelection.Plan plan = jobs.targets().plan(base);
        List<String> created = jobs.database().transaction(c -> {
            if (!jobs.baseModels().insert(c, base, envelope)) {
                return null;
            }
            return jobs.createTargetJobs(c, base, plan);
        });
        if (created == null) {
            LOG.infof("base model %s (%s) was received before: no new jobs", id, sha.substring(0, 12));
            return Receipt.DUPLICATE;
        }
        if (created.isEmpty()) {
            LOG.warnf("stored base model %s (%d bytes, classes %s) without a transfer job: %s", id, envelope.length,
                    base.sourceClasses(), plan.reason() != null ? plan.reason() : "its jobs exist already");
        } else {
            LOG.infof("stored base model %s (%d bytes, classes %s); queued %s", id, envelope.length,
                    base.sourceClasses(), created);
        }
        jobs.jobsAdded();
        return Receipt.ACCEPTED;
    }
}
