/** A real PostgreSQL server for one machine: the launcher that runs Debian's binaries as a child process, its main class for the run command, and the Quarkus test resource. */
package io.featurerelay.postgres;
