/** Model 2 from a base network's features: frozen feature layers, a fresh or reused head, the featurized fast path, and the from-scratch baseline. */
package io.featurerelay.learning.transfer;
