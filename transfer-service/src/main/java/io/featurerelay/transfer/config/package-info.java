/** The transfer service's typed configuration, target tasks included. */
package io.featurerelay.transfer.config;
