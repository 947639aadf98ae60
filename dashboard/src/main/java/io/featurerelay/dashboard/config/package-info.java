/** The dashboard's typed configuration: where the services and (optionally) Prometheus are. */
package io.featurerelay.dashboard.config;
