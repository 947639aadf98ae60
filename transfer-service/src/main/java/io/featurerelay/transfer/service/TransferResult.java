package io.featurerelay.transfer.service;

import io.featurerelay.learning.training.EpochResult;
import java.util.List;

/**
 * The record on {@code transfer-results}.
 *
 * @param runId            the transfer run
 * @param baseModelId      where its features came from
 * @param baseSha256       SHA-256 of that envelope
 * @param target           the target task
 * @param classes          target classes
 * @param head             fresh or reuse
 * @param transferHistory  model 2's epochs
 * @param scratchHistory   the baseline's epochs (empty without baseline)
 * @param featurizeSeconds time to compute the training images' frozen activations
 * @param transferSeconds  model 2's whole training time
 * @param scratchSeconds   the baseline's training time
 * @param frozenParams     model 2's frozen parameters
 * @param trainableParams  model 2's trainable parameters
 * @param fineTuneHistory  the fine-tuning epochs (empty without fine-tuning)
 * @param fineTuneSeconds  fine-tuning's training time
 * @param bestModel        transfer or fine-tune: the higher last validation accuracy
 * @param trainPerClass    the label budget: training images per class, 0 for all
 */
public record TransferResult(String runId, String baseModelId, String baseSha256, String target,
        List<Integer> classes, String head, List<EpochResult> transferHistory, List<EpochResult> scratchHistory,
        Double featurizeSeconds, Double transferSeconds, Double scratchSeconds, long frozenParams,
        long trainableParams, List<EpochResult> fineTuneHistory, Double fineTuneSeconds, String bestModel,
        int trainPerClass) {
}
