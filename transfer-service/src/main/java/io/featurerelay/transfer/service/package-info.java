/** Transfer jobs: the base-model store, verification, model 2 beside the scratch baseline, predictions. */
package io.featurerelay.transfer.service;
