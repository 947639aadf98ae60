package io.featurerelay.learning.transfer;

import io.featurerelay.learning.model.Network;
import io.featurerelay.learning.training.Checkpoint;
import io.featurerelay.learning.training.Trainer;
import io.featurerelay.learning.training.TrainingData;
import io.featurerelay.learning.training.TrainingListener;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The second half of {@link CheckpointResumeTest#resumingInAnotherProcessEndsWhereTheUninterruptedRunEnds}, run
 * in a JVM of its own: reads a checkpoint of epoch 1, trains epoch 2 in a fresh network and writes the checkpoint
 * after it. Arguments: {@code base|featurized} checkpoint-in checkpoint-out, repeated.
 */
public final class ResumeInAnotherProcess {

    private ResumeInAnotherProcess() {
    }

    public static void main(String[] args) throws IOException {
        CheckpointResumeTest.load();
        for (int i = 0; i + 2 < args.length; i += 3) {
            Checkpoint after1;
            try (InputStream in = Files.newInputStream(Path.of(args[i + 1]))) {
                after1 = Checkpoint.readFrom(in, CheckpointResumeTest.LIMIT);
            }
            Path out = Path.of(args[i + 2]);
            TrainingListener keepLast = new TrainingListener() {
                @Override
                public void onCheckpoint(Checkpoint checkpoint) {
                    try (OutputStream o = Files.newOutputStream(out)) {
                        checkpoint.writeTo(o);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
            };
            switch (args[i]) {
                case "base" -> {
                    Network b = CheckpointResumeTest.FACTORY.create(CheckpointResumeTest.baseSpec,
                            CheckpointResumeTest.ADAM);
                    Trainer.train(b, TrainingData.of(CheckpointResumeTest.source.train()),
                            TrainingData.of(CheckpointResumeTest.source.test()),
                            CheckpointResumeTest.twoEpochs(CheckpointResumeTest.ADAM), keepLast, () -> false, after1);
                }
                case "featurized" -> {
                    TransferLearner learner = new TransferLearner(CheckpointResumeTest.FACTORY);
                    Network b = learner.model2(CheckpointResumeTest.baseSpec, CheckpointResumeTest.baseParams, 5,
                            HeadMode.FRESH, CheckpointResumeTest.ADADELTA);
                    learner.trainFeaturized(b, CheckpointResumeTest.target,
                            CheckpointResumeTest.twoEpochs(CheckpointResumeTest.ADADELTA), keepLast, () -> false,
                            after1);
                }
                default -> throw new IllegalArgumentException("unknown case " + args[i]);
            }
        }
    }
}
