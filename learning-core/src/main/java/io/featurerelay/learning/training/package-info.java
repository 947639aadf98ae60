/** The training loop: shuffled batches, per-epoch evaluation on held-out data, progress, cancellation. */
package io.featurerelay.learning.training;
