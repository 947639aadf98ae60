/** The JSON the page polls. */
package io.featurerelay.dashboard.rest;
