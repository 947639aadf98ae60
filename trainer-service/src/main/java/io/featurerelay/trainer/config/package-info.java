/** The trainer's typed configuration. */
package io.featurerelay.trainer.config;
