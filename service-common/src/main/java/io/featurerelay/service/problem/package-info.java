/** Errors as RFC 9457 problem details: one place maps every failure to its status and names the field at fault. */
package io.featurerelay.service.problem;
