package io.featurerelay.transfer;

import static io.restassured.RestAssured.given;

import io.featurerelay.learning.dataset.DatasetKind;
import io.featurerelay.learning.dataset.TrainTestSplit;
import io.featurerelay.learning.model.Hyperparameters;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.model.Network;
import io.featurerelay.learning.model.NetworkFactory;
import io.featurerelay.learning.model.Optimizer;
import io.featurerelay.learning.training.Trainer;
import io.featurerelay.learning.training.TrainingConfig;
import io.featurerelay.learning.training.TrainingData;
import io.featurerelay.learning.training.TrainingHistory;
import io.featurerelay.learning.training.TrainingListener;
import io.featurerelay.learning.wire.DatasetInfo;
import io.featurerelay.learning.wire.FeatureWeightsCodec;
import io.featurerelay.service.messaging.FeatureWeightsTopic;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Real envelopes for the tests: a base network trained once on the committed sample's classes 0-4. */
final class TestEnvelopes {

    static final Path SAMPLE = Path.of("../learning-core/src/test/resources/fashion-mnist-sample");
    static final byte[] KEY = "test-signing-key".getBytes(StandardCharsets.UTF_8);
    /** The second key the test profile accepts, as during a key rotation. */
    static final byte[] ROTATED_KEY = "rotated-signing-key".getBytes(StandardCharsets.UTF_8);
    private static Network base;
    private static TrainingHistory history;

    private TestEnvelopes() {
    }

    static synchronized Network base() {
        if (base == null) {
            TrainTestSplit source = DatasetKind.FASHION_MNIST.load(SAMPLE).subset(List.of(0, 1, 2, 3, 4));
            Hyperparameters hp = new Hyperparameters(Optimizer.ADAM, 1e-3, 7);
            base = NetworkFactory.standard().create(ModelSpec.reference(5), hp);
            history = Trainer.train(base, TrainingData.of(source.train()), TrainingData.of(source.test()),
                    new TrainingConfig(1, 32, hp), TrainingListener.NONE, () -> false);
        }
        return base;
    }

    /** An envelope of the trained base network under this id. */
    static byte[] envelope(String id) {
        Network net = base();
        ModelSpec spec = net.spec();
        return new FeatureWeightsCodec().encode(id, Instant.now(), new DatasetInfo("fashion-mnist",
                List.of(0, 1, 2, 3, 4), List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"),
                spec.inputShape(), DatasetInfo.PIXELS_OVER_255), spec, net.parameters(spec.parameterShapes().keySet()),
                history.epochs(), history.trainingSeconds());
    }

    static String sign(byte[] envelope) {
        return FeatureWeightsCodec.sign(envelope, KEY);
    }

    static void send(String bootstrap, String key, byte[] value, String signature) throws Exception {
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap, ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 10 << 20), new StringSerializer(), new ByteArraySerializer())) {
            ProducerRecord<String, byte[]> record = new ProducerRecord<>(FeatureWeightsTopic.NAME, key, value);
            if (signature != null) {
                record.headers().add(new RecordHeader(FeatureWeightsTopic.SIGNATURE_HEADER,
                        signature.getBytes(StandardCharsets.UTF_8)));
            }
            producer.send(record).get();
        }
    }

    /**
     * Makes sure the registry holds base model {@code id} (a real envelope, sent once per test class run), its own
     * target job cancelled at once: for requests that must name a stored base model to reach their other fields.
     */
    static void ensureStored(String bootstrap, String id) throws Exception {
        if (given().get("/api/v1/base-models").then().extract().jsonPath()
                .getList("findAll { it.id == '" + id + "' }").isEmpty()) {
            byte[] envelope = envelope(id);
            send(bootstrap, id, envelope, sign(envelope));
            String job = TransferJobTest.awaitJobOf(id);
            given().delete("/api/v1/transfers/" + job);
        }
    }
}
