package io.featurerelay.transfer.service;

import io.featurerelay.learning.dataset.DatasetKind;
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
import java.util.regex.Pattern;
import org.jboss.logging.Logger;

/**
 * Receives the records of {@code feature-weights}: verifies signature, envelope and fit, then stores the base
 * model and creates its target jobs in one transaction. Whichever replica consumes a record does this; the
 * registry's unique (id, SHA-256) makes a redelivered or raced record a duplicate that creates nothing.
 */
@ApplicationScoped
public class BaseModelIntake {

    private static final Logger LOG = Logger.getLogger(BaseModelIntake.class);
    /** Base model ids become parts of job ids, database keys and metric labels: nothing else gets in. */
    static final Pattern BASE_ID = Pattern.compile("[a-z0-9][a-z0-9-]{0,100}");

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
        FeatureWeights weights = codec.decode(envelope);
        String id = weights.header().baseModelId();
        if (!BASE_ID.matcher(id).matches()) {
            throw new EnvelopeException.MalformedHeader("the base model id must be 1-101 lowercase letters, digits"
                    + " and dashes, starting with a letter or digit");
        }
        if (key != null && !key.equals(id)) {
            throw new EnvelopeException.MalformedHeader("the record key " + key
                    + " differs from the envelope's base model id " + id);
        }
        for (var target : jobs.enabledTargets().entrySet()) {
            DatasetKind kind = TransferJobs.dataset(target.getValue().dataset(), "transfer.targets." + target.getKey());
            if (kind.shape().isPresent()) {
                FeatureWeightsCodec.checkCompatible(weights, kind.shape().get());
            }
        }
        String sha = FeatureWeightsCodec.sha256(envelope);
        var h = weights.header();
        BaseModel base = new BaseModel(id, sha, h.dataset().name(), h.dataset().classes(), h.dataset().classNames(),
                h.spec().inputShape(), h.history(), h.trainingSeconds(), Instant.now(), envelope.length);
        List<String> created = jobs.database().transaction(c -> {
            if (!jobs.baseModels().insert(c, base, envelope)) {
                return null;
            }
            return jobs.createTargetJobs(c, base);
        });
        if (created == null) {
            LOG.infof("base model %s (%s) was received before: no new jobs", id, sha.substring(0, 12));
            return Receipt.DUPLICATE;
        }
        LOG.infof("stored base model %s (%d bytes, classes %s); queued %s", id, envelope.length,
                base.sourceClasses(), created);
        jobs.jobsAdded();
        return Receipt.ACCEPTED;
    }
}
