/** The trainings REST API. */
package io.featurerelay.trainer.rest;
