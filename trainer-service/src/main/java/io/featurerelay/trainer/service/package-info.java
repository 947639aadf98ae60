/** Training jobs: validation, the worker queue, the model store, publishing with retries. */
package io.featurerelay.trainer.service;
