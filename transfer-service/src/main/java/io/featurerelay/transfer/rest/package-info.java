/** The base-models and transfers REST API, predictions included. */
package io.featurerelay.transfer.rest;
