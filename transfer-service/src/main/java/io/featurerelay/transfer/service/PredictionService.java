package io.featurerelay.transfer.service;

import io.featurerelay.learning.dataset.ImageBatches;
import io.featurerelay.learning.dataset.ImageConverter;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.model.Network;
import io.featurerelay.learning.model.NetworkFactory;
import io.featurerelay.learning.wire.DecodeLimits;
import io.featurerelay.learning.wire.FeatureWeights;
import io.featurerelay.learning.wire.FeatureWeightsCodec;
import io.featurerelay.service.jobs.JobState;
import io.featurerelay.service.problem.ProblemException;
import jakarta.enterprise.context.ApplicationScoped;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Classifies uploaded images with a finished transfer's model 2 or its fine-tuned model. Any replica answers: model 2 is read from the
 * shared artifacts the first time this replica is asked, and kept for the next requests (a few models).
 */
@ApplicationScoped
public class PredictionService {

    private static final int CACHED_MODELS = 4;

    private final TransferJobs jobs;
    private final NetworkFactory factory = NetworkFactory.standard();
    private final FeatureWeightsCodec codec;
    private final Map<String, Network> cache = Collections.synchronizedMap(new LinkedHashMap<>(8, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Network> eldest) {
            return size() > CACHED_MODELS;
        }
    });

    public PredictionService(TransferJobs jobs) {
        this.jobs = jobs;
        this.codec = new FeatureWeightsCodec(new DecodeLimits(jobs.config().maxEnvelopeBytes(), 1 << 20));
    }

    /**
     * @param model transfer (model 2), fine-tune, or null: the transfer's best model by validation accuracy
     */
    public Prediction predict(String id, String model, byte[] upload) {
        TransferStatus job = jobs.status(jobs.row(id));
        String role = model != null ? model : job.bestModel() != null ? job.bestModel() : TransferJobHandler.TRANSFER;
        String artifact = TransferQueries.modelArtifact("model", role);
        if (job.state() != JobState.SUCCEEDED) {
            throw ProblemException.conflict("transfer " + id + " is " + job.state() + ": it has no trained model 2 yet");
        }
        if (role.equals(TransferJobHandler.FINE_TUNE) && job.fineTuneHistory().isEmpty()) {
            throw ProblemException.invalidField("model", "transfer " + id + " ran without fine-tuning"
                    + " (fineTuneEpochs 0): it has no fine-tuned model");
        }
        if (upload == null || upload.length == 0) {
            throw ProblemException.invalidField("image", "the upload is empty: send a PNG or JPEG image as the body");
        }
        if (upload.length > jobs.config().maxUploadBytes()) {
            throw new ProblemException(413, "Payload too large", "the image has " + upload.length
                    + " bytes, more than the " + jobs.config().maxUploadBytes() + " accepted", "image");
        }
        BufferedImage image;
        try {
            image = ImageConverter.decode(upload).orElseThrow(() -> ProblemException.invalidField("image",
                    "the upload is not a PNG or JPEG image"));
        } catch (IllegalArgumentException tooLarge) {
            throw new ProblemException(413, "Payload too large", tooLarge.getMessage(), "image");
        }
        Network model2 = model(job, artifact);
        ModelSpec spec = model2.spec();
        float[] probabilities;
        synchronized (model2) {
            probabilities = model2.output(ImageBatches.single(ImageConverter.toChw(image, spec.imageShape()),
                    spec.imageShape())).toFloatVector();
        }
        List<String> names = job.classNames();
        List<Prediction.ClassProbability> out = new ArrayList<>();
        for (int i = 0; i < probabilities.length; i++) {
            out.add(new Prediction.ClassProbability(i, i < names.size() ? names.get(i) : Integer.toString(i),
                    probabilities[i]));
        }
        out.sort(Comparator.comparingDouble(Prediction.ClassProbability::probability).reversed());
        return new Prediction(id, role, out);
    }

    private Network model(TransferStatus job, String artifact) {
        String key = job.id() + "/" + artifact;
        Network cached = cache.get(key);
        if (cached != null) {
            return cached;
        }
        FeatureWeights weights = codec.decode(jobs.baseModels().envelope(job.lineage().id(), job.lineage().sha256()));
        ModelSpec spec = weights.header().spec().withNumClasses(job.parameters().classes().size());
        Network restored = jobs.machinery().artifacts().read(job.id(), artifact,
                (in, bytes) -> factory.restore(spec, TransferJobHandler.hyperparameters(job.parameters()), in))
                .orElseThrow(() -> new ProblemException(404, "Not found", "transfer " + job.id()
                        + " has no saved " + artifact, null));
        cache.put(key, restored);
        return restored;
    }
}
