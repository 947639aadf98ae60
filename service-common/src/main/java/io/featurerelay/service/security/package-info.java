/** The optional API token that guards the services' mutating endpoints. */
package io.featurerelay.service.security;
