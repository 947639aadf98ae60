/** The network as data ({@link io.featurerelay.learning.model.ModelSpec}), the {@link io.featurerelay.learning.model.Network} interface the rest of the system trains through, and model summaries. */
package io.featurerelay.learning.model;
