/** Prometheus series of training runs (per epoch, per run, live progress), bounded to the most recent runs. */
package io.featurerelay.service.metrics;
