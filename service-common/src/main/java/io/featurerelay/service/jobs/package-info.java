/** Job states shared by the services, and durable JSON files for what must survive a restart. */
package io.featurerelay.service.jobs;
