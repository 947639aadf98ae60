/**
 * The one job machinery of both services: jobs, their artifacts and their Kafka records in PostgreSQL, claimed
 * under leases by any replica, resumed from checkpoints by another when one dies.
 */
package io.featurerelay.service.jobs;
