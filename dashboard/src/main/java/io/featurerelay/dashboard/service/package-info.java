/** Reading the services' metrics (Prometheus HTTP API, or their /q/metrics directly) and assembling the figures. */
package io.featurerelay.dashboard.service;
